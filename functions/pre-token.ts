import type { PreTokenGenerationV2TriggerEvent } from 'aws-lambda';
import type { Role } from '../shared/app/types.js';
import { logger } from '../shared/logger.js';

/** The claims the API reads (`shared/http/auth.ts`): the tenant and the role, never user-writable. */
export interface TenantClaims {
  tenant_id: string;
  role: Role;
}

export const TENANT_GROUP_PREFIX = 'tenant:';
export const ROLE_GROUP_PREFIX = 'role:';
/** The tenant ids the API accepts (same shape as in `shared/http/auth.ts`). */
const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ROLES: readonly Role[] = ['admin', 'staff'];

export type ClaimsDecision = { claims: TenantClaims } | { claims: undefined; reason: string };

/**
 * The claims for a user, from their Cognito groups only (`tenant:<id>`, `role:admin|staff`):
 * group membership is set by an administrator, unlike attributes a user may edit.
 *
 * Primary course:
 *  1. Exactly one `tenant:` group with a valid tenant id, and exactly one known `role:` group.
 *  2. Otherwise no claims at all, so the API refuses the token (401) instead of guessing.
 */
export function claimsFromGroups(groups: readonly string[]): ClaimsDecision {
  const tenants = [...new Set(groups.filter((g) => g.startsWith(TENANT_GROUP_PREFIX)))].map((g) =>
    g.slice(TENANT_GROUP_PREFIX.length),
  );
  const roles = [...new Set(groups.filter((g) => g.startsWith(ROLE_GROUP_PREFIX)))].map((g) =>
    g.slice(ROLE_GROUP_PREFIX.length),
  );
  if (tenants.length !== 1) {
    return { claims: undefined, reason: tenants.length ? 'several tenant groups' : 'no tenant group' };
  }
  if (roles.length !== 1)
    return { claims: undefined, reason: roles.length ? 'several role groups' : 'no role group' };
  const [tenantId] = tenants as [string];
  const [role] = roles as [string];
  if (!TENANT_ID.test(tenantId)) return { claims: undefined, reason: 'invalid tenant id' };
  if (!ROLES.includes(role as Role)) return { claims: undefined, reason: 'unknown role' };
  return { claims: { tenant_id: tenantId, role: role as Role } };
}

/** Cognito pre-token-generation trigger (event V2_0, so access tokens can be customised). */
export const handler = async (event: PreTokenGenerationV2TriggerEvent) => {
  const decision = claimsFromGroups(event.request.groupConfiguration.groupsToOverride ?? []);
  if (!decision.claims) {
    // No user name or e-mail here: the reason is enough to find the group mistake.
    logger.warn('token without tenant claims', { reason: decision.reason, trigger: event.triggerSource });
    return event;
  }
  const claimsToAddOrOverride = { ...decision.claims };
  event.response.claimsAndScopeOverrideDetails = {
    accessTokenGeneration: { claimsToAddOrOverride },
    idTokenGeneration: { claimsToAddOrOverride },
  };
  return event;
};
