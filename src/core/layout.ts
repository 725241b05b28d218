import type { Config } from '../schemas/config.js';
import type { StateFact } from './facts.js';

/** Where things live, derived from the configuration alone. */
export const parentDataset = (c: Config) => `${c.pool}/${c.dataset}`;
export const datasetOf = (c: Config, state: string) => `${parentDataset(c)}/${state}`;
export const mountpointOf = (c: Config, state: string) => `${c.statesDir}/${state}`;
export const unitOf = (c: Config, slot: string) => c.unitTemplate.replace('%s', slot);
export const slotDirOf = (c: Config, slot: string) => `${c.slotsDir}/${slot}`;
export const diskLinkOf = (c: Config, slot: string) => `${slotDirOf(c, slot)}/data.img`;
/** The image a slot's link should point at: inside the state's actual mountpoint when known. */
export const stateImageOf = (c: Config, state: string, fact?: StateFact) => `${fact?.mountpoint ?? mountpointOf(c, state)}/data.img`;

/** The helper snapshot `clone` makes on the source, named after the copy. */
export const cloneHelperName = (dst: string) => `clone-for-${dst}`;

/** A slot with no entry in the assignments file runs the state of its own name. */
export const stateOfSlot = (assignments: Record<string, string>, slot: string) => assignments[slot] ?? slot;
