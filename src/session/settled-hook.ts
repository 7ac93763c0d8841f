/**
 * The key of a session's internal `onCallsSettled(listener)` hook: `listener` runs each time the
 * session's last call in flight ends. Used by `SessionPool` to look again for an idle session to
 * evict; not exported from the package.
 */
export const onCallsSettled: unique symbol = Symbol('code-interpreter-session.onCallsSettled');
