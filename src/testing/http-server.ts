import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ListenOptions {
  /** Port on 127.0.0.1. @default 0 (a free port) */
  port?: number;
}

export interface RunningServer {
  /** Base URL to give the OpenAI client, ending in `/v1`. */
  url: string;
  /** The server's origin, `http://127.0.0.1:<port>`: the `endpoint` for `new AzureOpenAI(...)` in Azure mode. */
  endpoint: string;
  port: number;
  /** Stops accepting connections and drops open ones. */
  close(): Promise<void>;
}

/** Answers whose connection is dropped once their body has been written (see {@link dropConnectionAfterBody}). */
const dropAfterBody = new WeakSet<Response>();

/**
 * Marks `response` so that the loopback server drops the connection after writing its body instead
 * of ending the answer: the client gets the status, the headers and the body, then a connection
 * closed before the answer's end (a cut answer, as a proxy or the network makes one).
 */
export function dropConnectionAfterBody(response: Response): Response {
  dropAfterBody.add(response);
  return response;
}

/**
 * Serves a fetch-style handler over real HTTP on loopback, so a client that does its own I/O
 * (another process, `curl`, the CLI) can use the simulator. An error `Response` (from
 * `Response.error()`) becomes a dropped connection.
 */
export async function serveOnLoopback(handle: (request: Request) => Promise<Response>, options: ListenOptions = {}): Promise<RunningServer> {
  const server = createServer((req, res) => {
    void answer(handle, req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: String(error), type: 'server_error', param: null, code: null } }));
    });
  });
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    endpoint: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/**
 * The request body as a web stream. Cancelling it (a body refused before it was read, e.g. over the
 * size cap) drains the rest to nowhere instead of destroying the socket, so the client still gets
 * the answer and nothing is collected.
 */
function bodyOf(req: IncomingMessage): ReadableStream<Uint8Array> {
  let open = true;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        req.on('data', (chunk: Buffer) => {
          if (!open) return;
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) req.pause();
        });
        req.once('end', () => {
          if (open) controller.close();
          open = false;
        });
        req.once('error', (error) => {
          if (open) controller.error(error);
          open = false;
        });
        req.pause();
      },
      pull() {
        req.resume();
      },
      cancel() {
        open = false;
        req.resume();
      },
    },
    { highWaterMark: 64 * 1024, size: (chunk) => chunk.byteLength },
  );
}

async function answer(handle: (request: Request) => Promise<Response>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const request = new Request(`http://${req.headers.host ?? '127.0.0.1'}${req.url ?? '/'}`, {
    method: req.method,
    headers,
    body: hasBody ? bodyOf(req) : undefined,
    duplex: 'half',
  } as RequestInit);
  const response = await handle(request);
  if (response.type === 'error') {
    req.socket.destroy();
    return;
  }
  // A body the handler did not read (refused early) is drained, not left to stall the client.
  if (hasBody && !req.complete) req.resume();
  res.writeHead(response.status, Object.fromEntries(response.headers));
  // Settles when the last chunk written has been handed to the socket.
  let written: Promise<void> = Promise.resolve();
  if (response.body) {
    const reader = response.body.getReader();
    res.on('close', () => {
      if (!res.writableFinished) void reader.cancel().catch(() => {});
    });
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        let accepted = true;
        written = new Promise<void>((resolve) => (accepted = res.write(value, () => resolve())));
        if (!accepted) await once(res, 'drain');
        if (res.destroyed) return;
      }
    } catch {
      await dropConnection(res, written); // the body failed midway (a cut stream)
      return;
    }
  }
  if (dropAfterBody.has(response)) await dropConnection(res, written);
  else res.end();
}

/**
 * Drops the connection of an answer that has begun: the client gets the status, the headers and
 * what was written (`written` settles when the last chunk reached the socket), then the connection
 * closes before the answer's end, as when a proxy or the network cuts an answer.
 */
async function dropConnection(res: ServerResponse, written: Promise<void>): Promise<void> {
  if (!res.headersSent) res.flushHeaders();
  await written;
  await new Promise((resolve) => setImmediate(resolve));
  res.destroy();
}
