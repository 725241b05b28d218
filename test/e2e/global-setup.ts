import { execa } from 'execa';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/**
 * The second lab of the pair (lab/README.md, "Two labs"): on fuse a container of its own; on
 * OpenZFS the guest's second side, which the guest's lab/up brings up with it.
 */
const PEER = { LAB_NAME: 'vmstate-peer' };
// LAB_PEER=none: one lab only, for a run of test files that need no peer (a helper's own lab).
const withPeer = process.env.LAB_BACKEND !== 'openzfs' && process.env.LAB_PEER !== 'none';

/**
 * Brings the lab up (building the bundle first, so the lab runs this
 * checkout), and on fuse the peer lab too (the OpenZFS guest has both
 * sides), and tears them down afterwards,
 * unless LAB_KEEP=1. If a lab cannot come up, the suite fails loudly: it
 * never passes by skipping.
 */
export async function setup(): Promise<() => Promise<void>> {
  await execa('node', ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' });
  await execa(`${ROOT}lab/up`, [], { cwd: ROOT, stdio: 'inherit' });
  // After the lab, not beside it: both would install missing host packages (one dpkg lock).
  if (withPeer) await execa(`${ROOT}lab/up`, [], { cwd: ROOT, stdio: 'inherit', env: PEER });
  return async () => {
    if (process.env.LAB_KEEP === '1') return;
    const down = (env: Record<string, string> = {}) =>
      execa(`${ROOT}lab/down`, [], { cwd: ROOT, stdio: 'inherit', reject: false, env });
    await Promise.all([down(), ...(withPeer ? [down(PEER)] : [])]);
  };
}
