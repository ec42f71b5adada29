import { type JWTPayload, jwtVerify, SignJWT } from 'jose';

/** What the local server accepts in place of the API Gateway JWT authorizer. */
export const LOCAL_ISSUER = 'siyu-local';
export const LOCAL_AUDIENCE = 'siyu';
export const DEFAULT_JWT_SECRET = 'siyu-local-dev-secret';

export function jwtSecret(env: NodeJS.ProcessEnv = process.env): string {
  return env.JWT_SECRET || DEFAULT_JWT_SECRET;
}

const key = (secret: string) => new TextEncoder().encode(secret);

export interface LocalTokenInput {
  tenant: string;
  role: string;
  sub: string;
  /** Lifetime in seconds (default 3600). */
  ttlSeconds?: number;
  secret?: string;
  issuer?: string;
  audience?: string;
  /** Extra claims (tests use them to build odd tokens). */
  claims?: Record<string, unknown>;
}

/** An HS256 token the local server accepts (claims `tenant_id`, `role`, `sub`). */
export async function signLocalToken(input: LocalTokenInput): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ ...input.claims, tenant_id: input.tenant, role: input.role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(input.sub)
    .setIssuer(input.issuer ?? LOCAL_ISSUER)
    .setAudience(input.audience ?? LOCAL_AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + (input.ttlSeconds ?? 3600))
    .sign(key(input.secret ?? jwtSecret()));
}

/**
 * Verifies a bearer token as the API Gateway JWT authorizer would: signature (HS256 only, so
 * `alg: none` and key confusion are refused), issuer, audience, `exp` and `nbf`. Throws otherwise.
 */
export async function verifyLocalToken(token: string, secret: string = jwtSecret()): Promise<JWTPayload> {
  const { payload } = await jwtVerify(token, key(secret), {
    algorithms: ['HS256'],
    issuer: LOCAL_ISSUER,
    audience: LOCAL_AUDIENCE,
    requiredClaims: ['exp'],
  });
  return payload;
}

/** Reads `Bearer <token>` from an Authorization header value. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+([A-Za-z0-9_.~+/=-]+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/**
 * The claims as API Gateway passes them to the function: every value a string (numbers as
 * digits, arrays as `[a b]`, objects as JSON).
 */
export function claimsForEvent(payload: JWTPayload): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(payload)) {
    if (value === undefined || value === null) continue;
    if (typeof value === 'string') out[name] = value;
    else if (Array.isArray(value)) out[name] = `[${value.map(String).join(' ')}]`;
    else if (typeof value === 'object') out[name] = JSON.stringify(value);
    else out[name] = String(value);
  }
  return out;
}
