import type OpenAI from 'openai';
import type { StateHolder } from '../store/state-holder.js';
import type { TranscriptEntry } from '../store/types.js';

export type RunInput = string | OpenAI.Responses.ResponseInputItem[];

/** Most transcript entries kept for carrying a conversation into a new container. */
export const TRANSCRIPT_LIMIT = 100;

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((p) => (p && typeof p === 'object' && 'text' in p && typeof p.text === 'string' ? p.text : '')).join('');
}

/** The user text of a run's input, for the transcript. */
export function userText(input: RunInput): string {
  if (typeof input === 'string') return input;
  return input
    .filter((item) => 'role' in item && item.role === 'user')
    .map((item) => textOf((item as { content?: unknown }).content))
    .join('\n');
}

export function restoredNote(filenames: readonly string[]): string {
  return (
    'Note from the application: the code interpreter container was replaced because the previous one expired. ' +
    (filenames.length ? `These files were restored under /mnt/data: ${filenames.join(', ')}. ` : 'No files needed restoring. ') +
    'Python state (variables, imports, data loaded in memory) was reset: re-run any code whose results you still need.'
  );
}

/**
 * The session's conversation. Runs continue the response chain (`previous_response_id`) while it
 * ran in the current container. Once the container is replaced, that chain names a dead container
 * (the API would answer 400 `Expected container_id`), so the next run starts a new chain that
 * carries the plain-text transcript and a note that files were restored and Python state reset.
 */
export class Conversation {
  constructor(private readonly state: StateHolder) {}

  private get current() {
    return this.state.current.conversation;
  }

  /** The input and chain link for a run in `containerId`. */
  prepare(input: RunInput, containerId: string, newConversation: boolean): { input: RunInput; previousResponseId?: string; replayed: boolean } {
    const conversation = this.current;
    if (newConversation || conversation.transcript.length === 0) return { input, replayed: false };
    if (conversation.previousResponseId && conversation.chainContainerId === containerId) {
      return { input, previousResponseId: conversation.previousResponseId, replayed: false };
    }
    const items: OpenAI.Responses.ResponseInputItem[] = [
      { role: 'developer', content: restoredNote(this.state.current.files.map((f) => f.filename)) },
      ...conversation.transcript.map((entry): OpenAI.Responses.ResponseInputItem => ({ role: entry.role, content: entry.text })),
      ...(typeof input === 'string' ? [{ role: 'user' as const, content: input }] : input),
    ];
    return { input: items, replayed: true };
  }

  /** Records a finished run: one atomic change, so turns finished in other processes are kept too. */
  async record(input: RunInput, result: { responseId: string; containerId: string; text: string }, newConversation: boolean, signal?: AbortSignal): Promise<void> {
    const entries: TranscriptEntry[] = [
      { role: 'user', text: userText(input) },
      { role: 'assistant', text: result.text },
    ];
    await this.state.update(
      { type: 'recordTurn', entries, limit: TRANSCRIPT_LIMIT, reset: newConversation, previousResponseId: result.responseId, chainContainerId: result.containerId },
      signal,
    );
  }

  /** The API refused the chain (`Expected container_id`): the next run replays the transcript instead. */
  async markChainDead(containerId: string, signal?: AbortSignal): Promise<void> {
    await this.state.update({ type: 'clearChain', containerId }, signal);
  }
}
