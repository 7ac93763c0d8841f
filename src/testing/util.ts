/** Small helpers the simulator's route modules share. */
import type { SimulatedContent } from './types.js';

export const seconds = (ms: number) => Math.floor(ms / 1000);

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

const CONTENT_TYPES: Record<string, string> = {
  csv: 'text/csv',
  txt: 'text/plain',
  json: 'application/json',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  svg: 'image/svg+xml',
  pdf: 'application/pdf',
  html: 'text/html',
};

export function contentTypeOf(name: string): string {
  return CONTENT_TYPES[name.split('.').pop()?.toLowerCase() ?? ''] ?? 'application/octet-stream';
}

/** A file's bytes as a streamed body with its content type and length. */
export function contentResponse(content: SimulatedContent, name: string): Response {
  return new Response(content.open(), {
    headers: { 'content-type': contentTypeOf(name), 'content-length': String(content.size) },
  });
}

/** A string matches that path and everything below it; a RegExp is tested on the path. */
export function matchesPath(pattern: string | RegExp, path: string): boolean {
  if (pattern instanceof RegExp) return pattern.test(path);
  const normalized = pattern.replace(/^\/v1(?=\/)/, '');
  return path === normalized || path.startsWith(normalized.endsWith('/') ? normalized : `${normalized}/`);
}
