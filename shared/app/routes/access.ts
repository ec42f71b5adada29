import type { FunctionName } from '../declaration.js';
import type { Role, RouteDecl } from '../types.js';

/** The routes one function serves, by route key (`'GET /v1/settings'`). */
export type RoutesOf<F extends FunctionName> = Record<string, RouteDecl<F>>;

/** A route behind the JWT authorizer, open to these roles. */
export const jwt = (roles: readonly Role[]) => ({ auth: 'jwt' as const, roles });
/** A route without authentication. */
export const open = { auth: 'public' as const, roles: [] as const };
