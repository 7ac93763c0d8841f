// The chaos run's abort/close round: sessions whose callers abort calls and close() the session at
// random moments while runs, streams, uploads and starts are in flight (and the injector keeps
// failing requests and expiring containers). Expected outcomes of a call: its result, the caller's
// own abort reason (the very object it aborted with), or SessionClosedError when close() had been
// called before the call settled. Anything else is an unexpected failure. Orphans are counted from
// the simulator's own state after everything settled, and store entries after close().
import { setTimeout as sleep } from 'node:timers/promises';
import type OpenAI from 'openai';
import { CodeInterpreterSession, MemorySessionStore, SessionClosedError, type RateLimiter } from '../src/index.js';

export interface AbortRoundSummary {
  sessions: number;
  calls: number;
  completed: number;
  /** Calls that rejected with their caller's own abort reason. */
  abortedByCaller: number;
  /** Calls that rejected with SessionClosedError because close() was called meanwhile (or before). */
  closedByClose: number;
  /** Calls that failed for any other reason, and close() calls that rejected: must be 0. */
  unexpectedFailures: number;
  /** close() calls made while calls were in flight. */
  closesMidFlight: number;
  /** Store entries that are not the tombstone close() left (a call wrote state after close()). */
  storeWrittenAfterClose: number;
}

type Outcome = 'completed' | 'aborted' | 'closed' | 'unexpected';

const bytes = (text: string) => new TextEncoder().encode(text);

/** Settles `call` and classifies how; `reason` is what the caller aborted with (if it did). */
async function classify(call: () => Promise<unknown>, reason: unknown, closeCalled: () => boolean, failures: string[], label: string): Promise<Outcome> {
  try {
    await call();
    return 'completed';
  } catch (error) {
    if (reason !== undefined && error === reason) return 'aborted';
    if (error instanceof SessionClosedError && closeCalled()) return 'closed';
    failures.push(`abort round: ${label}: ${(error as Error)?.constructor?.name} ${(error as Error)?.message ?? String(error)}`);
    return 'unexpected';
  }
}

export async function abortCloseRound(deps: {
  client: OpenAI;
  limiter: RateLimiter;
  sessions: number;
  callsPerSession: number;
  failures: string[];
  /** Sessions whose container the injector may expire. */
  expirable: Set<CodeInterpreterSession>;
}): Promise<AbortRoundSummary> {
  const store = new MemorySessionStore();
  const summary: AbortRoundSummary = {
    sessions: deps.sessions,
    calls: 0,
    completed: 0,
    abortedByCaller: 0,
    closedByClose: 0,
    unexpectedFailures: 0,
    closesMidFlight: 0,
    storeWrittenAfterClose: 0,
  };
  const ids: string[] = [];
  const count = (outcome: Outcome) => {
    summary.calls++;
    if (outcome === 'completed') summary.completed++;
    else if (outcome === 'aborted') summary.abortedByCaller++;
    else if (outcome === 'closed') summary.closedByClose++;
    else summary.unexpectedFailures++;
  };

  async function user(n: number): Promise<void> {
    const session = new CodeInterpreterSession({
      client: deps.client,
      model: 'gpt-5',
      rateLimiter: deps.limiter,
      store,
      persistGeneratedFiles: n % 2 === 0,
      retry: { retries: 10, minTimeoutMs: 50, maxTimeoutMs: 1000 },
      keepAlive: n % 3 === 0 ? { intervalMs: 200 } : false,
    });
    ids.push(session.id);
    deps.expirable.add(session);
    let closeCalled = false;
    const isClosing = () => closeCalled;
    let inFlight = 0;
    // Each call: sometimes its caller aborts it after a random delay (a signal or timeoutMs).
    const one = async (k: number): Promise<void> => {
      const controller = new AbortController();
      const reason = new Error(`caller ${n}/${k} gave up`);
      const abortAfter = Math.random() < 0.5 ? Math.random() * 600 : undefined;
      const timer = abortAfter === undefined ? undefined : setTimeout(() => controller.abort(reason), abortAfter);
      const signal = controller.signal;
      const kind = k % 5;
      const label = ['start', 'upload', 'run', 'stream', 'run with files'][kind]!;
      inFlight++;
      const outcome = await classify(
        async () => {
          if (kind === 0) await session.start({ signal });
          else if (kind === 1) await session.upload(bytes(`session ${n} call ${k}\n`), { filename: `abort-${n}-${k}.txt`, signal });
          else if (kind === 2) await session.run(`Total revenue by region in sales.csv (call ${k})`, { signal });
          else if (kind === 3) {
            for await (const event of session.stream(`Chart revenue by region (call ${k})`, { signal })) void event;
          } else await session.run(`Summarise notes-${k}.txt`, { signal, files: [new File([bytes(`notes ${n}/${k}\n`)], `notes-${n}-${k}.txt`)] });
        },
        abortAfter === undefined ? undefined : reason,
        isClosing,
        deps.failures,
        `session ${n} ${label}`,
      );
      inFlight--;
      clearTimeout(timer);
      count(outcome);
    };
    // Two callers keep calling until close() (each call starts as the previous one settled), so
    // close() lands while calls are in flight, at a random moment (during the first create, an
    // upload, a run, a recovery...).
    let next = 0;
    const caller = async () => {
      while (!closeCalled && next < deps.callsPerSession) await one(next++);
    };
    const calls = [caller(), caller()];
    await sleep(50 + Math.random() * 2000);
    if (inFlight > 0) summary.closesMidFlight++;
    closeCalled = true;
    deps.expirable.delete(session);
    // Two close() calls at once (idempotent), and one call made after close() (refused).
    const closes = [session.close(), session.close()];
    calls.push(one(next++));
    for (const closing of closes) {
      await closing.catch((error: unknown) => {
        summary.unexpectedFailures++;
        deps.failures.push(`abort round: session ${n} close(): ${(error as Error).message}`);
      });
    }
    await Promise.all(calls);
  }

  await Promise.all(Array.from({ length: deps.sessions }, (_, n) => user(n)));
  for (const id of ids) {
    const entry = await store.load(id);
    const tombstone = entry?.closed === true && entry.files.length === 0 && entry.containerId === undefined && entry.conversation.transcript.length === 0;
    if (!tombstone) {
      summary.storeWrittenAfterClose++;
      deps.failures.push(`abort round: store entry of session ${id} written after close(): ${JSON.stringify(entry).slice(0, 200)}`);
    }
  }
  return summary;
}
