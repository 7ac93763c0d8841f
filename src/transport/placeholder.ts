/**
 * The container a `code_interpreter` tool names to mean "the session's container" in a request
 * sent through `session.fetch` (`{ type: "auto" }` means the same). The framework entries use the
 * session-specific form, `code-interpreter-session:<session id>`, which only that session's fetch
 * accepts.
 */
export const SESSION_CONTAINER = 'code-interpreter-session';

/** The placeholder that binds a tool to one session: only that session's `fetch` accepts it. */
export function sessionContainer(session: { readonly id: string }): string {
  return `${SESSION_CONTAINER}:${session.id}`;
}
