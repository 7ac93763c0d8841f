/** A byte count for people: bytes, KiB or MiB, whichever reads best. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** A one-line progress bar on a terminal stream; does nothing when the stream is not a TTY. */
export function progressBar(stream: NodeJS.WriteStream, label: string) {
  const enabled = stream.isTTY === true;
  let last = 0;
  return {
    update({ bytes, totalBytes }: { bytes: number; totalBytes: number | undefined }) {
      if (!enabled) return;
      const now = Date.now();
      if (now - last < 80 && bytes !== totalBytes) return;
      last = now;
      const width = 24;
      const fraction = totalBytes ? Math.min(1, bytes / totalBytes) : 0;
      const bar = totalBytes ? '#'.repeat(Math.round(fraction * width)).padEnd(width, '.') : '~'.repeat(width);
      const amount = totalBytes ? `${formatBytes(bytes)} / ${formatBytes(totalBytes)}` : formatBytes(bytes);
      stream.write(`\r${label.slice(0, 30).padEnd(30)} [${bar}] ${amount}\u001b[K`);
    },
    done() {
      if (enabled) stream.write('\n');
    },
  };
}
