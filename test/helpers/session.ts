import type OpenAI from 'openai';
import { CodeInterpreterSession, createRateLimiter, type SessionOptions } from '../../src/index.js';
import type { SessionEventName, SessionEvents } from '../../src/events.js';

/** A session on the given client with a roomy private limiter and fast retries, unless overridden. */
export function makeSession(client: OpenAI, overrides: Partial<SessionOptions> = {}): CodeInterpreterSession {
  return new CodeInterpreterSession({
    client,
    model: 'gpt-5',
    rateLimiter: createRateLimiter({ limit: 10_000, intervalMs: 1000 }),
    retry: { retries: 3, minTimeoutMs: 1, maxTimeoutMs: 5 },
    ...overrides,
  });
}

/** Records every event a session emits, in order. */
export function recordEvents(session: CodeInterpreterSession) {
  const seen: Array<{ event: SessionEventName; payload: unknown }> = [];
  const names: SessionEventName[] = [
    'container.created', 'container.expired', 'container.recreated', 'keepalive', 'file.uploaded', 'request.retry', 'request.throttled', 'error',
  ];
  for (const event of names) session.on(event, (payload: SessionEvents[typeof event]) => seen.push({ event, payload }));
  return {
    seen,
    names: () => seen.map((s) => s.event),
    of: <K extends SessionEventName>(event: K) => seen.filter((s) => s.event === event).map((s) => s.payload as SessionEvents[K]),
  };
}
