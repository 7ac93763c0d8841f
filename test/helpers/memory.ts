/** Runs `fn` while sampling memory; returns its result and the peak growth of RSS and heap in MiB. */
export async function measurePeakMemory<T>(fn: () => Promise<T>, everyMs = 5): Promise<{ value: T; rssMiB: number; heapMiB: number }> {
  const before = process.memoryUsage();
  let peakRss = before.rss;
  let peakHeap = before.heapUsed;
  const sample = () => {
    const now = process.memoryUsage();
    peakRss = Math.max(peakRss, now.rss);
    peakHeap = Math.max(peakHeap, now.heapUsed);
  };
  const sampler = setInterval(sample, everyMs);
  try {
    const value = await fn();
    sample();
    const mib = (n: number) => n / 1024 / 1024;
    return { value, rssMiB: mib(peakRss - before.rss), heapMiB: mib(peakHeap - before.heapUsed) };
  } finally {
    clearInterval(sampler);
  }
}
