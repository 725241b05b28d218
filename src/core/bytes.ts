/** 1536 -> "1.50K", like zfs list (for messages decided in core; the CLI tables use the same rule). */
export function humanBytes(n: number | null): string {
  if (n === null) return '-';
  const units = ['B', 'K', 'M', 'G', 'T', 'P'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  if (i === 0) return `${v}B`;
  const digits = v < 10 ? 2 : v < 100 ? 1 : 0;
  return `${v.toFixed(digits)}${units[i]}`;
}

/** "84.0K (86016 bytes)": readable, and exact for whoever checks. */
export const bytesText = (n: number) => `${humanBytes(n)} (${n} bytes)`;
