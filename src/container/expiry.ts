import { httpErrorOf } from '../retry/error-shape.js';

/** How a failed call involved its container. */
export type ExpirySignal =
  /** The container is gone: expired, deleted or unknown. */
  | 'expired'
  /** The response chain replays a code call of a dead container (`Expected container_id: …`). */
  | 'stale-chain'
  /** A 404 on a container-file call: the file or the whole container is gone; ask the container. */
  | 'ask-container';

/** What kind of endpoint a request went to, which decides what a 404 means. */
export type CallKind = 'container' | 'container-file' | 'response' | 'other';

const EXPIRED_MESSAGE = /container is expired|container .* (has )?expired/i;
const CONTAINER_NOT_FOUND = /\bcontainer not found\b/i;
const STALE_CHAIN_MESSAGE = /^(400 )?Expected container_id/i;

/**
 * Reads the API's expiry signals (FACTS.md): a 400 `Container is expired.`, a 400 `Expected
 * container_id: …` for a chain of a dead container, and a 404 for the container on container
 * calls. A 404 on a container-file call is ambiguous and needs a look at the container.
 */
export function expirySignal(error: unknown, kind: CallKind, containerId: string): ExpirySignal | undefined {
  const http = httpErrorOf(error); // by shape, not instanceof: the client may come from another copy of openai
  if (!http) return undefined;
  const { status, message } = http;
  if (status === 400 && STALE_CHAIN_MESSAGE.test(message)) return 'stale-chain';
  if ((status === 400 || status === 404) && EXPIRED_MESSAGE.test(message)) return 'expired';
  if (status === 404) {
    if (kind === 'container') return 'expired';
    if (kind === 'container-file') return 'ask-container';
    if (kind === 'response' && message.includes(containerId)) return 'expired';
    // Azure OpenAI answers `404 Container not found` (no id) for a container it does not hold,
    // e.g. one of another region: look at the container before calling it gone.
    if (kind === 'response' && CONTAINER_NOT_FOUND.test(message)) return 'ask-container';
  }
  return undefined;
}
