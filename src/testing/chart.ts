import { crc32, deflateSync } from 'node:zlib';

/** Escapes text for an SVG/XML text node or attribute. */
function xml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7'];

/** A labelled horizontal bar chart as a standalone SVG document a browser can open. */
export function svgBarChart(title: string, bars: ReadonlyArray<{ label: string; value: number }>): string {
  const width = 640;
  const rowHeight = 28;
  const left = 160;
  const top = 48;
  const height = top + bars.length * rowHeight + 24;
  const max = Math.max(1e-9, ...bars.map((b) => Math.abs(b.value)));
  const rows = bars.map((bar, i) => {
    const y = top + i * rowHeight;
    const w = Math.round((Math.abs(bar.value) / max) * (width - left - 90));
    return [
      `<text x="${left - 8}" y="${y + 18}" text-anchor="end">${xml(bar.label)}</text>`,
      `<rect x="${left}" y="${y + 4}" width="${w}" height="${rowHeight - 8}" fill="${PALETTE[i % PALETTE.length]}"/>`,
      `<text x="${left + w + 6}" y="${y + 18}">${xml(formatNumber(bar.value))}</text>`,
    ].join('');
  });
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="28" text-anchor="middle" font-size="16" font-weight="bold">${xml(title)}</text>`,
    ...rows,
    `</svg>`,
    '',
  ].join('\n');
}

export function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

/**
 * The same bars as a small RGB PNG (no text: rasterising fonts is out of scope). Used for the
 * `image` output of a code call, as matplotlib's inline figure would be.
 */
export function pngBarChart(values: readonly number[], width = 320, height = 160): Uint8Array {
  const pixels = Buffer.alloc(height * (width * 3 + 1), 0xff);
  const max = Math.max(1e-9, ...values.map(Math.abs));
  const slot = Math.max(1, Math.floor(width / Math.max(1, values.length)));
  values.forEach((value, i) => {
    const colour = Buffer.from(PALETTE[i % PALETTE.length]!.slice(1), 'hex');
    const barHeight = Math.round((Math.abs(value) / max) * (height - 10));
    for (let x = i * slot + 4; x < (i + 1) * slot - 4 && x < width; x++) {
      for (let y = height - barHeight; y < height; y++) colour.copy(pixels, y * (width * 3 + 1) + 1 + x * 3);
    }
  });
  for (let y = 0; y < height; y++) pixels[y * (width * 3 + 1)] = 0; // filter byte: none
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body) >>> 0, body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit depth, truecolour, default compression/filter/interlace
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', header),
      chunk('IDAT', deflateSync(pixels)),
      chunk('IEND', Buffer.alloc(0)),
    ]),
  );
}
