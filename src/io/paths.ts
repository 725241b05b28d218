import { lstatSync } from 'node:fs';

/** Something is at `path`: a file, a directory, or a link, even one that leads nowhere (which existsSync misses). */
export function pathTaken(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
