// The official Code Interpreter guide's example 3 in TypeScript, as a user writes it against the
// BUILT package (dist, imported like `code-interpreter-session`), with the simulator over real
// HTTP: upload a CSV, hand it to the model as an `input_file` part, ask for a chart, find the chart
// the answer cites (`container_file_citation`), download it, and check the bytes on disk are a
// real PNG. Once with the guide's `{type: "auto"}` container and once with an explicit container,
// through `run()` and through the guide's own `client.responses.create` on `session.fetch`.
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { inflateSync, crc32 } from 'node:zlib';
import OpenAI from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPackage, builtEntry } from './helpers/built-package.js';
import { SALES_CSV } from './helpers/sim.js';

type Lib = typeof import('../src/index.js');
type Testing = typeof import('../src/testing/index.js');
type Session = InstanceType<Lib['CodeInterpreterSession']>;

let lib: Lib;
let testing: Testing;
beforeAll(async () => {
  await buildPackage();
  [lib, testing] = await Promise.all([import(builtEntry('index.js')) as Promise<Lib>, import(builtEntry('testing.js')) as Promise<Testing>]);
}, 180_000);

const PROMPT = 'Plot total revenue by region as a bar chart and save it as chart.png.';

/** The guide's message: the question and the uploaded CSV as an `input_file` part. */
const guideInput = (fileId: string) => [
  {
    role: 'user' as const,
    content: [
      { type: 'input_text' as const, text: PROMPT },
      { type: 'input_file' as const, file_id: fileId },
    ],
  },
];

/**
 * Checks that `bytes` are a well-formed PNG: the signature, every chunk's CRC, an IHDR first and an
 * IEND last, and IDAT data that inflates to exactly the scanlines IHDR announces. Returns its size.
 */
function parsePng(bytes: Uint8Array): { width: number; height: number } {
  const buf = Buffer.from(bytes);
  expect([...buf.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const chunks: Array<{ type: string; data: Buffer }> = [];
  for (let at = 8; at < buf.length; ) {
    const length = buf.readUInt32BE(at);
    const type = buf.subarray(at + 4, at + 8).toString('latin1');
    const data = buf.subarray(at + 8, at + 8 + length);
    expect(buf.readUInt32BE(at + 8 + length), `CRC of ${type}`).toBe(crc32(buf.subarray(at + 4, at + 8 + length)));
    chunks.push({ type, data });
    at += 12 + length;
  }
  expect(chunks[0]!.type).toBe('IHDR');
  expect(chunks.at(-1)!.type).toBe('IEND');
  const ihdr = chunks[0]!.data;
  const width = ihdr.readUInt32BE(0);
  const height = ihdr.readUInt32BE(4);
  const [bitDepth, colorType] = [ihdr[8]!, ihdr[9]!];
  const channels = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[colorType];
  expect(channels, `colour type ${colorType}`).toBeDefined();
  expect(width).toBeGreaterThan(0);
  expect(height).toBeGreaterThan(0);
  const pixels = inflateSync(Buffer.concat(chunks.filter((c) => c.type === 'IDAT').map((c) => c.data)));
  expect(pixels.length).toBe(height * (1 + Math.ceil((width * channels! * bitDepth) / 8)));
  return { width, height };
}

interface Setup {
  sim: ReturnType<Testing['createSimulator']>;
  session: Session;
  /** The user's own client for the Files API (the guide uploads with it). */
  client: OpenAI;
  /** The simulator's base URL. */
  url: string;
  dir: string;
  csvPath: string;
  close: () => Promise<void>;
}

async function setUp(): Promise<Setup> {
  const sim = testing.createSimulator();
  const server = await sim.listen();
  const client = new OpenAI({ apiKey: 'sk-guide-0123456789', baseURL: server.url, maxRetries: 0 });
  const session = new lib.CodeInterpreterSession({
    client,
    model: 'gpt-5',
    rateLimiter: lib.createRateLimiter({ limit: 10_000, intervalMs: 1000 }),
  });
  const dir = await mkdtemp(join(tmpdir(), 'cis-guide-'));
  const csvPath = join(dir, 'sales.csv');
  await writeFile(csvPath, SALES_CSV);
  return { sim, session, client, url: server.url, dir, csvPath, close: () => server.close() };
}

type Variant = (s: Setup, fileId: string) => Promise<{ raw: unknown; citation: import('../src/index.js').FileCitation; containerId: string }>;

const variants: Array<[string, 'auto' | 'explicit', Variant]> = [
  [
    'run() with the guide\'s tool, `container: {type: "auto"}`, in `request.tools`',
    'auto',
    async ({ session }, fileId) => {
      const result = await session.run(guideInput(fileId), { request: { tools: [{ type: 'code_interpreter', container: { type: 'auto' } }] } });
      return { raw: result.raw, citation: result.citations.find((c) => c.filename === 'chart.png')!, containerId: result.containerId };
    },
  ],
  [
    "run() on the session's explicit container",
    'explicit',
    async ({ session }, fileId) => {
      const result = await session.run(guideInput(fileId));
      return { raw: result.raw, citation: result.citations.find((c) => c.filename === 'chart.png')!, containerId: result.containerId };
    },
  ],
  [
    'the guide\'s own `client.responses.create`, `container: {type: "auto"}`, on `session.fetch`',
    'auto',
    async ({ session, url }, fileId) => {
      const ai = new OpenAI({ apiKey: 'sk-guide-0123456789', baseURL: url, fetch: session.fetch, maxRetries: 0 });
      return guideOnClient(ai, { type: 'auto' }, fileId);
    },
  ],
  [
    "the guide's own `client.responses.create`, explicit container (`SESSION_CONTAINER`), on `session.fetch`",
    'explicit',
    async ({ session, url }, fileId) => {
      const ai = new OpenAI({ apiKey: 'sk-guide-0123456789', baseURL: url, fetch: session.fetch, maxRetries: 0 });
      return guideOnClient(ai, lib.SESSION_CONTAINER, fileId);
    },
  ],
];

/** The guide's code: a Responses call, then the chart found in the message's annotations. */
async function guideOnClient(client: OpenAI, container: OpenAI.Responses.Tool.CodeInterpreter['container'], fileId: string) {
  const response = await client.responses.create({ model: 'gpt-5', tools: [{ type: 'code_interpreter', container }], input: guideInput(fileId) });
  // As the guide reads it: the last message's output_text annotations.
  const message = response.output.filter((item) => item.type === 'message').at(-1)!;
  const annotations = message.content.flatMap((part) => (part.type === 'output_text' ? part.annotations : []));
  const cited = annotations.find((a) => a.type === 'container_file_citation' && a.filename === 'chart.png') as OpenAI.Responses.ResponseOutputText.ContainerFileCitation;
  expect(cited, 'a container_file_citation of chart.png').toBeDefined();
  // The library's own parser finds the same citation.
  const parsed = lib.parseRunResult(response, { containerId: cited.container_id, recovered: false });
  const citation = parsed.citations.find((c) => c.fileId === cited.file_id)!;
  expect(citation).toMatchObject({ containerId: cited.container_id, filename: 'chart.png' });
  return { raw: response, citation, containerId: cited.container_id };
}

describe("the guide's example 3 (input_file CSV → cited chart → download), built package, HTTP simulator", () => {
  it.each(variants)('%s', async (_name, mode, variant) => {
    const setup = await setUp();
    const { sim, session, client, dir, csvPath } = setup;
    try {
      // The guide uploads with the Files API, then hands the id to the model as an input_file part.
      const uploaded = await client.files.create({ file: createReadStream(csvPath), purpose: 'user_data' });
      const { citation, containerId } = await variant(setup, uploaded.id);

      // The request that went out named one container (the session's), whatever the caller wrote.
      const runs = sim.requestsTo('/responses', 'POST');
      expect(runs).toHaveLength(1);
      const tool = (runs[0]!.body as { tools: Array<{ type: string; container: unknown }> }).tools.find((t) => t.type === 'code_interpreter')!;
      expect(tool.container).toBe(session.containerId);
      if (mode === 'auto') expect(JSON.stringify(runs[0]!.body)).not.toContain('"auto"');
      expect(containerId).toBe(session.containerId);
      expect(sim.requestsTo('/containers', 'POST')).toHaveLength(1);

      // The CSV the model read is the one uploaded: the service copied the input file in.
      const inContainer = [...sim.containers.get(containerId)!.files.values()];
      const csv = inContainer.find((f) => f.source === 'user' && f.fileId === uploaded.id)!;
      expect(new TextDecoder().decode(csv.content.bytes())).toBe(SALES_CSV);
      const listed = await session.listFiles();
      expect(listed.find((f) => f.id === csv.id)).toMatchObject({ filename: 'sales.csv', source: 'user', path: csv.path });

      // The cited chart, downloaded to disk by the library: a real PNG, the container's bytes exactly.
      expect(citation).toMatchObject({ containerId, filename: 'chart.png' });
      const saved = await session.saveFile(citation, join(dir, 'out'));
      expect(basename(saved)).toBe('chart.png');
      const onDisk = new Uint8Array(await readFile(saved));
      const { width, height } = parsePng(onDisk);
      expect(width * height).toBeGreaterThan(1);
      const generated = sim.containers.get(containerId)!.files.get(citation.fileId)!;
      expect(generated).toMatchObject({ source: 'assistant', path: '/mnt/data/chart.png' });
      expect(Buffer.from(onDisk).equals(Buffer.from(generated.content.bytes()))).toBe(true);

      // Nothing left behind: the container is deleted; the user's own upload is theirs to delete.
      await session.close();
      expect([...sim.containers.values()].filter((c) => c.status !== 'deleted')).toEqual([]);
      expect([...sim.files.values()].filter((f) => !f.deleted).map((f) => f.id)).toEqual([uploaded.id]);
      await client.files.delete(uploaded.id);
    } finally {
      await session.close().catch(() => {});
      await setup.close();
    }
  });
});
