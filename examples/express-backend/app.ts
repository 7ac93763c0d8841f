// An HTTP backend: each user gets a Code Interpreter session, kept while they are active and
// closed after a while without use. POST /analyze takes a CSV (multipart) and a prompt; GET
// /files/:fileId streams a generated file back.
import { Readable } from 'node:stream';
import express, { type NextFunction, type Request, type Response } from 'express';
import type OpenAI from 'openai';
import { CodeInterpreterSession, FileNotFoundError, InvalidOptionsError, type GeneratedFile, type RateLimiter } from 'code-interpreter-session';

export interface AppOptions {
  client: OpenAI;
  model: string;
  /** Close a user's session after this long without a request. @default 30 minutes */
  sessionIdleMs?: number;
  rateLimiter?: RateLimiter;
}

interface UserSession {
  session: CodeInterpreterSession;
  lastUsed: number;
  /** Files the user may download, by container file id. */
  files: Map<string, GeneratedFile>;
}

export function createApp(options: AppOptions) {
  const sessions = new Map<string, UserSession>();
  const idleMs = options.sessionIdleMs ?? 30 * 60_000;

  const sessionFor = (userId: string): UserSession => {
    let entry = sessions.get(userId);
    if (!entry) {
      entry = {
        session: new CodeInterpreterSession({
          client: options.client,
          model: options.model,
          sessionId: `user-${userId}`,
          ...(options.rateLimiter && { rateLimiter: options.rateLimiter }),
        }),
        lastUsed: Date.now(),
        files: new Map(),
      };
      sessions.set(userId, entry);
    }
    entry.lastUsed = Date.now();
    return entry;
  };

  // Idle eviction: close sessions nobody used for a while (their containers are deleted).
  const evict = async (now = Date.now()) => {
    for (const [userId, entry] of sessions) {
      if (now - entry.lastUsed < idleMs) continue;
      sessions.delete(userId);
      await entry.session.close().catch((error: unknown) => console.error(`closing the session of ${userId}:`, error));
    }
  };
  const sweeper = setInterval(() => void evict(), Math.min(idleMs, 60_000));
  sweeper.unref();

  const app = express();

  const userId = (req: Request) => {
    const id = req.header('x-user-id');
    if (!id || !/^[\w-]{1,64}$/.test(id)) throw Object.assign(new Error('send an x-user-id header (letters, digits, - or _)'), { status: 400 });
    return id;
  };

  app.post('/analyze', async (req, res, next) => {
    try {
      const entry = sessionFor(userId(req));
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
      if (file && typeof file !== 'string') await entry.session.upload(file, { filename: file.name });
      const result = await entry.session.run(prompt);
      for (const f of result.files) entry.files.set(f.fileId, f);
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
      const entry = sessions.get(userId(req));
      const file = entry?.files.get(req.params.fileId);
      if (!entry || !file) return res.status(404).json({ error: 'no such file for this user' });
      entry.lastUsed = Date.now();
      const controller = new AbortController();
      res.on('close', () => controller.abort()); // the browser went away: stop downloading
      const body = await entry.session.downloadStream(file, { signal: controller.signal });
      res.attachment(file.filename); // Content-Disposition with the name safely encoded
      Readable.fromWeb(body as import('node:stream/web').ReadableStream).pipe(res);
    } catch (error) {
      next(error);
    }
  });

  app.use((error: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof FileNotFoundError) return res.status(410).json({ error: 'that file has expired' });
    if (error instanceof InvalidOptionsError) return res.status(400).json({ error: error.message });
    res.status(error.status ?? 500).json({ error: error.status ? error.message : 'internal error' });
  });

  return {
    app,
    sessions,
    evict,
    async close() {
      clearInterval(sweeper);
      await Promise.all([...sessions.values()].map((entry) => entry.session.close()));
      sessions.clear();
    },
  };
}
