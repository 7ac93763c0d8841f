/**
 * Histories that name a dead container, and how to make them acceptable again.
 *
 * A Responses request can carry the past of a conversation three ways: explicit items
 * (`code_interpreter_call` with its `container_id`, as OpenAI Agents JS replays `result.history`),
 * `item_reference`s to stored items (how the Vercel AI SDK replays a conversation), and a
 * `previous_response_id` chain. Once the container those code calls ran in has expired, the API
 * refuses all three (`400 Expected container_id: … to reference an active container`). The
 * conversation itself is still good: only the code calls are stale. {@link rewriteHistory} drops
 * them (and the reasoning item that led to each), expands a chain the session has seen into
 * explicit items, and adds one note telling the model its files were restored and its Python state
 * reset. The same function serves `session.run()` and `session.fetch`.
 */

/** What the session remembers about an output item it has seen. */
export interface KnownItem {
  type: string;
  /** For `code_interpreter_call`: the container it ran in. */
  containerId?: string;
}

interface KnownResponse {
  previousResponseId: string | undefined;
  /** The items of this turn, in order: its explicit input, then its output. */
  items: unknown[];
}

/** How many responses and items the ledger keeps (oldest forgotten first). */
export const LEDGER_LIMITS = { responses: 500, items: 20_000 } as const;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function remember<K, V>(map: Map<K, V>, key: K, value: V, limit: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > limit) map.delete(map.keys().next().value as K);
}

/**
 * The responses and items a session has seen (its own runs and everything through
 * `session.fetch`), so that `item_reference`s and `previous_response_id` chains can be resolved
 * without asking the API. Bounded: see {@link LEDGER_LIMITS}.
 */
export class HistoryLedger {
  private readonly items = new Map<string, KnownItem>();
  private readonly responses = new Map<string, KnownResponse>();
  private readonly dead = new Set<string>();

  /** Records a finished response: the input sent for it (without its chain) and its output. */
  noteResponse(response: unknown, sentInput: unknown, containerId: string | undefined): void {
    if (!isObject(response) || typeof response.id !== 'string') return;
    const output = Array.isArray(response.output) ? response.output : [];
    for (const item of output) {
      if (!isObject(item) || typeof item.id !== 'string' || typeof item.type !== 'string') continue;
      const ranIn = typeof item.container_id === 'string' ? item.container_id : containerId;
      remember(this.items, item.id, item.type === 'code_interpreter_call' && ranIn ? { type: item.type, containerId: ranIn } : { type: item.type }, LEDGER_LIMITS.items);
    }
    const input = typeof sentInput === 'string' ? [{ role: 'user', content: sentInput }] : Array.isArray(sentInput) ? sentInput : [];
    const previous = typeof response.previous_response_id === 'string' ? response.previous_response_id : undefined;
    remember(this.responses, response.id, { previousResponseId: previous, items: [...input, ...output] }, LEDGER_LIMITS.responses);
  }

  /** A container the session knows is gone (expired, replaced). */
  noteDead(containerId: string): void {
    this.dead.add(containerId);
  }

  isDead(containerId: string): boolean {
    return this.dead.has(containerId);
  }

  item(id: string): KnownItem | undefined {
    return this.items.get(id);
  }

  /**
   * Every item of the chain ending at `responseId`, oldest first, as explicit input; undefined
   * when a link of the chain is unknown to this session (then it cannot be rebuilt here).
   */
  chain(responseId: string): unknown[] | undefined {
    const turns: unknown[][] = [];
    const seen = new Set<string>();
    for (let id: string | undefined = responseId; id !== undefined; ) {
      const known = this.responses.get(id);
      if (!known || seen.has(id)) return undefined;
      seen.add(id);
      turns.unshift(known.items);
      id = known.previousResponseId;
    }
    // Output items are valid input as they are (the API's documented way to carry context by hand).
    return turns.flat();
  }
}

export interface RewriteOptions {
  /** The container the request will run in: code calls that ran elsewhere are stale. */
  liveContainerId: string;
  ledger: HistoryLedger;
  /**
   * `'known-dead'`: drop only what names a container the session knows is gone (before sending).
   * `'not-live'`: drop everything that names another container, and references to code calls
   * the session never saw (after the API refused the history).
   */
  mode: 'known-dead' | 'not-live';
}

export interface Rewritten {
  items: unknown[];
  /** How many items were dropped. */
  dropped: number;
}

const CODE_CALL_ID = /^ci_/;
const REASONING_ID = /^rs_/;

/**
 * Drops the `code_interpreter_call` items and `item_reference`s to code calls that name a stale
 * container, and the reasoning item that directly precedes each (the API refuses a reasoning item
 * without the item it led to). Everything else is kept, in order.
 */
export function rewriteHistory(items: readonly unknown[], options: RewriteOptions): Rewritten {
  const { ledger, liveContainerId, mode } = options;
  const stale = (containerId: string | undefined): boolean =>
    containerId !== undefined && containerId !== liveContainerId && (mode === 'not-live' || ledger.isDead(containerId));
  const isStaleCodeCall = (item: unknown): boolean => {
    if (!isObject(item)) return false;
    if (item.type === 'code_interpreter_call') return stale(typeof item.container_id === 'string' ? item.container_id : undefined);
    if (item.type !== 'item_reference' || typeof item.id !== 'string') return false;
    const known = ledger.item(item.id);
    if (known) return known.type === 'code_interpreter_call' && stale(known.containerId);
    return mode === 'not-live' && CODE_CALL_ID.test(item.id);
  };
  const isReasoning = (item: unknown): boolean => {
    if (!isObject(item)) return false;
    if (item.type === 'reasoning') return true;
    if (item.type !== 'item_reference' || typeof item.id !== 'string') return false;
    return (ledger.item(item.id)?.type ?? (REASONING_ID.test(item.id) ? 'reasoning' : '')) === 'reasoning';
  };
  const keep = items.map((item) => !isStaleCodeCall(item));
  for (let i = 1; i < items.length; i++) {
    if (!keep[i] && keep[i - 1] && isReasoning(items[i - 1])) keep[i - 1] = false;
  }
  const kept = items.filter((_, i) => keep[i]);
  return { items: kept, dropped: items.length - kept.length };
}

/** Inserts `note` (a developer message) before the last user message, or at the end. */
export function withNote(items: readonly unknown[], note: string): unknown[] {
  const message = { role: 'developer', content: note };
  const lastUser = items.findLastIndex((item) => isObject(item) && item.role === 'user' && (item.type === undefined || item.type === 'message'));
  if (lastUser === -1) return [...items, message];
  return [...items.slice(0, lastUser), message, ...items.slice(lastUser)];
}
