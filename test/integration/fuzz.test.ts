import { createHash, randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as z from 'zod/mini';
import { routes } from '../../shared/app/declaration.js';
import type { RouteDecl } from '../../shared/app/types.js';
import { createDocumentClient } from '../../shared/db/client.js';
import { tenantSession } from '../support/api.js';
import { startTestStack, type TestResponse, type TestStack } from '../support/local-stack.js';
import { pathFor } from '../support/routes.js';
import {
  body as bytesOf,
  decodeYouzanMsg,
  encodeYouzanMsg,
  type FixtureName,
  fixture,
  type SignedDelivery,
  signGeneric,
  signShopify,
  signWooCommerce,
  signYouzan,
} from '../support/webhooks.js';

/**
 * Property-based fuzzing of every request schema of the declaration (routes with a body or a query)
 * and of every webhook parser, against the real local HTTP server:
 *  - never a 5xx (a 503 for a request that outlived its time limit on a starved machine is
 *    counted, replayed once and must not recur);
 *  - a 4xx writes nothing, and a GET never writes (a table Scan before and after is identical);
 *  - a validly signed webhook that cannot be used writes only its delivery-log entry (`DLV#…`), and
 *    a duplicate only its delivery-log entry and seen delivery ids (`DID#…`).
 *
 * `FUZZ_RUNS` is the budget of the whole file (default 1,000, as in `npm test`), split over the
 * properties by weight: at 1,000 runs per property the file would take far too long on two cores.
 * `npm run fuzz` runs 10,000. `FUZZ_SEED` replays a run; the seed in use is printed first.
 */
const BUDGET = Math.max(1, Number(process.env.FUZZ_RUNS ?? 1000) || 1000);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
console.info(`fuzz: seed ${SEED} (replay with FUZZ_SEED=${SEED}), budget ${BUDGET} runs`);

const TENANT = 'fuzz-co';
let stack: TestStack;
let acme: Awaited<ReturnType<typeof tenantSession>>;
let db: ReturnType<typeof createDocumentClient>;
const ids: Record<string, string> = {};
const shops: Record<'generic' | 'shopify' | 'woocommerce' | 'youzan', { id: string; secret: string }> =
  {} as never;
const YOUZAN_CLIENT_ID = 'fuzz-youzan-client';

const declared = Object.entries(routes as Record<string, RouteDecl>);
const bodyRoutes = declared.filter(([, r]) => r.body !== undefined);
const queryRoutes = declared.filter(([, r]) => r.query !== undefined);

/** A valid body per route: the seed the mutations start from (the fuller, the deeper they reach). */
const validBodies: Record<string, () => unknown> = {
  'PUT /v1/settings': () => ({
    timezone: 'Asia/Shanghai',
    currency: 'CNY',
    rfm: { windowDays: 365 },
    lifecycle: { loyalMinOrders: 4, loyalWithinDays: 180 },
  }),
  'POST /v1/staff': () => ({ id: 'fz-new', name: 'New Colleague' }),
  'PATCH /v1/staff/{id}': () => ({ name: 'Renamed', status: 'active' }),
  'POST /v1/staff/{id}/handover': () => ({ toStaffId: 'fz-heir' }),
  'POST /v1/accounts': () => ({ name: 'Phone', platform: 'wecom', operatorStaffId: 'fz-staff' }),
  'PATCH /v1/accounts/{id}': () => ({ name: 'Renamed', platform: 'wechat', operatorStaffId: 'fz-staff' }),
  'POST /v1/contacts': () => ({
    name: 'Fuzzy Contact',
    phone: '+14155550123',
    email: 'fuzzy@example.com',
    wechatId: 'wx_fuzzy',
    externalId: 'fz-ext',
    accountId: ids.account,
    ownerStaffId: 'fz-staff',
    channel: 'public',
    channelDetail: 'xiaohongshu',
    hook: 'coupon',
    tags: ['vip', 'tea'],
    status: 'active',
    addedAt: '2026-01-02T03:04:05+08:00',
  }),
  'POST /v1/contacts/batch': () => ({
    contacts: [
      { name: 'Batch One', channel: 'store', phone: '13800138011' },
      { name: 'Batch Two', channel: 'referral', tags: ['b'] },
    ],
  }),
  'PATCH /v1/contacts/{id}': () => ({
    name: 'Patched',
    phone: null,
    email: 'patched@example.com',
    tags: ['x'],
    channel: 'store',
    hook: null,
    status: 'lost',
  }),
  'POST /v1/contacts/{id}/tags': () => ({ tags: ['fuzz', 'more'] }),
  'POST /v1/orders/batch': () => ({
    orders: [
      {
        id: 'fz-o1',
        total: '12.30',
        currency: 'CNY',
        paidAt: '2026-01-01T00:00:00Z',
        contact: { externalId: 'fz-buyer', name: 'Buyer' },
        refund: { id: 'r1', amount: '1.00', refundedAt: '2026-01-02T00:00:00Z' },
      },
    ],
  }),
  'POST /v1/shops': () => ({
    name: 'Fuzz shop',
    platform: 'shopify',
    secret: 'a-long-secret',
    clientId: 'c1',
  }),
  'PATCH /v1/shops/{id}': () => ({ name: 'Renamed', enabled: true, defaultOwnerStaffId: 'fz-staff' }),
  'POST /v1/shops/{id}/rotate-secret': () => ({}),
  'POST /v1/jobs/rfm': () => ({ asOf: '2026-01-01T00:00:00Z' }),
  'PUT /v1/accounts/{id}/posting-plan': () => ({
    timezone: 'Asia/Shanghai',
    slots: [{ start: '07:00', end: '08:30' }],
    dailyMin: 1,
    dailyMax: 3,
    mix: { engagement: 0.5, life: 0.25, product: 0.25 },
  }),
  'POST /v1/posts': () => ({
    accountId: ids.account,
    category: 'life',
    plannedAt: '2026-01-01T08:00:00+08:00',
    text: 'hello',
  }),
  'PATCH /v1/posts/{id}': () => ({ publishedAt: '2026-01-01T08:05:00+08:00', likes: 3, comments: 1 }),
};

/** A valid query per route. */
const validQueries: Record<string, () => Record<string, string>> = {
  'GET /v1/staff': () => ({ limit: '10' }),
  'GET /v1/accounts': () => ({ limit: '10' }),
  'GET /v1/contacts': () => ({ limit: '5', channel: 'store', q: 'Fu', tag: 'vip', status: 'active' }),
  'GET /v1/shops': () => ({ limit: '5' }),
  'GET /v1/shops/{id}/deliveries': () => ({ limit: '5' }),
  'GET /v1/metrics/funnel': () => ({ from: '2026-01-01', to: '2026-01-31', by: 'channel', channel: 'store' }),
  'GET /v1/metrics/funnel/compare': () => ({
    a: 'from=2026-01-01&to=2026-01-31',
    b: 'from=2025-01-01&to=2025-01-31&by=hook',
  }),
  'GET /v1/posts': () => ({ accountId: ids.account!, from: '2026-01-01', to: '2026-02-01T00:00:00Z' }),
  'GET /v1/reminders': () => ({ accountId: ids.account!, since: '2026-01-01T00:00:00+08:00' }),
  'GET /v1/posting/insights': () => ({ accountId: ids.account!, days: '28' }),
};

// ─── arbitraries ────────────────────────────────────────────────────────────

const edgeStrings = [
  '',
  ' ',
  'none',
  'NONE',
  '#',
  'T#fuzz-co',
  'C#other#x',
  '../../etc',
  '%2F',
  '<script>',
  '\u0000',
  '\ud800',
  '名字',
  '😀',
  'a'.repeat(300),
  '9'.repeat(400),
  '2026-01-01T00:00:00Z',
  '2026-02-30T25:61:00+08:00',
  '2026-01-01',
  '24:00',
  '07:00',
  '+8613800138000',
  '13800138000',
  'a@b.co',
  'Asia/Shanghai',
  'Mars/Olympus',
  'CNY',
  'JPY',
  'XXX',
  '199.00',
  '-1',
  '1e400',
  '0.001',
  'admin',
  'null',
];
const edgeNumbers = [0, -0, -1, 1, 1.5, 2 ** 53, -(2 ** 53), 1e308, 3660, 3661, 200, 201, 500, 501, 1e8];

const anyString = fc.oneof(
  fc.constantFrom(...edgeStrings),
  fc.string({ maxLength: 24 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
);
const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: anyString },
  { weight: 2, arbitrary: fc.constantFrom(...edgeNumbers) },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, [], {}) },
);

type Op = {
  at: number;
  kind: 'drop' | 'set' | 'add' | 'wrap' | 'tweak';
  key: string;
  value: unknown;
  text: string;
  number: number;
};
/** `tweak` keeps a leaf's type (a string stays a string): the input stays plausible and goes deeper. */
const opArb: fc.Arbitrary<Op> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('drop', 'set', 'add', 'wrap', 'tweak', 'tweak', 'tweak'),
  key: fc.oneof(
    fc.string({ maxLength: 10 }),
    fc.constantFrom('tenantId', 'stats', 'rfm', 'stage', '__proto__'),
  ),
  value: anyJson,
  text: anyString,
  number: fc.oneof(fc.constantFrom(...edgeNumbers), fc.integer({ min: -10, max: 1000 }), fc.double()),
});

/** Every path of a JSON value (objects' keys and arrays' indices), the root first. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out = [prefix];
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) out.push(...paths(v, [...prefix, i]));
  } else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}

/** Applies mutations to a copy of a valid sample: drop a field, replace one, add one, wrap one. */
function mutate(sample: unknown, ops: Op[]): unknown {
  let root = structuredClone(sample);
  for (const op of ops) {
    const all = paths(root);
    const path = all[op.at % all.length]!;
    const parentPath = path.slice(0, -1);
    const last = path.at(-1);
    const parent = parentPath.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], root) as
      | Record<string | number, unknown>
      | undefined;
    const current = path.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], root);
    const replace = (next: unknown) => {
      if (last === undefined || !parent) root = next;
      else parent[last] = next;
    };
    if (op.kind === 'drop') {
      if (last === undefined || !parent) root = undefined;
      else if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else if (op.kind === 'set') {
      replace(structuredClone(op.value));
    } else if (op.kind === 'tweak') {
      replace(
        typeof current === 'string'
          ? op.text
          : typeof current === 'number'
            ? op.number
            : typeof current === 'boolean'
              ? !current
              : structuredClone(op.value),
      );
    } else if (op.kind === 'wrap') {
      replace(op.at % 2 ? [current] : { value: current });
    } else if (current && typeof current === 'object' && !Array.isArray(current)) {
      Object.defineProperty(current, op.key, {
        value: structuredClone(op.value),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else {
      replace(structuredClone(op.value));
    }
  }
  return root;
}

/** A request body: arbitrary JSON, a mutated valid sample (most runs), or bytes that are not JSON. */
function bodyArb(sample: () => unknown): fc.Arbitrary<{ text: string | Uint8Array }> {
  return fc.oneof(
    { weight: 2, arbitrary: anyJson.map((v) => ({ text: JSON.stringify(v) ?? 'undefined' })) },
    {
      weight: 6,
      arbitrary: fc
        .array(opArb, { maxLength: 3 })
        .map((ops) => ({ text: JSON.stringify(mutate(sample(), ops)) ?? '' })),
    },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.string({ maxLength: 40 }).map((text) => ({ text })),
        fc.uint8Array({ maxLength: 64 }).map((text) => ({ text })),
        fc.constantFrom(
          { text: '{"likes": 1e400}' },
          { text: '{"name": "x", "name": {"a": 1}}' },
          { text: '[{"__proto__": {"admin": true}}]' },
          { text: `${'['.repeat(5000)}${']'.repeat(5000)}` },
          { text: `{"contacts": [${'{"name":"n","channel":"store"},'.repeat(501).slice(0, -1)}]}` },
        ),
      ),
    },
  );
}

const queryValue = fc.oneof(
  fc.constantFrom(...edgeStrings),
  fc.constantFrom(...edgeNumbers.map(String)),
  fc.string({ maxLength: 16 }),
);

/** Arbitrary queries, or changes to the route's valid query (merged by the caller). */
function queryArb(keys: string[]) {
  const key = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...keys) }, fc.string({ maxLength: 8 }));
  return fc.oneof(
    fc.dictionary(key, queryValue, { maxKeys: 5 }).map((q) => ({ query: q, keepSample: false })),
    fc
      .array(
        fc.tuple(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...keys) }, key), fc.option(queryValue)),
        {
          maxLength: 3,
        },
      )
      .map((changes) => ({
        query: Object.fromEntries(changes.map(([k, v]) => [k, v ?? ''])),
        keepSample: true,
      })),
  );
}

/** A path id: the seeded one mostly, sometimes anything. */
const pathIdArb = fc.oneof(
  { weight: 9, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: anyString },
);

const concretePath = (routeKey: string, anyId?: string) =>
  pathFor(routeKey, (kind) => encodeSegment(anyId ?? ids[kind]!));

/** A path segment for any string (a lone surrogate, which URLs cannot carry, becomes U+FFFD). */
function encodeSegment(value: string): string {
  return encodeURIComponent(
    value.replace(/[\ud800-\udfff]/g, (c, i: number, all: string) => {
      const code = c.charCodeAt(0);
      const pair =
        code < 0xdc00 ? /[\udc00-\udfff]/.test(all[i + 1] ?? '') : /[\ud800-\udbff]/.test(all[i - 1] ?? '');
      return pair ? c : '\ufffd';
    }),
  );
}

function shapeKeys(schema: z.ZodMiniType | undefined): string[] {
  const shape = (schema as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape) : [];
}

// ─── the table, before and after ────────────────────────────────────────────

type Snapshot = Map<string, string>;

const SCAN_SEGMENTS = 4;
let scanMs = 0;
let scans = 0;

/** The table once the stream consumers caught up (the funnel roll-ups follow the cells). */
async function snapshot(): Promise<Snapshot> {
  await stack.drain();
  const started = performance.now();
  const out: Snapshot = new Map();
  // A parallel Scan in segments: the table grows with every accepted request.
  await Promise.all(
    Array.from({ length: SCAN_SEGMENTS }, async (_, segment) => {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await db.send(
          new ScanCommand({
            TableName: stack.tableName,
            ExclusiveStartKey: start,
            Segment: segment,
            TotalSegments: SCAN_SEGMENTS,
          }),
        );
        for (const item of page.Items ?? [])
          out.set(`${item.pk}\u0000${item.sk}`, JSON.stringify(item, Object.keys(item).sort()));
        start = page.LastEvaluatedKey;
      } while (start);
    }),
  );
  scanMs += performance.now() - started;
  scans++;
  return out;
}

/** Keys of items added, changed or removed. */
function changes(before: Snapshot, after: Snapshot): string[] {
  const out: string[] = [];
  for (const [key, value] of after) if (before.get(key) !== value) out.push(key);
  for (const key of before.keys()) if (!after.has(key)) out.push(key);
  return out;
}

let baseline: Snapshot;
/** Answers per property, printed at the end: a property that never gets past validation is weak. */
const tally = new Map<string, Record<string, number>>();
function count(what: string, outcome: string) {
  const row = tally.get(what) ?? {};
  row[outcome] = (row[outcome] ?? 0) + 1;
  tally.set(what, row);
}

/**
 * A request that outlives its function's time limit is answered 503 with Retry-After, the API's
 * answer to a transient overload — seen here only when the machine is starved — and its work may
 * still finish after the answer. Such a run tells nothing about the input: it is counted, sent
 * once more (slow twice in a row would point at the input, not the machine), and the baseline
 * moves once the table is quiet.
 */
async function overloaded(
  res: TestResponse,
  property: string,
  replay: () => Promise<TestResponse>,
): Promise<boolean> {
  if (res.status !== 503 || !res.headers.get('retry-after')) return false;
  count(property, '503 overload');
  await settle();
  const again = await replay();
  expect(again.status, `slow twice in a row: ${again.text}`).toBeLessThan(500);
  await settle();
  return true;
}

/** Waits (at most ~20 s) until two scans a second apart agree, and takes that as the baseline. */
async function settle(): Promise<void> {
  await stack.drain();
  let last = await snapshot();
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const next = await snapshot();
    if (changes(last, next).length === 0) break;
    last = next;
  }
  baseline = last;
}

/**
 * Checks one answer: never a 5xx; a 4xx (and any GET) wrote nothing; a 2xx moves the baseline
 * once the work it queued (a job) is done.
 */
async function check(
  res: TestResponse,
  method: string,
  what: string,
  property: string,
  replay: () => Promise<TestResponse>,
): Promise<void> {
  if (await overloaded(res, property, replay)) return;
  count(property, String(res.status));
  expect(res.status, `${what}: ${res.text}`).toBeLessThan(500);
  if (res.status >= 400 || method === 'GET') {
    const after = await snapshot();
    expect(changes(baseline, after), `${what} → ${res.status} wrote`).toEqual([]);
    // Errors are problem+json, except the gateway's own 404 for a path no route matches.
    const gateway = res.status === 404 && (res.body as { message?: string } | undefined)?.message;
    if (res.status >= 400 && !gateway)
      expect(res.headers.get('content-type'), what).toBe('application/problem+json');
    return;
  }
  // A job (202) and the stream consumers go on working after the answer: the snapshot waits.
  baseline = await snapshot();
}

// ─── budget ─────────────────────────────────────────────────────────────────

const WEIGHTS = { body: 2, query: 1, webhookSigned: 4, webhookGarbage: 2 };
const totalWeight =
  bodyRoutes.length * WEIGHTS.body +
  queryRoutes.length * WEIGHTS.query +
  4 * (WEIGHTS.webhookSigned + WEIGHTS.webhookGarbage);
const runsFor = (weight: number) => Math.max(3, Math.round((BUDGET * weight) / totalWeight));
const params = (weight: number, offset: number): fc.Parameters<unknown> => ({
  numRuns: runsFor(weight),
  seed: (SEED + offset) | 0,
  endOnFailure: true,
});

beforeAll(async () => {
  stack = await startTestStack();
  db = createDocumentClient(new DynamoDBClient({ endpoint: stack.dynamoEndpoint }));
  acme = await tenantSession(stack, TENANT);
  await acme.staff('fz-staff');
  await acme.staff('fz-heir');
  ids.staff = 'fz-staff';
  ids.account = (
    await acme.ok<{ id: string }>('POST', '/v1/accounts', {
      name: 'Phone',
      platform: 'wechat',
      operatorStaffId: 'fz-staff',
    })
  ).id;
  ids.contact = (
    await acme.ok<{ id: string }>('POST', '/v1/contacts', {
      name: 'Seed Contact',
      channel: 'store',
      tags: ['vip'],
    })
  ).id;
  ids.post = (
    await acme.ok<{ id: string }>('POST', '/v1/posts', {
      accountId: ids.account,
      category: 'product',
      plannedAt: '2026-01-01T00:00:00Z',
    })
  ).id;
  const generic = await acme.ok<{ id: string; secret: string }>('POST', '/v1/shops', {
    name: 'Generic',
    platform: 'generic',
  });
  shops.generic = { id: generic.id, secret: generic.secret };
  // The shop routes are fuzzed on a shop of their own: a rotated secret or a disabled shop must not
  // turn the webhook fuzzing's deliveries into 401s.
  ids.shop = (await acme.ok<{ id: string }>('POST', '/v1/shops', { name: 'Routes', platform: 'generic' })).id;
  // The fixtures' shops sell in USD (Shopify) and EUR (WooCommerce): their tenants do too, so that
  // deliveries are not all ignored for their currency.
  const usd = await tenantSession(stack, 'fuzz-usd');
  await usd.ok('PUT', '/v1/settings', { currency: 'USD', timezone: 'America/New_York' });
  const eur = await tenantSession(stack, 'fuzz-eur');
  await eur.ok('PUT', '/v1/settings', { currency: 'EUR', timezone: 'Europe/Berlin' });
  const owners = { shopify: usd, woocommerce: eur, youzan: acme };
  for (const platform of ['shopify', 'woocommerce', 'youzan'] as const) {
    const secret = `fuzz-${platform}-secret`;
    const shop = await owners[platform].ok<{ id: string }>('POST', '/v1/shops', {
      name: platform,
      platform,
      secret,
      ...(platform === 'youzan' ? { clientId: YOUZAN_CLIENT_ID } : {}),
    });
    shops[platform] = { id: shop.id, secret };
  }
  await stack.drain();
  baseline = await snapshot();
}, 120_000);

afterAll(async () => {
  console.info(
    `fuzz answers (seed ${SEED}; ${scans} scans of ${baseline?.size} items at the end, ${Math.round(scanMs / Math.max(1, scans))} ms each):\n${[...tally].map(([what, row]) => `  ${what}: ${JSON.stringify(row)}`).join('\n')}`,
  );
  db?.destroy();
  await stack?.stop();
});

// ─── request schemas ────────────────────────────────────────────────────────

describe('fuzzing every request schema', () => {
  it('has a valid sample for every route with a body or a query', () => {
    for (const [key, route] of bodyRoutes) {
      expect(validBodies[key], `add a body sample for ${key}`).toBeDefined();
      expect(route.body!.safeParse(validBodies[key]!()).success, key).toBe(true);
    }
    for (const [key, route] of queryRoutes) {
      expect(validQueries[key], `add a query sample for ${key}`).toBeDefined();
      expect(route.query!.safeParse(validQueries[key]!()).success, key).toBe(true);
    }
  });

  bodyRoutes.forEach(([routeKey], index) => {
    it(`${routeKey}: arbitrary and mutated bodies never get a 5xx, and a 4xx writes nothing`, async () => {
      const method = routeKey.split(' ')[0]!;
      const sample = () => validBodies[routeKey]!();
      await fc.assert(
        fc.asyncProperty(bodyArb(sample), pathIdArb, async ({ text }, anyId) => {
          const path = concretePath(routeKey, routeKey.includes('{') ? anyId : undefined);
          const send = () => acme.call(method, path, text);
          const res = await send();
          await check(res, method, `${routeKey} ${path} ${String(text).slice(0, 300)}`, routeKey, send);
        }),
        params(WEIGHTS.body, index),
      );
    }, 600_000);
  });

  queryRoutes.forEach(([routeKey, route], index) => {
    it(`${routeKey}: arbitrary and mutated queries never get a 5xx, and never write`, async () => {
      const keys = [...new Set([...shapeKeys(route.query), 'limit', 'cursor'])];
      await fc.assert(
        fc.asyncProperty(queryArb(keys), async ({ query, keepSample }) => {
          const merged = keepSample ? { ...validQueries[routeKey]!(), ...query } : query;
          const search = new URLSearchParams(merged).toString();
          const path = `${concretePath(routeKey)}${search ? `?${search}` : ''}`;
          const send = () => acme.call('GET', path);
          const res = await send();
          await check(res, 'GET', `GET ${path}`, routeKey, send);
        }),
        params(WEIGHTS.query, 100 + index),
      );
    }, 600_000);
  });
});

// ─── webhook parsers ────────────────────────────────────────────────────────

type PlatformName = keyof typeof shops;

const platformFixtures: Record<PlatformName, { name: FixtureName; topic: string }[]> = {
  generic: [
    { name: 'generic-order-paid', topic: 'order.paid' },
    { name: 'generic-order-refunded', topic: 'order.refunded' },
  ],
  shopify: [
    { name: 'shopify-orders-paid', topic: 'orders/paid' },
    { name: 'shopify-orders-create', topic: 'orders/create' },
    { name: 'shopify-refunds-create', topic: 'refunds/create' },
  ],
  woocommerce: [
    { name: 'woocommerce-order-created', topic: 'order.created' },
    { name: 'woocommerce-order-updated', topic: 'order.updated' },
    { name: 'woocommerce-order-refunded', topic: 'order.updated' },
  ],
  youzan: [
    { name: 'youzan-trade-paid', topic: 'trade_TradePaid' },
    { name: 'youzan-trade-success', topic: 'trade_TradeSuccess' },
    { name: 'youzan-refund-success', topic: 'trade_refund_RefundSuccess' },
  ],
};

const headerValue = fc.string({
  unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 40,
});
const headerName = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/).map((n) => `x-fuzz-${n}`);
/** A few delivery ids, so that duplicates happen. */
const deliveryId = fc.oneof(fc.constantFrom('d1', 'd2', 'd3'), fc.uuid());

interface WebhookInput {
  fixtureIndex: number;
  ops: Op[];
  rawKind: 'mutated' | 'json' | 'bytes';
  json: unknown;
  bytes: Uint8Array;
  topic: string | undefined;
  deliveryId: string;
  extra: [string, string][];
  mutateMsg: boolean;
  skewSeconds: number;
}

const webhookArb = (platform: PlatformName): fc.Arbitrary<WebhookInput> =>
  fc.record({
    fixtureIndex: fc.nat(),
    ops: fc.array(opArb, { maxLength: 3 }),
    rawKind: fc.constantFrom('mutated', 'mutated', 'mutated', 'json', 'bytes'),
    json: anyJson,
    bytes: fc.uint8Array({ maxLength: 96 }),
    topic: fc.option(
      fc.oneof(
        fc.constantFrom(
          ...platformFixtures[platform].map((f) => f.topic),
          'orders/cancelled',
          'order.deleted',
        ),
        headerValue,
      ),
      { nil: undefined },
    ),
    deliveryId,
    extra: fc.array(fc.tuple(headerName, headerValue), { maxLength: 3 }),
    mutateMsg: fc.boolean(),
    skewSeconds: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: -250, max: 250 }) }, fc.integer()),
  });

/** The raw body a run sends, built from a fixture (mutated), arbitrary JSON, or bytes. */
function webhookBody(platform: PlatformName, input: WebhookInput): { raw: Buffer; topic: string } {
  const list = platformFixtures[platform];
  const chosen = list[input.fixtureIndex % list.length]!;
  const topic = input.topic ?? chosen.topic;
  if (input.rawKind === 'bytes') return { raw: Buffer.from(input.bytes), topic };
  if (input.rawKind === 'json') return { raw: Buffer.from(JSON.stringify(input.json) ?? 'null'), topic };
  let payload: unknown = fixture(chosen.name);
  // Fresh order ids (from the delivery id), so that most runs are not duplicates of earlier ones.
  const fresh = `fz${input.deliveryId.replace(/-/g, '').slice(0, 12)}`;
  if (platform === 'generic') (payload as { order: { id: string } }).order.id = fresh;
  if (platform === 'woocommerce' || chosen.topic.startsWith('orders/'))
    (payload as { id: string }).id = fresh;
  if (platform === 'youzan') {
    const envelope = payload as { msg: string; msg_id?: string; id?: string };
    const msg = decodeYouzanMsg<{ full_order_info?: { order_info: { tid: string } }; tid?: string }>(
      envelope.msg,
    );
    if (msg.full_order_info) msg.full_order_info.order_info.tid = fresh;
    else msg.tid = fresh;
    envelope.id = fresh;
    envelope.msg_id = input.deliveryId;
    envelope.msg = encodeYouzanMsg(input.mutateMsg ? mutate(msg, input.ops) : msg);
  }
  if (!(platform === 'youzan' && input.mutateMsg)) payload = mutate(payload, input.ops);
  return { raw: bytesOf(JSON.stringify(payload) ?? 'null'), topic };
}

function signFor(
  platform: PlatformName,
  raw: Buffer,
  topic: string,
  input: WebhookInput,
  secret = shops[platform].secret,
): SignedDelivery {
  switch (platform) {
    case 'generic':
      return signGeneric(raw, secret, {
        eventId: input.deliveryId,
        timestamp: Math.floor(Date.now() / 1000) + input.skewSeconds,
      });
    case 'shopify':
      return signShopify(raw, secret, { topic, eventId: input.deliveryId, webhookId: input.deliveryId });
    case 'woocommerce':
      return signWooCommerce(raw, secret, { topic, deliveryId: input.deliveryId });
    case 'youzan':
      try {
        return signYouzan(raw, { clientId: YOUZAN_CLIENT_ID, secret });
      } catch {
        // signYouzan reads the envelope's type; bytes that are no JSON object are signed by hand.
        const sign = createHash('md5')
          .update(Buffer.concat([Buffer.from(YOUZAN_CLIENT_ID), raw, Buffer.from(secret)]))
          .digest('hex');
        return { headers: { 'content-type': 'application/json', 'event-sign': sign }, body: raw };
      }
  }
}

/** The new delivery-log entries' statuses, and the keys written beside them. */
function webhookWrites(before: Snapshot, after: Snapshot) {
  const keys = changes(before, after);
  const statuses = keys
    .filter((k) => k.startsWith('DLV#') && after.has(k))
    .map((k) => (JSON.parse(after.get(k)!) as { status: string }).status);
  return { keys, statuses };
}

async function sendWebhook(platform: PlatformName, delivery: SignedDelivery, extra: [string, string][]) {
  // HTTP header values are bytes: a fuzzed topic in a header (Youzan's Event-Type repeats the
  // body's type) goes out with what is not Latin-1 replaced, as a client library would have to.
  const headers = Object.fromEntries(
    Object.entries({ ...Object.fromEntries(extra), ...delivery.headers })
      .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
      .map(([name, value]) => [name, value.replace(/[^\t\x20-\x7e\xa0-\xff]/g, '?')]),
  );
  return stack.request('POST', `/v1/webhooks/shops/${encodeURIComponent(shops[platform].id)}`, {
    body: delivery.body,
    headers,
  });
}

describe('fuzzing every webhook parser', () => {
  (['generic', 'shopify', 'woocommerce', 'youzan'] as const).forEach((platform, index) => {
    it(`${platform}: validly signed arbitrary deliveries never get a 5xx; unusable ones write only their log entry`, async () => {
      await fc.assert(
        fc.asyncProperty(webhookArb(platform), async (input) => {
          // Prepare
          const { raw, topic } = webhookBody(platform, input);
          const delivery = signFor(platform, raw, topic, input);

          // Act
          const res = await sendWebhook(platform, delivery, input.extra);

          // Assess
          const replay = () => sendWebhook(platform, signFor(platform, raw, topic, input), input.extra);
          if (await overloaded(res, `webhook ${platform}`, replay)) return;
          const what = `${platform} ${res.status} ${res.text} ${raw.toString('utf8').slice(0, 400)}`;
          expect(res.status, what).toBeLessThan(500);
          const after = await snapshot();
          const { keys, statuses } = webhookWrites(baseline, after);
          // A generic delivery whose timestamp is out of tolerance (300 s) is refused; all else is 200.
          const skew = platform === 'generic' ? Math.abs(input.skewSeconds) : 0;
          if (skew > 310) expect(res.status, what).toBe(401);
          if (skew < 290) expect(res.status, what).toBe(200);
          if (res.status !== 200) {
            expect(res.status, what).toBe(401);
            expect(keys, what).toEqual([]);
            return;
          }
          expect(statuses, what).toHaveLength(1);
          const status = statuses[0]!;
          count(`webhook ${platform}`, status);
          if (platform !== 'youzan') expect(res.body, what).toMatchObject({ status });
          else expect(res.body).toEqual({ code: 0, msg: 'success' });
          if (status === 'ignored')
            expect(
              keys.filter((k) => !k.startsWith('DLV#')),
              what,
            ).toEqual([]);
          if (status === 'duplicate')
            expect(
              keys.filter((k) => !k.startsWith('DLV#') && !k.startsWith('DID#')),
              what,
            ).toEqual([]);
          baseline = after;
        }),
        params(WEIGHTS.webhookSigned, 200 + index),
      );
    }, 600_000);

    it(`${platform}: unsigned, mis-signed or tampered deliveries are 401 and write nothing`, async () => {
      const garbageArb = fc.record({
        input: webhookArb(platform),
        attack: fc.constantFrom('none', 'wrong-secret', 'tampered', 'random', 'other-platform'),
        signature: headerValue,
      });
      await fc.assert(
        fc.asyncProperty(garbageArb, async ({ input, attack, signature }) => {
          // Prepare
          const { raw, topic } = webhookBody(platform, input);
          const signed = signFor(platform, raw, topic, { ...input, skewSeconds: 0 });
          const headers = { ...signed.headers };
          const signatureHeader = {
            generic: 'siyu-signature',
            shopify: 'x-shopify-hmac-sha256',
            woocommerce: 'x-wc-webhook-signature',
            youzan: 'event-sign',
          }[platform];
          let sent = raw;
          if (attack === 'none') delete headers[signatureHeader];
          if (attack === 'random') headers[signatureHeader] = signature;
          if (attack === 'tampered') sent = Buffer.concat([raw, Buffer.from(' ')]);
          if (attack === 'wrong-secret') {
            const forged = signFor(
              platform,
              raw,
              topic,
              { ...input, skewSeconds: 0 },
              `wrong-${randomUUID()}`,
            );
            headers[signatureHeader] = forged.headers[signatureHeader]!;
          }
          if (attack === 'other-platform') {
            const other = platform === 'shopify' ? 'woocommerce' : 'shopify';
            Object.assign(headers, signFor(other, raw, topic, input).headers);
            delete headers[signatureHeader];
          }

          // Act
          const send = () => sendWebhook(platform, { headers, body: sent }, input.extra);
          const res = await send();

          // Assess
          if (await overloaded(res, `webhook ${platform} unsigned`, send)) return;
          const what = `${platform} ${attack} ${res.status} ${res.text}`;
          const after = await snapshot();
          expect(changes(baseline, after), what).toEqual([]);
          // WooCommerce's unsigned creation ping is the one unsigned request answered 200.
          if (res.status === 200) expect(res.body, what).toEqual({ status: 'ignored', reason: 'ping' });
          else expect(res.status, what).toBe(401);
        }),
        params(WEIGHTS.webhookGarbage, 300 + index),
      );
    }, 600_000);
  });

  it('answers 401 and writes nothing for a shop that does not exist, whatever the body', async () => {
    await fc.assert(
      fc.asyncProperty(anyString, fc.uint8Array({ maxLength: 64 }), async (shopId, bytes) => {
        const send = () =>
          stack.request('POST', `/v1/webhooks/shops/${encodeSegment(shopId || 'x')}`, {
            body: Buffer.from(bytes),
            headers: { 'content-type': 'application/octet-stream' },
          });
        const res = await send();
        if (await overloaded(res, 'webhook unknown shop', send)) return;
        expect(res.status, res.text).toBeLessThan(500);
        expect([400, 401, 404]).toContain(res.status);
        expect(changes(baseline, await snapshot())).toEqual([]);
      }),
      params(WEIGHTS.webhookGarbage, 400),
    );
  }, 600_000);
});
