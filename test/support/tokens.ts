import { signLocalToken } from '../../infra/local/jwt.js';

export type Role = 'admin' | 'staff';

/** A token the local stack accepts (HS256, issuer `siyu-local`, audience `siyu`). */
export function token(
  tenant: string,
  role: Role = 'admin',
  sub = `${role}-1`,
  options: { ttlSeconds?: number; secret?: string; issuer?: string; audience?: string } = {},
): Promise<string> {
  return signLocalToken({ tenant, role, sub, ...options });
}

export const adminToken = (tenant: string, sub = 'admin-1') => token(tenant, 'admin', sub);
export const staffToken = (tenant: string, sub = 'staff-1') => token(tenant, 'staff', sub);

/** An unsigned `alg: none` token with otherwise valid claims: the stack must refuse it. */
export function unsignedToken(tenant: string, role: Role = 'admin', sub = `${role}-1`): string {
  const now = Math.floor(Date.now() / 1000);
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({
    tenant_id: tenant,
    role,
    sub,
    iss: 'siyu-local',
    aud: 'siyu',
    iat: now,
    exp: now + 3600,
  })}.`;
}
