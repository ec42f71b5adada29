import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routes } from '../../shared/app/declaration.js';
import type { RouteDecl } from '../../shared/app/types.js';
import { tenantSession } from '../support/api.js';
import { startTestStack, type TestStack } from '../support/local-stack.js';
import { pathFor, validBodies } from '../support/routes.js';

/**
 * Table-driven from the app declaration: every route is covered, so a new route fails here until
 * it says which id kind its path carries and what a valid body looks like.
 */
let stack: TestStack;
let owner: Awaited<ReturnType<typeof tenantSession>>;
let intruder: Awaited<ReturnType<typeof tenantSession>>;
const ids: Record<string, string> = {};

const bodies = validBodies(ids, { prefix: 'iso', heir: () => ids.staff! });

const entries = Object.entries(routes as Record<string, RouteDecl>).filter(([, r]) => r.auth === 'jwt');

const concretePath = (routeKey: string) =>
  pathFor(routeKey, (kind) => encodeURIComponent(ids[kind] ?? `missing-${kind}`));

beforeAll(async () => {
  stack = await startTestStack();
  owner = await tenantSession(stack, 'owner-co');
  intruder = await tenantSession(stack, 'intruder-co');
  await owner.staff('iso-staff');
  await owner.staff('iso-leaver');
  ids.staff = 'iso-staff';
  ids.account = (
    await owner.ok<{ id: string }>('POST', '/v1/accounts', {
      name: 'A',
      platform: 'wechat',
      operatorStaffId: 'iso-staff',
    })
  ).id;
  ids.contact = (
    await owner.ok<{ id: string }>('POST', '/v1/contacts', {
      name: 'Secret Person',
      channel: 'store',
      tags: ['secret-tag'],
      externalId: 'iso-1',
    })
  ).id;
  ids.tag = 'secret-tag';
  ids.shop = (await owner.ok<{ id: string }>('POST', '/v1/shops', { name: 'Shop', platform: 'generic' })).id;
  await owner.ok('POST', '/v1/orders/batch', {
    orders: [
      {
        id: 'iso-o1',
        total: '9.90',
        currency: 'CNY',
        paidAt: '2026-01-01T00:00:00Z',
        contact: { externalId: 'iso-1' },
      },
    ],
  });
  ids.order = (await owner.ok<{ items: { id: string }[] }>('GET', `/v1/contacts/${ids.contact}/orders`))
    .items[0]!.id;
  ids.job = (
    await owner.ok<{ jobId: string }>('POST', '/v1/staff/iso-leaver/handover', { toStaffId: 'iso-staff' })
  ).jobId;
  if (routes['POST /v1/posts' as keyof typeof routes]) {
    ids.post = (await owner.ok<{ id: string }>('POST', '/v1/posts', bodies['POST /v1/posts']!())).id;
  }
});

afterAll(async () => {
  await stack?.stop();
});

describe('tenant isolation', () => {
  const withIds = entries.filter(([key]) => key.includes('{'));
  it.each(withIds.map(([key]) => [key]))("%s answers 404 to another tenant's admin", async (routeKey) => {
    const method = routeKey.split(' ')[0]!;
    const body = method === 'GET' || method === 'DELETE' ? undefined : bodies[routeKey]?.();
    if (method !== 'GET' && method !== 'DELETE') expect(body, `add a body for ${routeKey}`).toBeDefined();

    const res = await intruder.call(method, concretePath(routeKey), body);

    expect(res.status, res.text).toBe(404);
    expect(res.text).not.toContain('Secret Person');
  });

  const lists = entries.filter(([key]) => key.startsWith('GET') && !key.includes('{'));
  it.each(lists.map(([key]) => [key]))("%s shows nothing of another tenant's", async (routeKey) => {
    const res = await intruder.call('GET', routeKey.split(' ')[1]!);

    expect(res.status).toBeLessThan(500);
    for (const value of Object.values(ids)) expect(res.text).not.toContain(value);
    expect(res.text).not.toContain('Secret Person');
  });
});

describe('roles', () => {
  const adminOnly = entries.filter(([, route]) => !route.roles.includes('staff'));
  it.each(adminOnly.map(([key]) => [key]))('%s is 403 for staff', async (routeKey) => {
    const staffToken = await owner.staff(`role-${Math.random().toString(36).slice(2, 8)}`);
    const method = routeKey.split(' ')[0]!;
    const body = method === 'GET' || method === 'DELETE' ? undefined : (bodies[routeKey]?.() ?? {});

    const res = await owner.call(method, concretePath(routeKey), body, staffToken);

    expect(res.status).toBe(403);
  });

  it('gives every jwt route a role list that names admin', () => {
    for (const [key, route] of entries) expect(route.roles, key).toContain('admin');
  });
});
