import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routes } from '../../shared/app/declaration.js';
import type { RouteDecl } from '../../shared/app/types.js';
import { MAX_BODY_BYTES } from '../../shared/http/http-function.js';
import { tenantSession } from '../support/api.js';
import { startTestStack, type TestStack } from '../support/local-stack.js';
import { validBodies as bodiesFor, pathFor } from '../support/routes.js';
import { token, unsignedToken } from '../support/tokens.js';
import { body, deliver, fixture, signGeneric } from '../support/webhooks.js';

/**
 * The API under attack, through the local HTTP server: forged and stale tokens, privilege and
 * tenant escalation through request fields, mass assignment, and resource limits. The route lists
 * are generated from the declaration, so a new route is covered (or fails here until it has a
 * sample) without anyone remembering to add it.
 */
let stack: TestStack;
let owner: Awaited<ReturnType<typeof tenantSession>>;
let other: Awaited<ReturnType<typeof tenantSession>>;
const ids: Record<string, string> = {};
const SECRET_NAME = 'Guarded Person';
const SECRET_PHONE = '+8613800138123';

const declared = Object.entries(routes as Record<string, RouteDecl>);
const jwtRoutes = declared.filter(([, r]) => r.auth === 'jwt');
const bodyRoutes = declared.filter(([, r]) => r.body !== undefined);
const listRoutes = declared.filter(([, r]) => r.query !== undefined && 'limit' in r.query.shape);

const validBodies = bodiesFor(ids, { prefix: 'sec', heir: () => ids.staff2! });

/** Query a list route needs besides `limit`/`cursor`, and another filter its cursor must not serve. */
const listQueries: Record<string, { base: () => Record<string, string>; otherFilter?: () => string }> = {
  'GET /v1/staff': { base: () => ({}), otherFilter: () => '/v1/accounts?limit=1' },
  'GET /v1/accounts': { base: () => ({}), otherFilter: () => '/v1/staff?limit=1' },
  'GET /v1/contacts': { base: () => ({}), otherFilter: () => '/v1/contacts?limit=1&channel=store' },
  'GET /v1/shops': { base: () => ({}), otherFilter: () => `/v1/shops/${ids.shop}/deliveries?limit=1` },
  'GET /v1/shops/{id}/deliveries': {
    base: () => ({}),
    otherFilter: () => `/v1/shops/${ids.shop2}/deliveries?limit=1`,
  },
  'GET /v1/posts': {
    base: () => ({ accountId: ids.account! }),
    otherFilter: () => `/v1/posts?limit=1&accountId=${ids.account}&from=2025-12-01`,
  },
  'GET /v1/reminders': {
    base: () => ({}),
    otherFilter: () => `/v1/reminders?limit=1&since=2026-01-01T00:00:00Z`,
  },
};

const concretePath = (routeKey: string) =>
  pathFor(routeKey, (kind) => encodeURIComponent(ids[kind] ?? `missing-${kind}`));

const methodOf = (routeKey: string) => routeKey.split(' ')[0]!;

const scanItems = () => stack.scan();

/** The whole table, each item as canonical JSON, sorted: equal before and after = nothing written. */
/** The table once the stream consumers caught up (the funnel roll-ups follow the cells). */
async function scanTable(): Promise<string[]> {
  await stack.drain();
  return (await scanItems()).map((item) => JSON.stringify(item, Object.keys(item).sort())).sort();
}

/**
 * A token signed by hand with the local secret: valid claims of the owner's admin, changed by
 * `claims` (an `undefined` value drops the claim), under the given HMAC algorithm.
 */
function craftedToken(claims: Record<string, unknown> = {}, alg: 'HS256' | 'HS512' = 'HS256'): string {
  const now = Math.floor(Date.now() / 1000);
  const payload = Object.fromEntries(
    Object.entries({
      tenant_id: 'sec-co',
      role: 'admin',
      sub: 'admin-1',
      iss: 'siyu-local',
      aud: 'siyu',
      iat: now,
      exp: now + 600,
      ...claims,
    }).filter(([, v]) => v !== undefined),
  );
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signed = `${part({ alg, typ: 'JWT' })}.${part(payload)}`;
  const mac = createHmac(alg === 'HS256' ? 'sha256' : 'sha512', 'siyu-local-dev-secret').update(signed);
  return `${signed}.${mac.digest('base64url')}`;
}

beforeAll(async () => {
  stack = await startTestStack();
  owner = await tenantSession(stack, 'sec-co');
  other = await tenantSession(stack, 'sec-other');
  ids.staff = 'sec-staff';
  ids.staff2 = 'sec-heir';
  await owner.staff(ids.staff);
  await owner.staff(ids.staff2);
  await owner.staff('sec-leaver');
  for (const name of ['Phone 1', 'Phone 2']) {
    const account = await owner.ok<{ id: string }>('POST', '/v1/accounts', {
      name,
      platform: 'wechat',
      operatorStaffId: ids.staff,
    });
    ids.account ??= account.id;
  }
  ids.contact = (
    await owner.ok<{ id: string }>('POST', '/v1/contacts', {
      name: SECRET_NAME,
      phone: SECRET_PHONE,
      channel: 'store',
      tags: ['secret-tag'],
      externalId: 'sec-1',
    })
  ).id;
  await owner.ok('POST', '/v1/contacts', { name: 'Second Person', channel: 'public' });
  ids.tag = 'secret-tag';
  const shop = await owner.ok<{ id: string; secret: string }>('POST', '/v1/shops', {
    name: 'Shop',
    platform: 'generic',
  });
  ids.shop = shop.id;
  ids.shop2 = (
    await owner.ok<{ id: string }>('POST', '/v1/shops', { name: 'Shop 2', platform: 'generic' })
  ).id;
  for (const orderId of ['sec-o1', 'sec-o2']) {
    const order = fixture<{ order: Record<string, unknown> }>('generic-order-paid');
    order.order.id = orderId;
    order.order.contact = { externalId: 'sec-1' };
    const res = await deliver(stack, shop.id, signGeneric(body(order), shop.secret));
    expect(res.status, res.text).toBe(200);
  }
  ids.order = (await owner.ok<{ items: { id: string }[] }>('GET', `/v1/contacts/${ids.contact}/orders`))
    .items[0]!.id;
  ids.job = (
    await owner.ok<{ jobId: string }>('POST', '/v1/staff/sec-leaver/handover', { toStaffId: ids.staff })
  ).jobId;
  await owner.job(ids.job);
  for (const plannedAt of ['2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z']) {
    ids.post = (
      await owner.ok<{ id: string }>('POST', '/v1/posts', {
        accountId: ids.account,
        category: 'life',
        plannedAt,
      })
    ).id;
  }
  // Two reminders: the default plan's 07:00 and 12:00 slots in Asia/Shanghai.
  for (const now of ['2026-05-04T23:05:00Z', '2026-05-05T04:05:00Z']) {
    const res = await stack.request('POST', '/__local/schedules/postingTick', { body: { now } });
    expect(res.status, res.text).toBe(200);
  }
  // The other tenant has an account with the same id, so its cursor check is reached (not a 404).
  await other.staff('sec-other-staff');
  await other.ok('POST', '/v1/accounts', {
    id: ids.account,
    name: 'Twin',
    platform: 'wechat',
    operatorStaffId: 'sec-other-staff',
  });
  await stack.drain();
});

afterAll(async () => {
  await stack?.stop();
});

describe('tokens', () => {
  const badTokens: [string, () => Promise<string | undefined>][] = [
    ['no token', async () => undefined],
    ['an expired token', () => token('sec-co', 'admin', 'admin-1', { ttlSeconds: -60 })],
    [
      'a token not valid yet (nbf in the future)',
      async () => craftedToken({ nbf: Math.floor(Date.now() / 1000) + 600 }),
    ],
    [
      'a token of another issuer',
      () => token('sec-co', 'admin', 'admin-1', { issuer: 'https://evil.example' }),
    ],
    ['a token for another audience', () => token('sec-co', 'admin', 'admin-1', { audience: 'other-api' })],
    ['an unsigned alg:none token', async () => unsignedToken('sec-co')],
    [
      'a token signed with another key',
      () => token('sec-co', 'admin', 'admin-1', { secret: 'guessed-secret' }),
    ],
    ['an HS512 token signed with the right key', async () => craftedToken({}, 'HS512')],
    ['a token without exp', async () => craftedToken({ exp: undefined })],
    ['a token whose role is spelled "Admin"', async () => craftedToken({ role: 'Admin' })],
    ['a garbage token', async () => 'not.a.jwt'],
  ];

  for (const [what, make] of badTokens) {
    it(`answers 401 without data to ${what} on every jwt route`, async () => {
      // Prepare
      const bad = await make().catch(() => 'not.a.jwt');

      // Act
      const answers = await Promise.all(
        jwtRoutes.map(async ([routeKey]) => {
          const method = methodOf(routeKey);
          const payload = method === 'GET' || method === 'DELETE' ? undefined : validBodies[routeKey]?.();
          const res = await stack.request(method, concretePath(routeKey), {
            ...(bad ? { token: bad } : {}),
            ...(payload ? { body: payload } : {}),
          });
          return { routeKey, status: res.status, text: res.text };
        }),
      );

      // Assess
      for (const answer of answers) {
        expect(answer.status, answer.routeKey).toBe(401);
        expect(answer.text).not.toContain(SECRET_NAME);
        expect(answer.text).not.toContain(ids.contact!);
      }
    });
  }

  it('answers 401 to tokens whose claims are unusable: unknown role, tenant id that breaks keys, no sub', async () => {
    const control = await stack.request('GET', `/v1/contacts/${ids.contact}`, { token: craftedToken() });
    expect(control.status, 'the hand-made token is valid when left unchanged').toBe(200);
    const tokens = [
      await token('sec-co', 'superadmin' as 'admin'),
      await token('sec-co#x', 'admin'),
      await token('T#sec-co', 'admin'),
      craftedToken({ sub: undefined }),
      craftedToken({ sub: 'a#b' }),
      craftedToken({ role: ['admin'] }),
      craftedToken({ tenant_id: ['sec-co', 'sec-other'] }),
    ];

    const statuses = await Promise.all(
      tokens.map(
        async (t) => (await stack.request('GET', `/v1/contacts/${ids.contact}`, { token: t })).status,
      ),
    );

    expect(statuses).toEqual(tokens.map(() => 401));
  });
});

describe('escalation through request fields', () => {
  it('refuses role or tenantId in a staff body with 400, and creates nothing', async () => {
    // Prepare
    const staff = await token('sec-co', 'staff', ids.staff);
    const before = await scanTable();

    // Act
    const answers = await Promise.all(
      [
        { role: 'admin' },
        { tenantId: 'sec-other' },
        { tenant_id: 'sec-other' },
        { ownerStaffId: 'sec-heir' },
      ].map((extra) =>
        owner.call('POST', '/v1/contacts', { name: 'Escalator', channel: 'store', ...extra }, staff),
      ),
    );

    // Assess
    expect(answers.map((a) => a.status)).toEqual([400, 400, 400, 403]);
    expect(answers[0]!.body).toMatchObject({ errors: [{ path: 'role', message: 'unknown field' }] });
    expect(await scanTable()).toEqual(before);
  });

  it('keeps an admin route 403 for staff whatever the body claims', async () => {
    const staff = await token('sec-co', 'staff', ids.staff);

    const res = await owner.call('PUT', '/v1/settings', { role: 'admin', currency: 'USD' }, staff);

    expect(res.status).toBe(403);
    expect((await owner.ok<{ currency: string }>('GET', '/v1/settings')).currency).toBe('CNY');
  });

  it('never reaches another tenant through a body, query or header naming it', async () => {
    // Prepare
    const before = await scanTable();

    // Act
    const viaBody = await owner.call('POST', '/v1/contacts', {
      name: 'Planted',
      channel: 'store',
      tenantId: 'sec-other',
    });
    const viaQuery = await owner.call('GET', '/v1/contacts?tenant_id=sec-other');
    const viaHeader = await other.call('GET', '/v1/contacts', undefined, other.admin, {
      'x-tenant-id': 'sec-co',
      'x-amzn-oidc-data': 'sec-co',
    });
    const viaPath = await other.call('GET', `/v1/contacts/${encodeURIComponent(`${ids.contact}#sec-co`)}`);

    // Assess
    expect(viaBody.status).toBe(400);
    expect(viaQuery.status).toBe(400);
    expect(viaHeader.status).toBe(200);
    expect(viaHeader.text).not.toContain(SECRET_NAME);
    expect([400, 404]).toContain(viaPath.status);
    expect(await scanTable()).toEqual(before);
  });

  it('answers 403 to a staff token without a staff item, whatever the route', async () => {
    const stranger = await token('sec-co', 'staff', 'nobody-here');

    const answers = await Promise.all(
      jwtRoutes.map(async ([routeKey]) => {
        const method = methodOf(routeKey);
        const payload = method === 'GET' || method === 'DELETE' ? undefined : validBodies[routeKey]?.();
        const res = await owner.call(method, concretePath(routeKey), payload, stranger);
        return [routeKey, res.status, res.text] as const;
      }),
    );

    for (const [routeKey, status, text] of answers) {
      expect(status, routeKey).toBe(403);
      expect(text).not.toContain(SECRET_NAME);
    }
  });
});

describe('mass assignment', () => {
  it('has a valid sample body for every route that takes one', () => {
    for (const [routeKey, route] of bodyRoutes) {
      expect(validBodies[routeKey], `add a valid body for ${routeKey}`).toBeDefined();
      expect(route.body!.safeParse(validBodies[routeKey]!()).success, routeKey).toBe(true);
    }
  });

  const planted: Record<string, unknown> = {
    tenantId: 'sec-other',
    stats: { orders: 999, spent: '999999.00' },
    rfm: { r: 5, f: 5, m: 5, segment: 'important_value' },
    stage: 'loyal',
  };
  const cases = bodyRoutes.flatMap(([routeKey]) => Object.keys(planted).map((field) => [routeKey, field]));

  it.each(cases)('%s with a planted %s answers 400 and changes nothing', async (routeKey, field) => {
    // Prepare
    const method = methodOf(routeKey);
    const path = concretePath(routeKey);
    const readBack = (routes as Record<string, unknown>)[`GET ${routeKey.split(' ')[1]}`] ? path : undefined;
    const before = await scanTable();
    const shownBefore = readBack ? await owner.call('GET', readBack) : undefined;

    // Act
    const res = await owner.call(method, path, { ...validBodies[routeKey]!(), [field]: planted[field] });

    // Assess
    expect(res.status, res.text).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const errors = (res.body as { errors: { path: string; message: string }[] }).errors;
    // `rfm` is a real field of the settings: there the planted inner keys are the unknown ones.
    expect(
      errors.some((e) => e.path === field || e.path.startsWith(`${field}.`)),
      res.text,
    ).toBe(true);
    expect(
      errors.some((e) => e.message === 'unknown field'),
      res.text,
    ).toBe(true);
    expect(await scanTable()).toEqual(before);
    if (readBack) expect((await owner.call('GET', readBack)).text).toBe(shownBefore!.text);
  });

  it('reports a planted field inside a batch item as that item’s error, and creates nothing for it', async () => {
    const before = await scanTable();

    const res = await owner.call<{ results: { status: string; error?: string }[] }>(
      'POST',
      '/v1/contacts/batch',
      {
        contacts: Object.entries(planted).map(([field, value]) => ({
          name: 'Batch Plant',
          channel: 'store',
          [field]: value,
        })),
      },
    );

    expect(res.status).toBe(200);
    expect(res.body.results.map((r) => r.status)).toEqual(['error', 'error', 'error', 'error']);
    expect(res.body.results.map((r) => r.error)).toEqual(
      Object.keys(planted).map((field) => `${field}: unknown field`),
    );
    expect(await scanTable()).toEqual(before);
  });

  it("ignores a tenantId or stats inside an imported order: the order lands in the caller's tenant only", async () => {
    const res = await owner.call<{ results: { status: string }[] }>('POST', '/v1/orders/batch', {
      orders: [
        {
          id: 'sec-planted-order',
          total: '5.00',
          currency: 'CNY',
          paidAt: '2026-01-03T00:00:00Z',
          contact: { externalId: 'sec-planted-buyer', tenantId: 'sec-other' },
          tenantId: 'sec-other',
          stats: { orders: 999 },
        },
      ],
    });

    expect(res.status, res.text).toBe(200);
    expect(res.body.results).toEqual([{ id: 'sec-planted-order', status: 'recorded' }]);
    const items = await scanItems();
    const buyer = items.find((i) => i.sk === 'PROFILE' && i.externalId === 'sec-planted-buyer');
    expect(buyer).toMatchObject({ tenantId: 'sec-co', stats: { orders: 1, spentMinor: 500 } });
    for (const item of items.filter((i) => JSON.stringify(i).includes('sec-planted')))
      expect(JSON.stringify(item)).not.toContain('sec-other');
    expect((await other.ok<{ items: unknown[] }>('GET', '/v1/contacts')).items).toEqual([]);
  });
});

describe('resource limits', () => {
  it('finds list routes with a limit in the declaration, each with a sample query', () => {
    expect(listRoutes.length).toBeGreaterThanOrEqual(7);
    for (const [routeKey] of listRoutes) expect(listQueries[routeKey], `add ${routeKey}`).toBeDefined();
  });

  const badLimits = ['201', '1000000', '0', '-1', '1.5', 'abc', '', '1e3', '99999999999999999999'];
  it.each(listRoutes.map(([key]) => [key]))('%s refuses a limit out of 1–200 with 400', async (routeKey) => {
    const base = listQueries[routeKey]!.base();
    const url = (limit: string) =>
      `${concretePath(routeKey)}?${new URLSearchParams({ ...base, limit }).toString()}`;

    const answers = await Promise.all(
      badLimits.map(async (limit) => (await owner.call('GET', url(limit))).status),
    );
    const atMax = await owner.call<{ items: unknown[] }>('GET', url('200'));

    expect(answers).toEqual(badLimits.map(() => 400));
    expect(atMax.status, atMax.text).toBe(200);
  });

  const sizeRoutes = [...bodyRoutes, ...declared.filter(([, r]) => r.auth === 'signature')];
  it.each(sizeRoutes.map(([key]) => [key]))(
    '%s answers 413 to a body over 1 MiB and writes nothing',
    async (routeKey) => {
      // Prepare: valid JSON of exactly 1 MiB + 1 byte
      const head = '{"name":"';
      const tail = '"}';
      const oversized = `${head}${'x'.repeat(MAX_BODY_BYTES + 1 - head.length - tail.length)}${tail}`;
      expect(Buffer.byteLength(oversized)).toBe(MAX_BODY_BYTES + 1);
      const atLimit = oversized.slice(0, head.length) + oversized.slice(head.length + 1);
      const before = await scanTable();

      // Act
      const res = await owner.call(methodOf(routeKey), concretePath(routeKey), oversized);
      const limitRes = await owner.call(methodOf(routeKey), concretePath(routeKey), atLimit);

      // Assess
      expect(res.status).toBe(413);
      expect(res.body).toMatchObject({ status: 413 });
      expect(limitRes.status).not.toBe(413);
      expect(limitRes.status).toBeLessThan(500);
      expect(await scanTable()).toEqual(before);
    },
  );

  it('answers 413 to a body past the gateway limit without reading it all', async () => {
    const res = await owner.call('POST', '/v1/contacts', 'x'.repeat(11 * 1024 * 1024));

    expect(res.status).toBe(413);
  });

  it.each(listRoutes.map(([key]) => [key]))(
    '%s refuses its cursor from another tenant, another caller, another filter, or tampered with',
    async (routeKey) => {
      // Prepare: a real next-page cursor of the owner's admin
      const spec = listQueries[routeKey]!;
      const path = concretePath(routeKey);
      const query = (extra: Record<string, string>) =>
        `${path}?${new URLSearchParams({ ...spec.base(), limit: '1', ...extra }).toString()}`;
      const first = await owner.ok<{ items: unknown[]; nextCursor: string | null }>('GET', query({}));
      expect(first.nextCursor, `${routeKey} needs two items in the fixture`).toEqual(expect.any(String));
      const cursor = first.nextCursor!;
      const otherAdmin = await token('sec-co', 'admin', 'admin-2');
      const decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as {
        k: object;
        b: string;
      };
      const forged = Buffer.from(
        JSON.stringify({
          ...decoded,
          k: Object.fromEntries(
            Object.entries(decoded.k).map(([k, v]) => [k, String(v).replace('sec-co', 'sec-other')]),
          ),
        }),
      ).toString('base64url');

      // Act
      const same = await owner.call('GET', query({ cursor }));
      const anotherTenant = await other.call('GET', query({ cursor }));
      const anotherCaller = await owner.call('GET', query({ cursor }), undefined, otherAdmin);
      const otherFilterPath = spec.otherFilter?.();
      const anotherFilter = otherFilterPath
        ? await owner.call('GET', `${otherFilterPath}&cursor=${encodeURIComponent(cursor)}`)
        : undefined;
      const tampered = await owner.call('GET', query({ cursor: forged }));
      const garbage = await owner.call('GET', query({ cursor: 'bm90IGEgY3Vyc29y' }));

      // Assess
      expect(same.status, same.text).toBe(200);
      for (const [what, res] of Object.entries({ anotherCaller, tampered, garbage })) {
        expect(res.status, `${what}: ${res.text}`).toBe(400);
        expect(res.body).toMatchObject({ errors: [{ path: 'query.cursor' }] });
      }
      // A list under another tenant's object (a shop's deliveries) is a 404 before any cursor is read.
      if (anotherTenant.status !== 404 || !routeKey.includes('{'))
        expect(anotherTenant.body, anotherTenant.text).toMatchObject({
          status: 400,
          errors: [{ path: 'query.cursor' }],
        });
      if (anotherFilter) expect(anotherFilter.status, anotherFilter.text).toBe(400);
      expect(anotherTenant.text).not.toContain(SECRET_NAME);
    },
  );
});
