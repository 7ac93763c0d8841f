import type { z } from 'zod';
import { InvalidOptionsError } from './errors.js';

/** Turning zod's verdicts on options into `InvalidOptionsError`s (shared by every options schema). */

type Issue = z.core.$ZodIssue;

/**
 * Zod issues as `InvalidOptionsError` issues: the option path and what was expected. For a
 * union (`false | { ... }`), the branch that got furthest says what is wrong, rather than zod's
 * bare "Invalid input".
 */
export function toIssues(error: { issues: readonly Issue[] }, prefix: PropertyKey[] = []): Array<{ path: string; message: string }> {
  return error.issues.flatMap((issue) => {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const depth = (branch: readonly Issue[]) => Math.max(...branch.map((i) => i.path.length + (i.code === 'invalid_type' && i.path.length === 0 ? -1 : 0)));
      const best = [...issue.errors].sort((a, b) => depth(b) - depth(a))[0]!;
      return toIssues({ issues: best }, path);
    }
    return [{
      path: path.map(String).join('.'),
      message: issue.code === 'unrecognized_keys' ? `unknown option${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}` : issue.message,
    }];
  });
}

/** Parses `value`, or throws an `InvalidOptionsError` listing every problem once (a value can fail several checks with one message). */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const seen = new Set<string>();
  const issues = toIssues(parsed.error).filter((issue) => {
    const id = `${issue.path}\0${issue.message}`;
    return !seen.has(id) && Boolean(seen.add(id));
  });
  throw new InvalidOptionsError(where, issues);
}


/**
 * Whether `text` is base64 (standard or URL-safe alphabet, whitespace ignored, up to two `=` of
 * padding): the one check for every base64 value a caller passes (`file_data`, a skill's `zip`).
 */
export function isBase64(text: string): boolean {
  return /^[A-Za-z0-9+/_-]*={0,2}$/.test(text.replace(/\s+/g, ''));
}
