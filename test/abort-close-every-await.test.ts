// An abort, and separately a close(), at every await of run(), stream(), upload(), start() and
// keep-alive touches: every simulator request the call makes (held before the server handles it,
// and after it answered but before the answer reaches the client) and every store call (held
// before the store runs it, and after it returned). The points are generated from what each
// scenario actually does (recorded in a first, undisturbed pass), not hand-picked.
//
// At every point: the call settles (with the caller's abort reason for an abort; with its result
// or SessionClosedError for close()), close() resolves, the simulator has no running container and
// no live Files API file left, nothing is sent after close() resolved, and the store holds the
// tombstone close() left (nothing written over it).
import { afterEach, describe, expect, it } from 'vitest';
import { MemorySessionStore, SESSION_CONTAINER, SessionClosedError, type CodeInterpreterSession, type SessionStore } from '../src/index.js';
import type { SimulatorKit } from '../src/testing/index.js';
import { createGate, type HoldPhase } from './helpers/gate.js';
import { makeSession } from './helpers/session.js';
import { SALES_CSV, TEST_API_KEY, withMsw } from './helpers/sim.js';

let h: ReturnType<typeof withMsw> | undefined;
afterEach(() => h?.close());

const bytes = (text: string) => new TextEncoder().encode(text);
const tick = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));
const running = (sim: SimulatorKit) => [...sim.containers.values()].filter((c) => c.status === 'running').map((c) => c.id);
const liveFiles = (sim: SimulatorKit) => [...sim.files.values()].filter((f) => !f.deleted).map((f) => `${f.id} ${f.filename}`);
const TOMBSTONE = { closed: true, files: [], conversation: { transcript: [] } };

/** A point where a call awaits: the nth request of one kind, held at one phase. */
interface Point {
  kind: 'http' | 'store';
  /** `POST /containers/{id}/files` or `store.update replaceContainer`. */
  key: string;
  method?: string;
  path?: RegExp;
  nth: number;
}

/** Path segments that are ids (`cntr_…`, `file-…`, `resp_…`) become a wildcard, so runs compare. */
function normalise(path: string): { key: string; pattern: RegExp } {
  const segments = path.split('/').map((s) => (/^[a-z]+[_-][A-Za-z0-9_-]+$/.test(s) ? '{id}' : s));
  const source = segments.map((s) => (s === '{id}' ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/');
  return { key: segments.join('/'), pattern: new RegExp(`^${source}$`) };
}

/**
 * A store that records its calls and can hold the nth call of one kind (before it runs, or after
 * it returned), honouring the call's signal like the gate's held requests.
 */
function gatedStore(inner: SessionStore & Required<Pick<SessionStore, 'withLock' | 'lease'>>) {
  const seen: string[] = [];
  let hold: { key: string; nth: number; phase: HoldPhase; count: number; reached: () => void; released: Promise<void> } | undefined;
  const wait = async (phase: HoldPhase, key: string, signal: AbortSignal | undefined) => {
    if (!hold || hold.key !== key || hold.phase !== phase) return;
    if (++hold.count !== hold.nth) return;
    hold.reached();
    const released = hold.released;
    await new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => reject(signal!.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      void released.then(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  };
  const gated = async <T>(key: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> => {
    seen.push(key);
    await wait('request', key, signal);
    const value = await fn();
    await wait('response', key, signal);
    return value;
  };
  const store: SessionStore = {
    load: (id, o) => gated('store.load', o?.signal, () => inner.load(id, o)),
    update: (id, change, o) => gated(`store.update ${change.type}`, o?.signal, () => inner.update(id, change, o)),
    delete: (id, o) => gated('store.delete', o?.signal, () => inner.delete(id, o)),
    withLock: (id, name, fn, o) => gated(`store.withLock ${name}`, o?.signal, () => inner.withLock(id, name, fn, o)),
    lease: (id, name, holder, ttlMs, o) => gated(`store.lease ${name}`, o?.signal, () => inner.lease(id, name, holder, ttlMs, o)),
  };
  return {
    store,
    seen,
    hold(key: string, nth: number, phase: HoldPhase) {
      let reached!: () => void;
      const reachedP = new Promise<void>((resolve) => (reached = resolve));
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      hold = { key, nth, phase, count: 0, reached, released };
      return { reached: reachedP, release };
    },
  };
}

interface Scenario {
  name: string;
  /** Session options beyond the defaults (a roomy limiter, fast retries). */
  options?: Parameters<typeof makeSession>[1];
  /** Not disturbed: brings the session to the state the call starts from. */
  setup?: (session: CodeInterpreterSession, sim: SimulatorKit) => Promise<void>;
  /** The call under test. `signal` is undefined for calls without one (keep-alive). */
  act: (session: CodeInterpreterSession, signal: AbortSignal | undefined) => Promise<unknown>;
  /** The call takes no signal (a keep-alive touch): only close() is put at its awaits. */
  noSignal?: boolean;
}

const drain = async (events: AsyncIterable<unknown>) => {
  for await (const event of events) void event;
};

/** A Responses request through `session.fetch` (as any OpenAI client would send it), its body read whole. */
async function throughFetch(s: CodeInterpreterSession, signal: AbortSignal | undefined, stream = false): Promise<string> {
  const response = await s.fetch('https://api.openai.com/v1/responses', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_API_KEY}` },
    body: JSON.stringify({ model: 'gpt-5', input: 'Total revenue by region in sales.csv', stream, tools: [{ type: 'code_interpreter', container: SESSION_CONTAINER }] }),
    ...(signal && { signal }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${text}`);
  return text;
}

const SCENARIOS: Scenario[] = [
  { name: 'start() (store load, lock, create)', act: (s, signal) => s.start({ signal }) },
  {
    name: 'start() adopting a stored container that expired (re-creation with its files)',
    setup: async (s, sim) => {
      await s.upload(bytes(SALES_CSV), { filename: 'sales.csv' });
      await s.start();
      sim.expire(s.containerId!);
    },
    options: { keepAlive: false },
    act: async (s, signal) => {
      // A second session object on the same store adopts the dead container: load, retrieve, re-create.
      return s.start({ signal });
    },
  },
  { name: 'upload() before the container exists', act: (s, signal) => s.upload(bytes(SALES_CSV), { filename: 'sales.csv', signal }) },
  {
    name: 'upload() into a live container (upload, attach)',
    setup: async (s) => void (await s.start()),
    act: (s, signal) => s.upload(bytes(SALES_CSV), { filename: 'sales.csv', signal }),
  },
  {
    name: 'upload() into an expired container (attach fails, re-creation, attach)',
    setup: async (s, sim) => {
      await s.start();
      sim.expire(s.containerId!);
    },
    act: (s, signal) => s.upload(bytes(SALES_CSV), { filename: 'sales.csv', signal }),
  },
  {
    name: 'run() with files, generated files persisted (create, uploads, attach, response, listing, downloads, copies)',
    options: { persistGeneratedFiles: true },
    act: (s, signal) => s.run('Total revenue by region in sales.csv, as chart.png', { signal, files: [new File([bytes(SALES_CSV)], 'sales.csv')] }),
  },
  {
    name: 'run() with an input_file given as file_data',
    act: (s, signal) =>
      s.run(
        [{ role: 'user', content: [{ type: 'input_file', filename: 'sales.csv', file_data: `data:text/csv;base64,${Buffer.from(SALES_CSV).toString('base64')}` }, { type: 'input_text', text: 'Total revenue' }] }],
        { signal },
      ),
  },
  {
    name: 'run() after the container expired (response fails, re-creation, response again)',
    setup: async (s, sim) => {
      await s.upload(bytes(SALES_CSV), { filename: 'sales.csv' });
      await s.run('Total revenue by region in sales.csv');
      sim.expire(s.containerId!);
    },
    act: (s, signal) => s.run('And the maximum?', { signal }),
  },
  {
    name: 'stream() with files (create, upload, streamed response, listing)',
    act: (s, signal) => drain(s.stream('Total revenue by region in sales.csv, as chart.png', { signal, files: [new File([bytes(SALES_CSV)], 'sales.csv')] })),
  },
  {
    name: 'stream() after the container expired (re-creation before any output)',
    setup: async (s, sim) => {
      await s.upload(bytes(SALES_CSV), { filename: 'sales.csv' });
      await s.run('Total revenue by region in sales.csv');
      sim.expire(s.containerId!);
    },
    act: (s, signal) => drain(s.stream('And the maximum?', { signal })),
  },
  { name: 'session.fetch (container created for the request, response)', act: (s, signal) => throughFetch(s, signal) },
  { name: 'session.fetch streamed (the body is part of the call)', act: (s, signal) => throughFetch(s, signal, true) },
  {
    name: 'session.fetch after the container expired (response fails, re-creation, response again)',
    setup: async (s, sim) => {
      await s.upload(bytes(SALES_CSV), { filename: 'sales.csv' });
      await s.start();
      sim.expire(s.containerId!);
    },
    act: (s, signal) => throughFetch(s, signal),
  },
  {
    name: 'a keep-alive touch (lease, retrieve)',
    options: { keepAlive: { intervalMs: 40 } },
    setup: async (s) => void (await s.upload(bytes(SALES_CSV), { filename: 'sales.csv' }).then(() => s.start())),
    act: (s) => new Promise((resolve) => s.on('keepalive', resolve)),
    noSignal: true,
  },
  {
    name: 'a keep-alive touch that finds the container expired (lease, retrieve, re-creation)',
    options: { keepAlive: { intervalMs: 40 } },
    setup: async (s, sim) => {
      await s.upload(bytes(SALES_CSV), { filename: 'sales.csv' });
      await s.start();
      sim.expire(s.containerId!);
    },
    act: (s) => new Promise((resolve) => s.on('container.recreated', resolve)),
    noSignal: true,
  },
];

/** A fresh simulator, gate, store and session for one scenario, set up and undisturbed so far. */
async function prepare(scenario: Scenario) {
  h?.close();
  h = withMsw();
  const gate = createGate();
  const memory = new MemorySessionStore();
  const store = gatedStore(memory);
  const isAdoption = scenario.name.startsWith('start() adopting');
  const options = { store: store.store, ...scenario.options };
  let session = makeSession(gate.client(), isAdoption ? { ...options, keepAlive: false } : options);
  await scenario.setup?.(session, h.sim);
  if (isAdoption) {
    // The call is made by a new session object on the same store (same id): it adopts, finds it dead, re-creates.
    session = makeSession(gate.client(), { ...options, sessionId: session.id });
  }
  const marks = { http: gate.seen.length, store: store.seen.length };
  return { sim: h.sim, gate, memory, store, session, marks };
}

/** What the call awaits, in order: every request and store call it made, when nothing disturbs it. */
async function recordPoints(scenario: Scenario): Promise<Point[]> {
  const { gate, store, session, marks } = await prepare(scenario);
  await scenario.act(session, scenario.noSignal ? undefined : new AbortController().signal);
  const http = gate.seen.slice(marks.http);
  const stores = store.seen.slice(marks.store);
  await session.close();
  const points: Point[] = [];
  const counts = new Map<string, number>();
  for (const { method, path } of http) {
    if (!path.startsWith('/')) continue; // the client's `fetch("data:,")` probe: not a request to the server
    const { key, pattern } = normalise(path);
    const full = `${method} ${key}`;
    const nth = (counts.get(full) ?? 0) + 1;
    counts.set(full, nth);
    points.push({ kind: 'http', key: full, method, path: pattern, nth });
  }
  for (const key of stores) {
    const nth = (counts.get(key) ?? 0) + 1;
    counts.set(key, nth);
    points.push({ kind: 'store', key, nth });
  }
  return points;
}

type Mode = 'abort' | 'close';

async function disturbAt(scenario: Scenario, point: Point, phase: HoldPhase, mode: Mode): Promise<void> {
  const { sim, gate, memory, store, session } = await prepare(scenario);
  const hold =
    point.kind === 'http' ? gate.hold({ method: point.method!, path: point.path!, nth: point.nth, phase }) : store.hold(point.key, point.nth, phase);
  const controller = new AbortController();
  const reason = new Error('the caller gave up');
  const call = scenario.act(session, scenario.noSignal ? undefined : controller.signal);
  const outcome = call.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  const where = `${scenario.name}: ${mode} at ${point.key} #${point.nth} (${phase})`;
  // A keep-alive scenario's "call" is an event that may come before its last store call returns.
  const settledFirst = scenario.noSignal ? new Promise<boolean>(() => {}) : outcome.then(() => false);
  const reachedInTime = await Promise.race([hold.reached.then(() => true), settledFirst, tick(5000).then(() => false)]);
  expect(reachedInTime, `${where}: the point was not reached`).toBe(true);

  let closing: Promise<void> | undefined;
  if (mode === 'abort') controller.abort(reason);
  else closing = session.close();
  await tick();
  hold.release();

  if (!scenario.noSignal || mode === 'abort') {
    const settled = await Promise.race([outcome, tick(5000).then(() => undefined)]);
    expect(settled, `${where}: the call did not settle`).toBeDefined();
    if (mode === 'abort') {
      expect(settled!.ok ? settled!.value : settled!.error, `${where}: not the abort reason`).toBe(reason);
    } else if (!settled!.ok) {
      expect(settled!.error, `${where}: ${String(settled!.error)}`).toBeInstanceOf(SessionClosedError);
    }
  }
  closing ??= session.close();
  await expect(closing, where).resolves.toBeUndefined();
  const sentAtClose = sim.requests.length;
  await tick(20);
  expect(sim.requests.length, `${where}: requests sent after close() resolved`).toBe(sentAtClose);
  expect(running(sim), `${where}: containers left`).toEqual([]);
  expect(liveFiles(sim), `${where}: Files API files left`).toEqual([]);
  expect(await memory.load(session.id), `${where}: store written after close()`).toEqual(TOMBSTONE);
}

describe('an abort or close() at every await of a call', () => {
  for (const scenario of SCENARIOS) {
    it(`${scenario.name}: the call settles as it should, and nothing is left`, async () => {
      const points = await recordPoints(scenario);
      expect(points.filter((p) => p.kind === 'http').length, 'the scenario sends requests').toBeGreaterThan(0);
      const modes: Mode[] = scenario.noSignal ? ['close'] : ['abort', 'close'];
      let checked = 0;
      for (const point of points) {
        for (const phase of ['request', 'response'] as const) {
          for (const mode of modes) {
            await disturbAt(scenario, point, phase, mode);
            checked++;
          }
        }
      }
      expect(checked).toBe(points.length * 2 * modes.length);
    }, 120_000);
  }
});
