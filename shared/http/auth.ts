import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Role } from '../app/types.js';
import { UnauthorizedError } from '../errors.js';

/** Who is calling: the tenant comes only from the token, never from the request. */
export interface Caller {
  tenantId: string;
  role: Role;
  /** The token's `sub`: the staff id. */
  staffId: string;
}

const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const SUBJECT = /^[A-Za-z0-9][A-Za-z0-9_.:@|-]{0,127}$/;

/**
 * Reads the claims the JWT authorizer verified (API Gateway on AWS, the local server locally)
 * and checks their shape. A token without a usable tenant, role or subject is a 401.
 */
export function callerFromEvent(event: APIGatewayProxyEventV2): Caller {
  const claims = (event.requestContext as { authorizer?: { jwt?: { claims?: Record<string, unknown> } } })
    .authorizer?.jwt?.claims;
  if (!claims) throw new UnauthorizedError('A bearer token is required.');
  const tenantId = claims.tenant_id;
  const role = claims.role;
  const sub = claims.sub;
  if (typeof tenantId !== 'string' || !TENANT_ID.test(tenantId)) {
    throw new UnauthorizedError('The token carries no valid tenant_id.');
  }
  if (role !== 'admin' && role !== 'staff') throw new UnauthorizedError('The token carries no valid role.');
  if (typeof sub !== 'string' || !SUBJECT.test(sub))
    throw new UnauthorizedError('The token carries no valid sub.');
  return { tenantId, role, staffId: sub };
}
