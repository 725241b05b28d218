import { execa } from 'execa';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Brings the lab up (building the bundle first, so the lab runs this
 * checkout) and tears it down afterwards, unless LAB_KEEP=1. If the lab
 * cannot come up, the suite fails loudly: it never passes by skipping.
 */
export async function setup(): Promise<() => Promise<void>> {
  await execa('node', ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' });
  await execa(`${ROOT}lab/up`, [], { cwd: ROOT, stdio: 'inherit' });
  return async () => {
    if (process.env.LAB_KEEP === '1') return;
    await execa(`${ROOT}lab/down`, [], { cwd: ROOT, stdio: 'inherit', reject: false });
  };
}
