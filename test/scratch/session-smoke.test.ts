import { test, expect } from 'vitest';
import { withMsw, withHttp, SALES_CSV } from '../helpers/sim.js';
import { CodeInterpreterSession, createRateLimiter } from '../../src/index.js';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('session e2e', async () => {
  const { sim, client, close } = await withHttp();
  const session = new CodeInterpreterSession({ client, model: 'gpt-5', rateLimiter: createRateLimiter({ limit: 1000, intervalMs: 1000 }) });
  const events: string[] = [];
  for (const e of ['container.created','container.expired','container.recreated','file.uploaded'] as const) session.on(e, () => events.push(e));
  await session.upload(new TextEncoder().encode(SALES_CSV), { filename: 'sales.csv' });
  const r1 = await session.run('total revenue by region');
  console.log(r1.text, r1.codeCalls[0]?.logs, r1.files);
  sim.expire(session.containerId!);
  const r2 = await session.run('now units by product');
  console.log(r2.recovered, r2.text);
  const dir = await mkdtemp(join(tmpdir(), 'cis-'));
  console.log(await session.saveAll(r2, dir), await readdir(dir));
  const evs: string[] = [];
  for await (const ev of session.stream('units by region')) evs.push(ev.type);
  console.log(evs.join(','));
  console.log(events, session.stats, sim.requests.map(r => `${r.method} ${r.path} ${r.status}`));
  await session.close();
  console.log([...sim.containers.values()].map(c => c.status), [...sim.files.values()].map(f => f.deleted));
  await close();
});
