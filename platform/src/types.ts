// Compile-time checks between types that must stay equal, e.g. a GraphQL enum and the domain's state.

/** `true` when A and B are the same type, else `false`: `const ok: Same<A, B> = true` fails to compile when they drift. */
export type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
