// An HTTP backend: each user gets a Code Interpreter session, kept while they are active and
// closed after a while without use. POST /analyze takes a CSV (multipart) and a prompt; GET
// /files/:fileId streams a generated file back.
import { Readable } from 'node:stream';
import express, { type NextFunction, type Request, type Response } from 'express';
import type OpenAI from 'openai';
import { FileNotFoundError, InvalidOptionsError, PoolFullError, SessionPool, type GeneratedFile, type RateLimiter } from 'code-interpreter-session';

export interface AppOptions {
  client: OpenAI;
  model: string;
  /** Close a user's session after this long without a request. @default 30 minutes */
  sessionIdleMs?: number;
  /** At most this many users' sessions (each may hold a billed container) at once. @default 500 */
  maxSessions?: number;
  rateLimiter?: RateLimiter;
  /** The pool's clock (tests). @default Date.now */
  now?: () => number;
}

export function createApp(options: AppOptions) {
  // One session per user, made on first use, closed (container deleted) after sessionIdleMs idle
  // or when the pool needs room for a new user.
  const pool = new SessionPool({
    session: { client: options.client, model: options.model, ...(options.rateLimiter && { rateLimiter: options.rateLimiter }) },
    sessionId: (userId) => `user-${userId}`,
    idleMs: options.sessionIdleMs ?? 30 * 60_000,
    maxSessions: options.maxSessions ?? 500,
    ...(options.now && { now: options.now }),
  });
  /** Files each user may download, by container file id; forgotten with the user's session. */
  const filesOf = new Map<string, Map<string, GeneratedFile>>();
  pool.on('session.evicted', ({ key, reason, cost }) => {
    filesOf.delete(key);
    console.log(`session of ${key} ended (${reason}); its containers cost about $${cost.estimatedUsd}`);
  });
  pool.on('error', ({ operation, error }) => console.error(`${operation}:`, error));

  const app = express();

  const userId = (req: Request) => {
    const id = req.header('x-user-id');
    if (!id || !/^[\w-]{1,64}$/.test(id)) throw Object.assign(new Error('send an x-user-id header (letters, digits, - or _)'), { status: 400 });
    return id;
  };

  app.post('/analyze', async (req, res, next) => {
    try {
      const user = userId(req);
      // Parse the multipart body with the platform's own parser (no extra dependency).
      const form = await new globalThis.Request(`http://local${req.url}`, {
        method: 'POST',
        headers: req.headers as Record<string, string>,
        body: Readable.toWeb(req) as ReadableStream,
        duplex: 'half',
      } as RequestInit).formData();
      const prompt = form.get('prompt');
      const file = form.get('file');
      if (typeof prompt !== 'string' || prompt.trim() === '') return res.status(400).json({ error: 'a non-empty "prompt" field is required' });
      // use(): the session is held while the request runs, so the pool never closes it mid-request.
      const result = await pool.use(user, async (session) => {
        if (file && typeof file !== 'string') await session.upload(file, { filename: file.name });
        return session.run(prompt);
      });
      let files = filesOf.get(user);
      if (!files) filesOf.set(user, (files = new Map()));
      for (const f of result.files) files.set(f.fileId, f);
      res.json({
        answer: result.text,
        code: result.codeCalls.map((c) => ({ code: c.code, logs: c.logs })),
        files: result.files.map((f) => ({ filename: f.filename, url: `/files/${encodeURIComponent(f.fileId)}` })),
        recovered: result.recovered,
      });
    } catch (error) {
      next(error);
    }
  });

  app.get('/files/:fileId', async (req, res, next) => {
    try {
      const user = userId(req);
      const file = filesOf.get(user)?.get(req.params.fileId);
      if (!file || !pool.has(user)) return res.status(404).json({ error: 'no such file for this user' });
      const controller = new AbortController();
      res.on('close', () => controller.abort()); // the browser went away: stop downloading
      const lease = await pool.acquire(user, { signal: controller.signal });
      try {
        const body = await lease.session.downloadStream(file, { signal: controller.signal });
        res.attachment(file.filename); // Content-Disposition with the name safely encoded
        const out = Readable.fromWeb(body as import('node:stream/web').ReadableStream).pipe(res);
        out.on('close', () => lease.release()); // held until the whole file is sent
      } catch (error) {
        lease.release();
        throw error;
      }
    } catch (error) {
      next(error);
    }
  });

  app.use((error: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof FileNotFoundError) return res.status(410).json({ error: 'that file has expired' });
    if (error instanceof InvalidOptionsError) return res.status(400).json({ error: error.message });
    if (error instanceof PoolFullError) return res.status(503).set('retry-after', '30').json({ error: 'too many active users, try again shortly' });
    res.status(error.status ?? 500).json({ error: error.status ? error.message : 'internal error' });
  });

  return {
    app,
    pool,
    /** Closes every user's session (containers and uploaded files deleted). */
    close: () => pool.close(),
  };
}
