import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

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

let collect: (() => void) | undefined;
/** V8's `gc()`, exposed at run time (the test process is not started with `--expose-gc`). */
function fullGc(): void {
  if (!collect) {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as (options?: { type: 'major'; execution: 'sync' }) => void;
    // Twice: V8 frees the ArrayBuffers a collection found dead on a helper thread, which a loaded
    // machine starves; the next collection first finishes that sweep, then finds nothing new.
    collect = () => {
      gc({ type: 'major', execution: 'sync' });
      gc({ type: 'major', execution: 'sync' });
    };
  }
  collect();
}

/**
 * Memory that is still reachable after a full GC: the heap plus the ArrayBuffers and Buffers
 * outside it (network chunks), as Node's allocator counts them. Not `external`: V8 lowers that
 * figure only when its sweeper gets round to it, after the buffers were freed.
 */
function live(): number {
  fullGc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

/**
 * Samples what the process still holds (heap and external buffers, after a full garbage
 * collection) at points the caller picks by progress (every `everyBytes` of a stream), so the
 * figure is what the code under test retains, not what the allocator has yet to give back: RSS
 * and uncollected garbage grow with the load on the machine (GC's helper threads starved of CPU),
 * this does not, and the number of samples depends on the bytes, not on timers.
 */
export class RetainedMemory {
  private readonly base = live();
  private peak = 0;
  private next: number;
  /** How many samples were taken. */
  samples = 0;

  constructor(private readonly everyBytes: number) {
    this.next = everyBytes;
  }

  /** Tells the probe how many bytes went through so far; samples each time another `everyBytes` passed. */
  progress(bytes: number): void {
    if (bytes < this.next) return;
    this.next = (Math.floor(bytes / this.everyBytes) + 1) * this.everyBytes;
    this.peak = Math.max(this.peak, live() - this.base);
    this.samples++;
  }

  /** The most held at any sample, above what was held when the probe was made, in MiB. */
  get peakMiB(): number {
    return this.peak / 1024 / 1024;
  }
}
