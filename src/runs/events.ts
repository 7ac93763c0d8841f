import { CodeInterpreterCallSchema, toCitation, toCodeCall, type CodeCall, type FileCitation, type RunResult } from './result.js';

/** What `session.stream()` yields. The last event is always `result`. */
export type RunEvent =
  | { type: 'text.delta'; itemId: string; outputIndex: number; delta: string }
  | { type: 'code.delta'; itemId: string; outputIndex: number; delta: string }
  | { type: 'code.done'; itemId: string; outputIndex: number; code: string }
  /** A code call finished; `call.logs` holds what it printed. */
  | { type: 'call.completed'; call: CodeCall }
  | { type: 'citation'; citation: FileCitation }
  | { type: 'result'; result: RunResult };

interface RawEvent {
  type: string;
  item_id?: string;
  output_index?: number;
  delta?: string;
  code?: string;
  item?: unknown;
  annotation?: unknown;
}

/**
 * Maps one Responses stream event to a {@link RunEvent}; events the caller need not see give
 * undefined. `containerId` is the run's container (for code calls that do not name theirs).
 */
export function toRunEvent(event: RawEvent, containerId: string): RunEvent | undefined {
  const ids = { itemId: event.item_id ?? '', outputIndex: event.output_index ?? 0 };
  switch (event.type) {
    case 'response.output_text.delta':
      return { type: 'text.delta', ...ids, delta: event.delta ?? '' };
    case 'response.code_interpreter_call_code.delta':
      return { type: 'code.delta', ...ids, delta: event.delta ?? '' };
    case 'response.code_interpreter_call_code.done':
      return { type: 'code.done', ...ids, code: event.code ?? '' };
    case 'response.output_item.done': {
      if ((event.item as { type?: unknown } | undefined)?.type !== 'code_interpreter_call') return undefined;
      const call = CodeInterpreterCallSchema.safeParse(event.item);
      return call.success ? { type: 'call.completed', call: toCodeCall(call.data, containerId) } : undefined;
    }
    case 'response.output_text.annotation.added': {
      const citation = toCitation(event.annotation);
      return citation ? { type: 'citation', citation } : undefined;
    }
    default:
      return undefined;
  }
}
