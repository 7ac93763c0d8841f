// Files handed to the model as `input_file` parts of run()/stream() input (issue #13 item 2).
import { afterEach, describe, expect, it } from 'vitest';
import { FileNotFoundError, InvalidOptionsError } from '../src/index.js';
import { makeSession } from './helpers/session.js';
import { SALES_CSV, withMsw, unhashedPath } from './helpers/sim.js';

let h: ReturnType<typeof withMsw>;
afterEach(() => h?.close());

const ask = (text: string, file: Record<string, unknown>) => [
  { role: 'user' as const, content: [{ type: 'input_text' as const, text }, { type: 'input_file' as const, ...file }] },
];
const containerPaths = (id: string) => [...h.sim.containers.get(id)!.files.values()].map(unhashedPath).sort();
const liveFiles = () => [...h.sim.files.values()].filter((f) => !f.deleted).map((f) => f.filename).sort();

describe('input_file parts in run() input', () => {
  it('file_id parts are tracked as attached files (not owned) and come back after an expiry', async () => {
    h = withMsw();
    const uploaded = await h.client.files.create({ file: new File([SALES_CSV], 'sales.csv'), purpose: 'user_data' });
    const session = makeSession(h.client);
    const first = await session.run(ask('Chart revenue by region', { file_id: uploaded.id }) as never);
    expect(session.trackedFiles).toEqual([{ fileId: uploaded.id, filename: 'sales.csv', bytes: SALES_CSV.length, origin: 'attached', owned: false }]);
    expect(h.sim.requestsTo(`/files/${uploaded.id}`, 'GET')).toHaveLength(1); // looked up once, before the run

    h.sim.expire(first.containerId);
    const second = await session.run('And by product?');
    expect(second.recovered).toBe(true);
    const creates = h.sim.requestsTo('/containers', 'POST');
    expect(creates.at(-1)!.body).toMatchObject({ file_ids: [uploaded.id] });
    expect(containerPaths(second.containerId)).toContain('/mnt/data/sales.csv');

    // The same id again costs no look-up and is not tracked twice.
    await session.run(ask('Again', { file_id: uploaded.id }) as never);
    expect(h.sim.requestsTo(`/files/${uploaded.id}`, 'GET')).toHaveLength(1);
    expect(session.trackedFiles).toHaveLength(1);

    await session.close();
    expect(liveFiles()).toEqual(['sales.csv']); // attached, not owned: close() leaves it
  });

  it('an unknown file_id fails with FileNotFoundError before the run is sent', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    await expect(session.run(ask('Read it', { file_id: 'file-nope' }) as never)).rejects.toBeInstanceOf(FileNotFoundError);
    expect(h.sim.requestsTo('/responses', 'POST')).toHaveLength(0);
    expect(session.trackedFiles).toEqual([]);
    await session.close();
  });

  it('file_data parts are uploaded once, sent as file_id, restored after an expiry and deleted by close()', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    const data = `data:text/csv;base64,${Buffer.from(SALES_CSV).toString('base64')}`;
    const first = await session.run(ask('Total revenue', { filename: 'sales.csv', file_data: data }) as never);
    const [file] = session.trackedFiles;
    expect(file).toMatchObject({ filename: 'sales.csv', bytes: SALES_CSV.length, origin: 'upload', owned: true });
    const sent = h.sim.requestsTo('/responses', 'POST')[0]!.body as { input: Array<{ content: unknown[] }> };
    expect(sent.input[0]!.content[1]).toEqual({ type: 'input_file', filename: 'sales.csv', file_id: file!.fileId });
    expect(JSON.stringify(sent)).not.toContain('base64');
    expect(new TextDecoder().decode(h.sim.files.get(file!.fileId)!.content.bytes())).toBe(SALES_CSV);

    h.sim.expire(first.containerId);
    const second = await session.run('And by product?');
    expect(second.recovered).toBe(true);
    expect(containerPaths(second.containerId)).toContain('/mnt/data/sales.csv');
    await session.close();
    expect(liveFiles()).toEqual([]);
  });

  it('a part that fails after an earlier file_data part was uploaded: the upload is not orphaned, close() deletes it', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    const input = [
      {
        role: 'user' as const,
        content: [
          { type: 'input_file' as const, filename: 'sales.csv', file_data: `data:text/csv;base64,${Buffer.from(SALES_CSV).toString('base64')}` },
          { type: 'input_file' as const, file_id: 'file-doesnotexist' },
          { type: 'input_text' as const, text: 'Total revenue' },
        ],
      },
    ];
    await expect(session.run(input as never)).rejects.toBeInstanceOf(FileNotFoundError);
    expect(h.sim.requestsTo('/files', 'POST').filter((r) => r.path === '/files')).toHaveLength(1); // the first part was uploaded
    expect(h.sim.requestsTo('/responses', 'POST')).toHaveLength(0);
    await session.close();
    expect(liveFiles()).toEqual([]);
  });

  it('file_url parts are sent as given and not tracked', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    const input = ask('Read it', { file_url: 'https://example.com/sales.csv' });
    await session.run(input as never);
    expect((h.sim.requestsTo('/responses', 'POST')[0]!.body as { input: unknown }).input).toEqual(input);
    expect(session.trackedFiles).toEqual([]);
    await session.close();
  });

  it('bad file_data is refused with InvalidOptionsError naming the part, before anything is sent', async () => {
    h = withMsw();
    const session = makeSession(h.client);
    const run = session.run(ask('x', { filename: 'a.csv', file_data: 'data:text/csv,plain' }) as never);
    await expect(run).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(session.run(ask('x', { filename: 'a.csv', file_data: 'not base64!' }) as never)).rejects.toThrow(/`input\[0\]\.content\[1\]\.file_data`: expected base64 data/);
    expect(h.sim.requests).toHaveLength(0);
    await session.close();
  });

  it('stream() tracks input files the same way', async () => {
    h = withMsw();
    const uploaded = await h.client.files.create({ file: new File([SALES_CSV], 'sales.csv'), purpose: 'user_data' });
    const session = makeSession(h.client);
    let last: unknown;
    for await (const event of session.stream(ask('Chart it', { file_id: uploaded.id }) as never)) last = event;
    expect(last).toMatchObject({ type: 'result' });
    expect(session.trackedFiles.map((f) => [f.fileId, f.origin, f.owned])).toEqual([[uploaded.id, 'attached', false]]);
    await session.close();
  });
});
