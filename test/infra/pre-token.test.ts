import type { PreTokenGenerationV2TriggerEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { claimsFromGroups, handler } from '../../functions/pre-token.js';

function triggerEvent(groups: string[]): PreTokenGenerationV2TriggerEvent {
  return {
    version: '2',
    triggerSource: 'TokenGeneration_Authentication',
    region: 'eu-west-1',
    userPoolId: 'eu-west-1_pool',
    userName: 'someone',
    callerContext: { awsSdkVersion: 'x', clientId: 'client' },
    request: { userAttributes: { sub: 'staff-1' }, groupConfiguration: { groupsToOverride: groups } },
    response: { claimsAndScopeOverrideDetails: {} },
  } as PreTokenGenerationV2TriggerEvent;
}

describe('pre-token-generation trigger', () => {
  it('takes tenant_id and role from one tenant group and one role group', () => {
    // Act
    const decision = claimsFromGroups(['tenant:acme', 'role:staff', 'newsletter']);

    // Assess
    expect(decision.claims).toEqual({ tenant_id: 'acme', role: 'staff' });
  });

  it('puts the claims into the access token and the id token', async () => {
    // Act
    const result = await handler(triggerEvent(['role:admin', 'tenant:acme']));

    // Assess
    expect(result.response.claimsAndScopeOverrideDetails).toEqual({
      accessTokenGeneration: { claimsToAddOrOverride: { tenant_id: 'acme', role: 'admin' } },
      idTokenGeneration: { claimsToAddOrOverride: { tenant_id: 'acme', role: 'admin' } },
    });
  });

  it.each([
    ['no tenant group', ['role:admin']],
    ['no role group', ['tenant:acme']],
    ['several tenants', ['tenant:acme', 'tenant:other', 'role:admin']],
    ['several roles', ['tenant:acme', 'role:admin', 'role:staff']],
    ['an unknown role', ['tenant:acme', 'role:owner']],
    ['a tenant id the API would refuse', ['tenant:acme#1', 'role:admin']],
    ['no groups at all', []],
  ])('adds no claim for %s, so the API answers 401', async (_, groups) => {
    // Act
    const result = await handler(triggerEvent(groups));

    // Assess
    expect(claimsFromGroups(groups).claims).toBeUndefined();
    expect(result.response.claimsAndScopeOverrideDetails).toEqual({});
  });
});
