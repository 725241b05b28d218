import { statSync } from 'node:fs';
import type { ImageInfo } from '../core/facts.js';

/** A state's data.img as `show` reports it: whether it is there, its size and what it takes on disk. */
export function readImage(path: string): ImageInfo {
  try {
    const st = statSync(path);
    if (!st.isFile()) return { exists: false, size: null, allocated: null };
    return { exists: true, size: st.size, allocated: st.blocks * 512 };
  } catch {
    return { exists: false, size: null, allocated: null };
  }
}
