import { isNotFound } from './retry/error-shape.js';

/**
 * What containers and Files API files left behind have in common (src/container/orphans.ts,
 * src/files/orphans.ts): a look-up after a lost create compares the server's `created_at` (whole
 * seconds) with the client's clock, and a deletion that fails is remembered so `close()` tries it
 * again and reports it.
 */

/** How far the server's `created_at` (whole seconds) may lag the client's clock. */
export const CLOCK_SLACK_SECONDS = 5;

/**
 * Deletes `id` with `remove`; one already gone (404) counts as deleted. A failure is remembered in
 * `undeleted` (for `close()` to try again and report) and returned; a success forgets it.
 */
export async function deleteRemembering(undeleted: Set<string>, id: string, remove: () => Promise<unknown>): Promise<unknown> {
  try {
    await remove();
  } catch (error) {
    if (!isNotFound(error)) {
      undeleted.add(id);
      return error;
    }
  }
  undeleted.delete(id);
  return undefined;
}
