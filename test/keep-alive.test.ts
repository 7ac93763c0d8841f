import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRateLimiter, type RateLimiter } from '../src/index.js';
import { makeSession, recordEvents } from './helpers/session.js';
import { withMsw, unhashedPath } from './helpers/sim.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

let h: ReturnType<typeof withMsw>;
afterEach(() => {
  h?.close();
  vi.useRealTimers();
});

/** Moves the fake clock forward a minute at a time, letting timers and requests run. */
async function idle(ms: number): Promise<void> {
  for (let t = 0; t < ms; t += MINUTE) await vi.advanceTimersByTimeAsync(Math.min(MINUTE, ms - t));
}

function useSimulatedClock() {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
}

const touches = () => h.sim.requests.filter((r) => r.method === 'GET' && /^\/containers\/[^/]+$/.test(r.path));

describe('keep-alive', () => {
  it('keeps a container alive through 3 idle hours while the session is within idleTimeoutMs', async () => {
    useSimulatedClock();
    h = withMsw();
    let acquired = 0;
    const inner = createRateLimiter({ limit: 1000, intervalMs: 1000 });
    const limiter: RateLimiter = { acquire: (o) => (acquired++, inner.acquire(o)) };
    const session = makeSession(h.client, { keepAlive: { idleTimeoutMs: 4 * HOUR }, rateLimiter: limiter });
    const events = recordEvents(session);
    await session.start();
    await idle(3 * HOUR);
    const id = session.containerId!;
    expect((await h.client.containers.retrieve(id)).status).toBe('running');
    // Touched every 16 minutes (80% of the 20-minute expiry): 180 / 16 = 11 touches.
    expect(touches().length - 1).toBe(11);
    expect(session.stats.touches).toBe(11);
    expect(events.of('keepalive')).toHaveLength(11);
    expect(events.of('keepalive')[0]).toEqual({ containerId: session.containerId, idleMs: 16 * MINUTE });
    expect(acquired).toBe(session.stats.requests); // touches went through the limiter
    expect(session.stats.recreations).toBe(0);
    await session.close();
  });

  it('stops touching once the session has been unused for idleTimeoutMs, and the container may then expire', async () => {
    useSimulatedClock();
    h = withMsw();
    const session = makeSession(h.client); // idleTimeoutMs defaults to 1 hour
    await session.start();
    await idle(3 * HOUR);
    expect(session.stats.touches).toBe(3); // at 16, 32 and 48 minutes; at 64 the session is past its hour
    expect((await h.client.containers.retrieve(session.containerId!)).status).toBe('expired');
    // The next call brings it back, files and all.
    const listed = await session.listFiles();
    expect(listed).toEqual([]);
    expect(session.stats.recreations).toBe(1);
    await session.close();
  });

  it('sends no touches while the session is busy', async () => {
    useSimulatedClock();
    h = withMsw();
    const session = makeSession(h.client);
    await session.start();
    for (let minute = 0; minute < 60; minute += 5) {
      await session.run(`question at minute ${minute}`);
      await idle(5 * MINUTE);
    }
    expect(session.stats.touches).toBe(0);
    expect(touches()).toHaveLength(0);
    await session.close();
  });

  it('sends nothing after close()', async () => {
    useSimulatedClock();
    h = withMsw();
    const session = makeSession(h.client);
    await session.start();
    await session.close();
    const sent = h.sim.requests.length;
    await idle(3 * HOUR);
    expect(h.sim.requests).toHaveLength(sent);
  });

  it('honours intervalMs and can be turned off', async () => {
    useSimulatedClock();
    h = withMsw();
    const custom = makeSession(h.client, { keepAlive: { intervalMs: 5 * MINUTE } });
    const off = makeSession(h.client, { keepAlive: false });
    await custom.start();
    await off.start();
    await idle(30 * MINUTE);
    expect(custom.stats.touches).toBe(6);
    expect(off.stats.touches).toBe(0);
    expect((await h.client.containers.retrieve(off.containerId!)).status).toBe('expired');
    await Promise.all([custom.close(), off.close()]);
  });

  it('re-creates a container it finds expired when touching', async () => {
    useSimulatedClock();
    h = withMsw();
    const session = makeSession(h.client, { keepAlive: { intervalMs: 10 * MINUTE } });
    const events = recordEvents(session);
    await session.upload(new TextEncoder().encode('a,b\n1,2\n'), { filename: 'data.csv' });
    await session.start();
    const first = session.containerId!;
    h.sim.expire(first);
    await idle(11 * MINUTE);
    expect(events.names()).toEqual(['file.uploaded', 'container.created', 'container.expired', 'container.recreated', 'keepalive']);
    expect(session.containerId).not.toBe(first);
    expect([...h.sim.containers.get(session.containerId!)!.files.values()].map(unhashedPath)).toEqual(['/mnt/data/data.csv']);
    await session.close();
  });

  it('never keeps the process alive: a script that forgets close() exits', () => {
    const script = fileURLToPath(new URL('./helpers/forgotten-session.ts', import.meta.url));
    const result = spawnSync(process.execPath, ['--import', fileURLToPath(import.meta.resolve('tsx')), script], { timeout: 20_000, encoding: 'utf8' });
    expect(result.stdout).toContain('container cntr_');
    expect(result.signal).toBeNull(); // not killed by the timeout
    expect(result.status).toBe(0);
  });
});
