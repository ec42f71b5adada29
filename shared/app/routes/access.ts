import type { FunctionName } from '../declaration.js';
import type { Role, RouteDecl } from '../types.js';

/** A route as its function's table writes it: the table stamps `fn`. */
export type RouteOf = Omit<RouteDecl, 'fn'>;

/**
 * The routes one function serves, by route key (`'GET /v1/settings'`): each route gets
 * `fn: <function>` (first, as if written there), so a table names its function once.
 */
export function routesOf<F extends FunctionName, const R extends Readonly<Record<string, RouteOf>>>(
  fn: F,
  routes: R,
): { readonly [K in keyof R]: { readonly fn: F } & R[K] } {
  return Object.fromEntries(Object.entries(routes).map(([key, route]) => [key, { fn, ...route }])) as {
    readonly [K in keyof R]: { readonly fn: F } & R[K];
  };
}

/** A route behind the JWT authorizer, open to these roles. */
export const jwt = (roles: readonly Role[]) => ({ auth: 'jwt' as const, roles });
/** A route without authentication. */
export const open = { auth: 'public' as const, roles: [] as const };
