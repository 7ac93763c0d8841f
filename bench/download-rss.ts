// Child process for the download memory figure: saves one file, by the session or by a raw fetch
// piped to a file, and prints the peak RSS growth in MiB. A fresh process per measurement, so
// neither way inherits the other's grown heap.
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import OpenAI from 'openai';
import { CodeInterpreterSession, createRateLimiter } from '../src/index.js';
import { measurePeakMemory } from '../test/helpers/memory.js';

const [mode, baseURL, containerId, fileId, dir] = process.argv.slice(2) as [string, string, string, string, string];
const session = new CodeInterpreterSession({
  client: new OpenAI({ apiKey: 'sk-bench', baseURL }),
  model: 'gpt-5',
  container: { id: containerId },
  rateLimiter: createRateLimiter({ limit: 1000, intervalMs: 1000 }),
  keepAlive: false,
});
await session.start(); // adopt the container before measuring
const { rssMiB } = await measurePeakMemory(async () => {
  if (mode === 'session') {
    await session.saveFile({ containerId, fileId, filename: `${mode}.bin` }, dir, { overwrite: true });
  } else {
    const response = await fetch(`${baseURL}/containers/${containerId}/files/${fileId}/content`, { headers: { authorization: 'Bearer sk-bench' } });
    await pipeline(Readable.fromWeb(response.body! as import('node:stream/web').ReadableStream), createWriteStream(join(dir, `${mode}.bin`)));
  }
});
await session.close({ deleteContainer: false });
process.stdout.write(String(rssMiB));
