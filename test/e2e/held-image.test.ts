// A running VM holds its disk image open, as QEMU does (the lab's microvm@
// stand-in: lab/microvm-standin.c): what that means for a second VM on the same
// image, and for an operator who tries to move, delete or unmount a running
// state. Then what only OpenZFS has.
import { beforeEach, describe, expect, it } from 'vitest';
import { activeState, backend, ok, onlyOn, P, resetLab, sh, STATES, vm, zfsProp } from './lab.js';

const unitProp = async (slot: string, prop: string) =>
  (await ok(['systemctl', 'show', '-p', prop, '--value', `microvm@${slot}.service`])).trim();
/** True if some process has the file open (psmisc's fuser, in both labs). */
const heldOpen = async (path: string) => (await sh(['fuser', '-s', path])).code === 0;

describe(`a running VM holds data.img open (${backend})`, () => {
  beforeEach(resetLab);

  it('the stand-in creates a sparse image when there is none, holds it while running, and stops cleanly', async () => {
    await ok(['vm-state', 'create', 'a']);
    await ok(['vm-state', 'migrate', 'a', 'slot1']);
    expect(await activeState('slot1')).toBe('active');
    const [size, blocks] = (await ok(['stat', '-L', '-c', '%s %b', `${STATES}/a/data.img`]))
      .trim()
      .split(' ')
      .map(Number);
    expect(size).toBe(256 * 1024 * 1024);
    expect(blocks! * 512).toBeLessThan(size! / 16); // sparse
    expect(await heldOpen(`${STATES}/a/data.img`)).toBe(true);
    await ok(['systemctl', 'stop', 'microvm@slot1.service']);
    expect(await unitProp('slot1', 'Result')).toBe('success');
    expect(await unitProp('slot1', 'ExecMainStatus')).toBe('0');
    expect(await heldOpen(`${STATES}/a/data.img`)).toBe(false);
  });

  it('a second VM on the same image fails to start (an exclusive OFD lock, as QEMU takes); the first runs on', async () => {
    await ok(['vm-state', 'create', 'a']);
    await ok(['vm-state', 'migrate', 'a', 'slot1']);
    // Around vm-state (which refuses this): a link of slot2 to the same image, a plain start.
    await ok(['ln', '-sfn', `${STATES}/a/data.img`, '/var/lib/microvms/slot2/data.img']);
    await sh(['systemctl', 'start', 'microvm@slot2.service']); // Type=simple: the start itself succeeds
    for (let i = 0; i < 100 && (await activeState('slot2')) === 'active'; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(await activeState('slot2')).toBe('failed');
    expect(await unitProp('slot2', 'ExecMainStatus')).toBe('1');
    const log = await ok(['journalctl', '-q', '-o', 'cat', '-u', 'microvm@slot2.service']);
    expect(log).toContain('Failed to get "write" lock');
    expect(await activeState('slot1')).toBe('active');
  });

  it('delete, rename and a direct unmount or destroy of a running state are refused; nothing is lost, the VM runs on', async () => {
    await ok(['vm-state', 'create', 'a']);
    await ok(['vm-state', 'create', 'b']);
    await ok(['vm-state', 'migrate', 'a', 'slot1']);
    await ok(['sh', '-c', `echo precious > ${STATES}/a/keep && sync`]);
    await ok(['vm-state', 'assign', 'slot1', 'b']); // slot1 still runs a until restarted
    const del = await vm(['delete', 'a'], { input: 'DELETE\n' });
    expect(del.code).toBe(5);
    expect(del.stderr).toContain('slot1');
    const ren = await vm(['rename', 'a', 'a2']);
    expect(ren.code).toBe(5);
    // The operator going around vm-state: zfs refuses, busy (the image is open).
    const umount = await sh(['zfs', 'unmount', `${P}/a`]);
    expect(umount.code).not.toBe(0);
    expect(umount.stderr).toMatch(/busy/);
    const destroy = await sh(['zfs', 'destroy', `${P}/a`]);
    expect(destroy.code).not.toBe(0);
    expect(destroy.stderr).toMatch(/busy/);
    expect(await zfsProp(`${P}/a`, 'mounted')).toBe('yes');
    expect((await ok(['cat', `${STATES}/a/keep`])).trim()).toBe('precious');
    expect(await activeState('slot1')).toBe('active');
    expect(await sh(['fuser', '-s', `${STATES}/a/data.img`]).then((r) => r.code)).toBe(0);
  });
});

describe('what only OpenZFS has', () => {
  beforeEach(resetLab);

  onlyOn('openzfs', 'resumable receive')(
    'a cut zfs receive -s leaves a resume token; zfs send -t completes it, byte for byte',
    async () => {
      await ok(['vm-state', 'create', 'src']);
      await ok(['sh', '-c', `head -c 4000000 /dev/urandom > ${STATES}/src/data.img && sync`]);
      await ok(['zfs', 'snapshot', `${P}/src@r1`]);
      await sh(['sh', '-c', `zfs send ${P}/src@r1 | head -c 1000000 | zfs receive -s -u ${P}/dst`]);
      const token = await zfsProp(`${P}/dst`, 'receive_resume_token');
      expect(token).toMatch(/^1-/);
      await ok(['sh', '-c', `zfs send -t ${token} | zfs receive -s -u ${P}/dst`]);
      await ok(['zfs', 'mount', `${P}/dst`]); // received with -u; it inherits ${STATES}/dst
      await ok(['cmp', `${STATES}/src/data.img`, `${STATES}/dst/data.img`]);
    },
  );

  onlyOn('openzfs', 'bookmarks')(
    'a bookmark outlives its snapshot and is a valid incremental source',
    async () => {
      await ok(['vm-state', 'create', 'bm']);
      await ok(['zfs', 'snapshot', `${P}/bm@b1`]);
      await ok(['zfs', 'bookmark', `${P}/bm@b1`, `${P}/bm#b1`]);
      await ok(['zfs', 'destroy', `${P}/bm@b1`]);
      await ok(['zfs', 'snapshot', `${P}/bm@b2`]);
      expect((await ok(['zfs', 'list', '-H', '-t', 'bookmark', '-o', 'name', '-r', `${P}/bm`])).trim()).toBe(
        `${P}/bm#b1`,
      );
      await ok(['sh', '-c', `zfs send -i ${P}/bm#b1 ${P}/bm@b2 > /dev/null`]);
      // vm-state still reads the pool (bookmarks are not in zfs get -r's answer as states)
      expect((await vm(['list'])).code).toBe(0);
    },
  );
});
