import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach } from 'vitest';
import { makeWorld, zfsGetText, type SnapshotSpec } from '../../support/world.js';

/**
 * What the commander-level tests of every command share: the world's parent dataset, what ran, a slot link.
 */
export const P = 'microvms/storage/states';
export type World = ReturnType<typeof makeWorld>;
export const mutations = (w: World) => w.runner.mutatingCalls.map((c) => c.join(' '));

/** Each test of the file runs at `now` on the given ZFS (the planners read both from the environment). */
export function atTimeOn(now: string, flavour: 'zfs-fuse' | 'openzfs'): void {
  beforeEach(() => {
    process.env.VM_STATE_NOW = now;
    process.env.VM_STATE_ZFS_FLAVOUR = flavour;
    return () => {
      delete process.env.VM_STATE_NOW;
      delete process.env.VM_STATE_ZFS_FLAVOUR;
    };
  });
}

export function linkSlot(w: World, slot: string, state: string): string {
  const path = join(w.config.slotsDir, slot, 'data.img');
  mkdirSync(join(w.config.slotsDir, slot), { recursive: true });
  symlinkSync(`${w.config.statesDir}/${state}/data.img`, path);
  return path;
}

export interface Spec {
  name: string;
  origin?: string;
  snaps?: SnapshotSpec[];
}

/**
 * Answers `zfs get -r` with snapshots of chosen sizes and ages (the world's own answer has used 0,
 * consecutive seconds).
 */
export function withZfs(w: World, specs: Spec[]): void {
  for (const s of specs) mkdirSync(join(w.config.statesDir, s.name), { recursive: true });
  const states = specs.map((s) => ({ name: s.name, origin: s.origin, snapshots: s.snaps }));
  const text = zfsGetText(P, w.config.statesDir, states, { t0: 1_700_000_000, used: 5000, referenced: 3000 });
  w.runner.respond((a) =>
    a[0] === 'zfs' && a[1] === 'get' && a.includes('-r') ? { stdout: text } : undefined,
  );
}
