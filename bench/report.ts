/** One benchmark figure: printed as a `BENCH {json}` line, then in the closing table. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** e.g. "<= 1" or ">= 0.97"; "info" for a figure shown for context, with no goal */
  goal: string;
}

const figures: Figure[] = [];

export function report(figure: Figure): void {
  const rounded = { ...figure, value: Number(figure.value.toFixed(4)) };
  figures.push(rounded);
  console.log(`BENCH ${JSON.stringify(rounded)}`);
}

export function meetsGoal({ value, goal }: Figure): boolean {
  const [op, target] = goal.split(' ') as [string, string];
  const t = Number(target);
  return op === '<=' ? value <= t : op === '>=' ? value >= t : op === '==' ? value === t : false;
}

export function printTable(): void {
  const rows = figures.map((f) => [f.name, String(f.value), f.unit, f.goal, f.goal === 'info' ? '' : meetsGoal(f) ? 'met' : 'NOT MET']);
  const header = ['figure', 'value', 'unit', 'goal', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(`\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const row of rows) console.log(line(row));
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Most timestamps in any half-open window [t, t + intervalMs). */
export { maxInAnyWindow } from '../test/helpers/windows.js';
