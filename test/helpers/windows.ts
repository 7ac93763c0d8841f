/** Most timestamps that fall in any half-open window [t, t + intervalMs). */
export function maxInAnyWindow(times: readonly number[], intervalMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= intervalMs) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}
