/**
 * The route table: each route is plain data — a method, an OpenAPI-style path template
 * (`/containers/{container_id}`) and a handler — matched against the request path.
 */
import type { SimState } from './state.js';
import type { SimRequestRecord } from './types.js';

/** What a handler gets for one request. */
export interface RouteContext {
  state: SimState;
  request: Request;
  record: SimRequestRecord;
  /** Path parameters named as in the template, URL-decoded. */
  params: Record<string, string>;
  query: Record<string, string>;
  /** Parsed JSON body, if the request had one. */
  json: unknown;
  /** Parsed multipart body, if the request had one. */
  form: FormData | undefined;
  /** Set by an injected fault: drop a streamed answer after this many events. */
  cutStreamAfterEvents: number | undefined;
}

export interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path template below `/v1`, as in the OpenAPI document. */
  path: string;
  handle: (ctx: RouteContext) => Response | Promise<Response>;
}

/** Finds the route for a method and path, with the path parameters it names. */
export function matchRoute<R extends { method: string; path: string }>(
  routes: readonly R[],
  method: string,
  path: string,
): { route: R; params: Record<string, string> } | undefined {
  const segments = path.split('/').filter(Boolean);
  for (const route of routes) {
    if (route.method !== method) continue;
    const template = route.path.split('/').filter(Boolean);
    if (template.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const ok = template.every((part, i) => {
      if (part.startsWith('{') && part.endsWith('}')) {
        params[part.slice(1, -1)] = decodeURIComponent(segments[i]!);
        return true;
      }
      return part === segments[i];
    });
    if (ok) return { route, params };
  }
  return undefined;
}
