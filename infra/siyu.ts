import { Stack, Tags } from 'aws-cdk-lib';
import type { Construct, Node } from 'constructs';
import { type AuthConfig, Stateful } from './constructs/stateful.js';
import { Stateless } from './constructs/stateless.js';
import { type AppDeclaration, siyuDeclaration } from './declaration.js';

export interface SiyuOptions {
  readonly auth: AuthConfig;
  /** @default the app declaration (`shared/app/declaration.ts`) */
  readonly declaration?: AppDeclaration;
}

/**
 * One stack, so `npx cdk deploy` deploys everything: the stateful part (table, bus, user pool —
 * termination protection on, data retained) apart from the stateless part (functions, triggers,
 * HTTP API), which receives the resources it uses as typed props.
 */
export function createSiyu(scope: Construct, options: SiyuOptions) {
  const stack = new Stack(scope, 'Siyu', {
    description: 'siyu: private-domain customer operations',
    terminationProtection: true,
  });
  const stateful = new Stateful(stack, 'Stateful', { auth: options.auth });
  const stateless = new Stateless(stack, 'Stateless', {
    declaration: options.declaration ?? siyuDeclaration,
    table: stateful.table,
    bus: stateful.bus,
    jwt: stateful.jwt,
  });
  Tags.of(scope).add('app', 'siyu');
  return { stack, stateful, stateless };
}

/**
 * `-c jwtIssuer=https://issuer -c jwtAudience=aud1,aud2` selects an external OIDC provider: the
 * issuer exactly as its tokens' `iss` (trailing slash included), and tokens that carry `tenant_id`
 * and `role` from sources users cannot edit. Without them the stack creates a Cognito user pool.
 */
export function authFromContext(node: Node): AuthConfig {
  const issuer = node.tryGetContext('jwtIssuer') as string | undefined;
  const audience = node.tryGetContext('jwtAudience') as string | undefined;
  if (issuer === undefined && audience === undefined) return { kind: 'cognito' };
  if (!issuer || !audience) throw new Error('Give both jwtIssuer and jwtAudience, or neither (Cognito).');
  if (!/^https:\/\/[^\s/]+/.test(issuer)) throw new Error(`jwtIssuer must be an https URL, got "${issuer}".`);
  const audiences = String(audience)
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  if (audiences.length === 0) throw new Error('jwtAudience names no audience.');
  return { kind: 'oidc', issuer, audience: audiences };
}
