import type { Config } from '../schemas/config.js';
import type { StateFact } from './facts.js';

/** Where things live, derived from the configuration alone. */
export const parentDataset = (c: Pick<Config, 'pool' | 'dataset'>) => `${c.pool}/${c.dataset}`;
export const datasetOf = (c: Config, state: string) => `${parentDataset(c)}/${state}`;
export const mountpointOf = (c: Config, state: string) => `${c.statesDir}/${state}`;
export const unitOf = (c: Pick<Config, 'unitTemplate'>, slot: string) => c.unitTemplate.replace('%s', slot);
export const slotDirOf = (c: Config, slot: string) => `${c.slotsDir}/${slot}`;
export const diskLinkOf = (c: Config, slot: string) => `${slotDirOf(c, slot)}/data.img`;
/** The image a slot's link should point at: inside the state's actual mountpoint when known. */
export const stateImageOf = (c: Config, state: string, fact?: StateFact) =>
  `${fact?.mountpoint ?? mountpointOf(c, state)}/data.img`;

/**
 * Why a dataset state is not where vm-state keeps it, when its mountpoint is
 * another place in statesDir: an adopt or a rename that did not finish. Such a
 * state is left to the operator, never relinked or started. Undefined: in place
 * (or mounted outside statesDir on purpose).
 */
export function misplacement(c: Config, s: StateFact): string | undefined {
  const expected = mountpointOf(c, s.name);
  if (s.kind !== 'dataset' || s.mountpoint === expected || !s.mountpoint.startsWith(`${c.statesDir}/`))
    return undefined;
  const place = s.mountpoint.slice(c.statesDir.length + 1);
  if (place.includes('/')) return undefined;
  if (place === `.adopt-${s.name}`) {
    return (
      `State '${s.name}' (${s.dataset}) is still at ${s.mountpoint}: an adopt that did not finish, so its copy was never ` +
      `checked. The original directory is ${expected} (or ${c.statesDir}/.adopted-${s.name} if it was moved aside). ` +
      `To start over: zfs destroy ${s.dataset}; move the original back to ${expected} if needed; vm-state adopt ${s.name}`
    );
  }
  return (
    `State '${s.name}' (${s.dataset}) has mountpoint ${s.mountpoint} instead of ${expected}: a rename that did not finish. ` +
    `Finish it: zfs set mountpoint=${expected} ${s.dataset} and vm-state assign <slot> ${s.name} for its slots; ` +
    `or undo it: zfs unmount ${s.dataset}; zfs rename ${s.dataset} ${datasetOf(c, place)}`
  );
}

/** The helper snapshot `clone` makes on the source, named after the copy. */
export const cloneHelperName = (dst: string) => `clone-for-${dst}`;

/** The helper snapshot `clone --full` streams from, named after the copy; gone again when it is done. */
export const fullCopyHelperName = (dst: string) => `full-for-${dst}`;

/** A slot with no entry in the assignments file runs the state of its own name. */
export const stateOfSlot = (assignments: Record<string, string>, slot: string) => assignments[slot] ?? slot;
