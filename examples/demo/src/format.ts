import Table from 'cli-table3';

/** Where the demo's report goes: `console.log` in the terminal, a collector in tests. */
export type Print = (line: string) => void;

export const MiB = 1024 ** 2;
export const GiB = 1024 ** 3;
export const TiB = 1024 ** 4;

/** A compact, uncoloured table: readable in a terminal and in a log file alike. */
export function table(head: string[]): Table.Table {
  return new Table({ head, style: { compact: true, head: [], border: [] } });
}

/** `n / unit` with one decimal unless whole, and the unit's name: `fmt(3 * GiB, GiB, 'GiB')` → `3 GiB`. */
export function fmt(n: number, unit: number, suffix: string): string {
  return `${(n / unit).toFixed(n % unit === 0 ? 0 : 1)} ${suffix}`;
}

/** MHz as GHz with one decimal, without the unit. */
export const ghz = (mhz: number): string => (mhz / 1000).toFixed(1);

/** `part / whole` as a whole percentage (0 when whole is 0). */
export const percent = (part: number, whole: number): string => `${whole > 0 ? Math.round((part / whole) * 100) : 0}%`;

/**
 * A fill bar in plain ASCII: `#` used, `+` reserved (stopped VMs' capacity held on their last
 * host), `.` free — `[####++......]`.
 */
export function bar(used: number, reserved: number, total: number, width = 20): string {
  if (total <= 0) return `[${' '.repeat(width)}]`;
  const u = Math.min(width, Math.round((used / total) * width));
  const r = Math.min(width - u, Math.round((reserved / total) * width));
  return `[${'#'.repeat(u)}${'+'.repeat(r)}${'.'.repeat(width - u - r)}]`;
}

/** A section heading. */
export function heading(print: Print, title: string): void {
  print(`\n== ${title} ${'='.repeat(Math.max(0, 76 - title.length))}`);
}
