import { createHmac, randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_AWS } from '../../infra/local/dynamodb-local.js';
import { OutboxPoller } from '../../infra/local/outbox-poller.js';
import { streamConsumers } from '../../shared/app/declaration.js';
import type { Deps } from '../../shared/app/deps.js';
import { createDocumentClient } from '../../shared/db/client.js';
import { CHANNELS, HOOKS } from '../../shared/domain/contact.js';
import { DomainError } from '../../shared/errors.js';
import type { Caller } from '../../shared/http/auth.js';
import { jobRegistry } from '../../shared/jobs/registry.js';
import { runJob } from '../../shared/jobs/runner.js';
import { FUNNEL_BY, FunnelQuery } from '../../shared/schemas/metrics.js';
import { createContact, eraseContact, patchContact } from '../../shared/usecases/contacts.js';
import { funnel } from '../../shared/usecases/funnel.js';
import { applyFunnelRecords, type CellStreamRecord } from '../../shared/usecases/funnel-rollups.js';
import { rebuildFunnelRollups } from '../../shared/usecases/funnel-rollups-rebuild.js';
import { recordOrderFacts } from '../../shared/usecases/orders.js';
import { requestRfmRun } from '../../shared/usecases/rfm.js';
import { createAccount, createStaff, startHandover } from '../../shared/usecases/staff.js';
import { tenantSession } from '../support/api.js';
import { startTestStack, type TestStack } from '../support/local-stack.js';
import { freshTable, workerDynamoEndpoint } from '../support/table.js';

/**
 * Every funnel figure against a brute-force recount from the raw items: the tenant's contact
 * profiles (erased ones left out) and their order copies, with counted and net recomputed at the
 * time of the check. Tenants keep the default zone, Asia/Shanghai (UTC+8, no DST), and CNY.
 */

// ─── The brute force ────────────────────────────────────────────────────────

const ZONE_OFFSET_MS = 8 * 3_600_000;
const DAY_MS = 86_400_000;
const BYS = [undefined, ...FUNNEL_BY] as const;
type By = Exclude<(typeof BYS)[number], undefined>;
const FILTERS = ['channel', 'channelDetail', 'hook', 'owner', 'account'] as const;
type Filter = (typeof FILTERS)[number];
type Dim = Filter | 'segment' | 'stage';

interface Counters {
  contacts: number;
  retained: number;
  buyers: number;
  orders: number;
  gmv: number;
}

interface Row {
  id: string;
  day: string;
  dims: Record<Dim, string>;
  counters: Counters;
}

type Item = Record<string, unknown>;

interface FunnelQ {
  from: string;
  to: string;
  by?: By;
  filters?: Partial<Record<Filter, string>>;
}

interface Figures {
  contacts: number;
  retained: number;
  buyers: number;
  orders: number;
  gmv: string;
  retentionRate: number | null;
  conversionRate: number | null;
  ordersPerBuyer: number | null;
  aov: number | null;
}

interface FunnelBody {
  from: string;
  to: string;
  total: Figures;
  groups: (Figures & { key: string })[];
}

const localDay = (instant: string | number) =>
  new Date(new Date(instant).getTime() + ZONE_OFFSET_MS).toISOString().slice(0, 10);

const empty = (): Counters => ({ contacts: 0, retained: 0, buyers: 0, orders: 0, gmv: 0 });

function add(into: Counters, from: Counters): void {
  into.contacts += from.contacts;
  into.retained += from.retained;
  into.buyers += from.buyers;
  into.orders += from.orders;
  into.gmv += from.gmv;
}

/** CNY minor units as the API writes them. */
const money = (minor: number) => `${Math.trunc(minor / 100)}.${String(minor % 100).padStart(2, '0')}`;
const minorOf = (amount: string) => {
  const [whole, fraction = ''] = amount.split('.');
  return Number(whole) * 100 + Number(fraction.padEnd(2, '0'));
};

interface CopyItem {
  totalMinor: number;
  paidAt: string;
  refunds?: { amountMinor: number; refundedAt: string }[];
}

/** A contact's counted orders and their net at `at`, straight from API.md "Counted and net". */
function purchases(copies: CopyItem[], at: number): { orders: number; net: number } {
  let orders = 0;
  let net = 0;
  for (const copy of copies) {
    if (Date.parse(copy.paidAt) > at) continue;
    const due = (copy.refunds ?? []).filter((r) => Date.parse(r.refundedAt) <= at);
    const refunded = due.reduce((sum, r) => sum + r.amountMinor, 0);
    if (due.length > 0 && refunded >= copy.totalMinor) continue;
    orders++;
    net += copy.totalMinor - Math.min(copy.totalMinor, refunded);
  }
  return { orders, net };
}

/**
 * The tenant's funnel rows from a table scan: one per non-erased contact, its counters recomputed
 * from its order copies (and its stored `stats` checked against them on the way).
 */
function rowsOf(items: readonly Item[], tenantId: string, at: number): Row[] {
  const prefix = `C#${tenantId}#`;
  const copies = new Map<string, CopyItem[]>();
  for (const item of items) {
    const pk = String(item.pk);
    if (!pk.startsWith(prefix) || !String(item.sk).startsWith('O#')) continue;
    copies.set(pk, [...(copies.get(pk) ?? []), item as unknown as CopyItem]);
  }
  const rows: Row[] = [];
  for (const item of items) {
    const pk = String(item.pk);
    if (!pk.startsWith(prefix) || item.sk !== 'PROFILE' || item.erased) continue;
    const bought = purchases(copies.get(pk) ?? [], at);
    const stats = item.stats as { orders: number; spentMinor: number };
    expect({ orders: stats.orders, spent: stats.spentMinor }, `stats of ${item.id}`).toEqual({
      orders: bought.orders,
      spent: bought.net,
    });
    const rfm = item.rfm as { segment?: string } | undefined;
    rows.push({
      id: String(item.id),
      day: localDay(String(item.addedAt)),
      dims: {
        channel: String(item.channel),
        channelDetail: (item.channelDetail as string | undefined) ?? 'none',
        hook: (item.hook as string | undefined) ?? 'none',
        owner: (item.ownerStaffId as string | undefined) ?? 'none',
        account: (item.accountId as string | undefined) ?? 'none',
        segment: rfm?.segment ?? 'none',
        stage: String(item.stage),
      },
      counters: {
        contacts: 1,
        retained: item.status === 'active' ? 1 : 0,
        buyers: bought.orders > 0 ? 1 : 0,
        orders: bought.orders,
        gmv: bought.net,
      },
    });
  }
  return rows;
}

/** The cohort of a query (staff: their own contacts), its total and its groups, by brute force. */
function recount(rows: readonly Row[], q: FunnelQ, staffId?: string) {
  const total = empty();
  const groups = new Map<string, Counters>();
  for (const row of rows) {
    if (row.day < q.from || row.day > q.to) continue;
    if (staffId !== undefined && row.dims.owner !== staffId) continue;
    if (!FILTERS.every((f) => q.filters?.[f] === undefined || row.dims[f] === q.filters[f])) continue;
    add(total, row.counters);
    if (q.by) {
      const key = q.by === 'cohort_month' ? row.day.slice(0, 7) : row.dims[q.by];
      const group = groups.get(key) ?? empty();
      add(group, row.counters);
      groups.set(key, group);
    }
  }
  return { total, groups };
}

/** The four rates by API.md: from the first zero divisor on, that factor and the later ones are null. */
function ratesOf(c: Counters): (number | null)[] {
  const steps: [number, number][] = [
    [c.retained, c.contacts],
    [c.buyers, c.retained],
    [c.orders, c.buyers],
    [c.gmv / 100, c.orders],
  ];
  const out: (number | null)[] = [];
  for (const [numerator, divisor] of steps) {
    out.push(out.includes(null) || divisor === 0 ? null : numerator / divisor);
  }
  return out;
}

function expectFigures(actual: Figures, expected: Counters, label: string): void {
  expect(
    {
      contacts: actual.contacts,
      retained: actual.retained,
      buyers: actual.buyers,
      orders: actual.orders,
      gmv: actual.gmv,
    },
    label,
  ).toEqual({ ...expected, gmv: money(expected.gmv) });
  const rates = [actual.retentionRate, actual.conversionRate, actual.ordersPerBuyer, actual.aov];
  const want = ratesOf(expected);
  expect(
    rates.map((r) => r === null),
    `${label}: null rates`,
  ).toEqual(want.map((r) => r === null));
  rates.forEach((r, i) => {
    if (r !== null)
      expect(Math.abs(r - want[i]!), `${label}: rate ${i}`).toBeLessThanOrEqual(
        1e-12 * Math.max(1, Math.abs(want[i]!)),
      );
  });
  if (rates.every((r) => r !== null)) {
    const product = actual.contacts * rates.reduce<number>((p, r) => p * r!, 1);
    expect(Math.abs(product * 100 - expected.gmv), `${label}: the five factors give gmv`).toBeLessThanOrEqual(
      1,
    );
  }
}

/** A response against the recount, and its groups against its own total (they partition it). */
function expectFunnel(body: FunnelBody, rows: readonly Row[], q: FunnelQ, staffId?: string): void {
  const label = `${staffId ?? 'admin'} ${queryString(q)}`;
  const { total, groups } = recount(rows, q, staffId);
  expect([body.from, body.to], label).toEqual([q.from, q.to]);
  expectFigures(body.total, total, `${label} total`);
  expect(body.groups.map((g) => g.key).sort(), `${label} group keys`).toEqual([...groups.keys()].sort());
  for (const group of body.groups)
    expectFigures(group, groups.get(group.key)!, `${label} group ${group.key}`);
  if (q.by) {
    const sum = empty();
    for (const g of body.groups) add(sum, { ...g, gmv: minorOf(g.gmv) });
    expect(sum, `${label}: groups add up to the total`).toEqual({ ...total });
  } else {
    expect(body.groups, label).toEqual([]);
  }
}

function queryString(q: FunnelQ): string {
  const params = new URLSearchParams({ from: q.from, to: q.to });
  if (q.by) params.set('by', q.by);
  for (const [name, value] of Object.entries(q.filters ?? {})) params.set(name, value);
  return params.toString();
}

/** Every filter value the rows hold, and `none`, per filter. */
function filterValues(rows: readonly Row[]): Record<Filter, string[]> {
  const out = {} as Record<Filter, string[]>;
  for (const f of FILTERS) out[f] = [...new Set([...rows.map((r) => r.dims[f]), 'none'])].sort();
  return out;
}

/**
 * The roll-ups against the month cells, by brute force: per month, dimension and value (overall,
 * and within each owner for the six others), the roll-ups' sum over shards equals the cells' sum.
 * Returns how many (month, dimension, value) sums are not zero.
 */
function expectRollupsMatchCells(items: readonly Item[], tenantId: string): number {
  const DIMS: Dim[] = ['channel', 'channelDetail', 'hook', 'owner', 'account', 'segment', 'stage'];
  const sum = (into: Map<string, Counters>, key: string, item: Item) => {
    const c = into.get(key) ?? empty();
    add(c, {
      contacts: Number(item.contacts ?? 0),
      retained: Number(item.retained ?? 0),
      buyers: Number(item.buyers ?? 0),
      orders: Number(item.orders ?? 0),
      gmv: Number(item.gmv ?? 0),
    });
    into.set(key, c);
  };
  const fromCells = new Map<string, Counters>();
  const fromRollups = new Map<string, Counters>();
  for (const item of items) {
    const pk = String(item.pk);
    const sk = String(item.sk);
    if (pk.startsWith(`FA#${tenantId}#`) && sk.startsWith('M#')) {
      for (const dim of DIMS) {
        sum(fromCells, `${item.month}|${dim}|${item[dim]}`, item);
        if (dim !== 'owner') sum(fromCells, `${item.month}|owner=${item.owner}|${dim}|${item[dim]}`, item);
      }
    } else if (pk.startsWith(`FR#${tenantId}#`)) {
      const parts = sk.split('#');
      const key = parts[1]!.startsWith('owner=')
        ? `${item.month}|${parts[1]}|${parts[2]}|${item[parts[2]!]}`
        : `${item.month}|${parts[1]}|${item[parts[1]!]}`;
      sum(fromRollups, key, item);
    }
  }
  const live = (m: Map<string, Counters>) =>
    Object.fromEntries(
      [...m.entries()]
        .filter(([, c]) => Object.values(c).some((n) => n !== 0))
        .sort(([a], [b]) => a.localeCompare(b)),
    );
  expect(live(fromRollups), 'roll-ups = the sum of the month cells').toEqual(live(fromCells));
  return Object.keys(live(fromCells)).length;
}

// ─── A scripted history through the HTTP API ────────────────────────────────

let stack: TestStack;
let brand: Awaited<ReturnType<typeof tenantSession>>;

async function scanTable(): Promise<Item[]> {
  return (await stack.scan()) as Item[];
}

/** The five months before the current one (tenant zone), oldest first: all in the past. */
const MONTHS = (() => {
  const [y, m] = localDay(Date.now()).split('-').map(Number) as [number, number];
  return [5, 4, 3, 2, 1].map((back) => {
    const d = new Date(Date.UTC(y, m - 1 - back, 1));
    return d.toISOString().slice(0, 7);
  });
})();
const at = (month: number, day: number, time = '12:00:00') =>
  new Date(`${MONTHS[month]}-${String(day).padStart(2, '0')}T${time}+08:00`).toISOString();
const TODAY = localDay(Date.now());
const RANGES: FunnelQ[] = [
  { from: `${MONTHS[0]}-01`, to: TODAY },
  { from: `${MONTHS[1]}-15`, to: `${MONTHS[3]}-01` },
  { from: `${MONTHS[2]}-01`, to: `${MONTHS[2]}-01` },
];

const OWNERS = ['ana', 'bo', 'cy', undefined];
const DETAILS = ['xiaohongshu', 'douyin', undefined];
const ACCOUNTS = ['wx1', 'wx2', undefined];
const HOOK_CHOICES = [...HOOKS, undefined];

let shop: { id: string; secret: string };
const tokens: Record<string, string> = {};
const contactIds: string[] = [];

async function deliver(
  type: 'order.paid' | 'order.refunded',
  order: unknown,
  eventId = `evt_${randomUUID()}`,
) {
  const body = Buffer.from(JSON.stringify({ type, order }));
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = createHmac('sha256', shop.secret).update(`${timestamp}.`).update(body).digest('hex');
  const res = await stack.request<{ status: string; reason?: string }>(
    'POST',
    `/v1/webhooks/shops/${shop.id}`,
    {
      body,
      headers: {
        'content-type': 'application/json',
        'siyu-timestamp': timestamp,
        'siyu-signature': `v1=${signature}`,
        'siyu-event-id': eventId,
      },
    },
  );
  expect(res.status, res.text).toBe(200);
  return res.body;
}

const buyer = (i: number) => ({ externalId: `crm-${i}` });
const order = (id: string, contact: object, total: string, paidAt: string, refund?: object) => ({
  id,
  total,
  currency: 'CNY',
  paidAt,
  contact,
  ...(refund ? { refund } : {}),
});

async function funnelOf(q: FunnelQ, token = brand.admin): Promise<FunnelBody> {
  return brand.ok<FunnelBody>('GET', `/v1/metrics/funnel?${queryString(q)}`, undefined, token);
}

beforeAll(async () => {
  stack = await startTestStack();
  brand = await tenantSession(stack, 'brand');

  // Staff, accounts and a generic shop whose new buyers go to cy.
  for (const id of ['ana', 'bo', 'cy']) tokens[id] = await brand.staff(id);
  await brand.ok('POST', '/v1/accounts', {
    id: 'wx1',
    name: 'Store phone',
    platform: 'wechat',
    operatorStaffId: 'ana',
  });
  await brand.ok('POST', '/v1/accounts', {
    id: 'wx2',
    name: 'Service',
    platform: 'wecom',
    operatorStaffId: 'cy',
  });
  const created = await brand.ok<{ id: string; secret: string }>('POST', '/v1/shops', {
    name: 'Mini shop',
    platform: 'generic',
    defaultOwnerStaffId: 'cy',
  });
  shop = { id: created.id, secret: created.secret };

  // 24 contacts over five months and every dimension, two on either side of a local month start.
  for (let i = 0; i < 24; i++) {
    const addedAt =
      i === 0
        ? at(2, 1, '00:00:00')
        : i === 1
          ? at(2, 1, '00:00:00').replace(/T.*/, 'T15:59:59.000Z')
          : at(i % 5, 1 + ((i * 7) % 27), `${String(i % 24).padStart(2, '0')}:30:00`);
    const owner = OWNERS[i % 4];
    const account = ACCOUNTS[Math.floor(i / 2) % 3];
    const detail = DETAILS[i % 3];
    const hook = HOOK_CHOICES[i % HOOK_CHOICES.length];
    const { id } = await brand.ok<{ id: string }>('POST', '/v1/contacts', {
      name: `Customer ${i}`,
      externalId: `crm-${i}`,
      ...(i % 6 === 0 ? { phone: `+8613900000${String(i).padStart(3, '0')}` } : {}),
      channel: CHANNELS[i % CHANNELS.length],
      ...(detail ? { channelDetail: detail } : {}),
      ...(hook ? { hook } : {}),
      ...(owner ? { ownerStaffId: owner } : {}),
      ...(account ? { accountId: account } : {}),
      addedAt,
    });
    contactIds.push(id);
  }
  // Staff add their own contacts (owner = themselves).
  for (let i = 24; i < 27; i++) {
    const { id } = await brand.ok<{ id: string }>(
      'POST',
      '/v1/contacts',
      {
        name: `Walk-in ${i}`,
        externalId: `crm-${i}`,
        channel: 'store',
        hook: 'gift',
        addedAt: at(3, i - 20),
      },
      tokens.ana,
    );
    contactIds.push(id);
  }
  // Another tenant's contact and order, which must count nowhere here.
  const other = await tenantSession(stack, 'other-brand');
  await other.ok('POST', '/v1/contacts', {
    name: 'Elsewhere',
    externalId: 'crm-3',
    channel: 'public',
    addedAt: at(2, 3),
  });
  await other.ok('POST', '/v1/orders/batch', { orders: [order('x1', buyer(3), '999.00', at(2, 4))] });

  // History import through the shop: repeats, a partial and a full refund, a zero order, a
  // duplicate inside the batch, four orders in a row (loyal).
  const imported = await brand.ok<{ results: { id: string; status: string }[] }>('POST', '/v1/orders/batch', {
    shopId: shop.id,
    orders: [
      order('h1', buyer(3), '199.00', at(2, 10)),
      order('h2', buyer(3), '50.00', at(3, 1)),
      order('h3', buyer(5), '300.00', at(1, 1), { id: 'r1', amount: '100.00', refundedAt: at(1, 5) }),
      order('h4', buyer(6), '80.00', at(0, 20), { id: 'r1', amount: '80.00', refundedAt: at(0, 21) }),
      order('h5', buyer(7), '0.00', at(3, 9)),
      order('h6', buyer(8), '120.00', at(1, 2)),
      order('h7', buyer(8), '130.50', at(2, 2)),
      order('h8', buyer(8), '99.99', at(3, 2)),
      order('h9', buyer(8), '10.01', at(4, 2)),
      order('h10', buyer(10), '66.60', at(2, 12)),
      order('h11', buyer(12), '45.00', at(2, 13)),
      order('h12', buyer(13), '1000.00', at(3, 14)),
      order('h13', buyer(15), '20.00', at(4, 15)),
      order('h14', buyer(17), '9.99', at(4, 16)),
      order('h15', buyer(20), '300.00', at(1, 17)),
      order('h16', buyer(21), '35.00', at(0, 18)),
      order('h17', buyer(24), '88.00', at(3, 19)),
      order('h18', buyer(26), '12.30', at(4, 20)),
      order('h1', buyer(3), '199.00', at(2, 10)),
    ],
  });
  expect(imported.results.map((r) => r.status)).toEqual([
    ...Array.from({ length: 18 }, () => 'recorded'),
    'duplicate',
  ]);

  // Webhooks: a new order (matched by phone), its duplicates under another and the same delivery id.
  const w1 = order('w1', { phone: '+8613900000018' }, '150.00', at(4, 1));
  expect((await deliver('order.paid', w1, 'evt_w1')).status).toBe('recorded');
  expect((await deliver('order.paid', w1)).status).toBe('duplicate');
  expect((await deliver('order.paid', w1, 'evt_w1')).status).toBe('duplicate');
  // An import already seen by the shop is a duplicate too.
  expect((await deliver('order.paid', order('h13', buyer(15), '20.00', at(4, 15)))).status).toBe('duplicate');
  // An unknown buyer becomes a commerce contact of the shop's default owner; an earlier order of
  // theirs moves their added date (and funnel cell) back two months.
  const stranger = { externalId: 'shop-buyer-1', name: 'New buyer' };
  expect((await deliver('order.paid', order('w2', stranger, '210.00', at(4, 3)))).status).toBe('recorded');
  expect((await deliver('order.paid', order('w3', stranger, '42.00', at(2, 6)))).status).toBe('recorded');
  // Refunds by webhook: partial, full, and a second partial one on an already refunded order.
  const refund = (o: object, id: string, amount: string, refundedAt: string) =>
    deliver('order.refunded', { ...o, refund: { id, amount, refundedAt } });
  expect((await refund(order('h10', buyer(10), '66.60', at(2, 12)), 'r1', '6.60', at(3, 1))).status).toBe(
    'recorded',
  );
  expect((await refund(order('h11', buyer(12), '45.00', at(2, 13)), 'r1', '45.00', at(3, 2))).status).toBe(
    'recorded',
  );
  expect((await refund(order('h3', buyer(5), '300.00', at(1, 1)), 'r2', '50.00', at(1, 9))).status).toBe(
    'recorded',
  );
  expect((await refund(order('h3', buyer(5), '300.00', at(1, 1)), 'r2', '50.00', at(1, 9))).status).toBe(
    'duplicate',
  );

  // Lost contacts (a buyer among them: conversion can pass 1), edits of every dimension, erasure.
  await brand.ok('PATCH', `/v1/contacts/${contactIds[5]}`, { status: 'lost' });
  await brand.ok('PATCH', `/v1/contacts/${contactIds[8]}`, { status: 'lost' });
  await brand.ok('PATCH', `/v1/contacts/${contactIds[2]}`, { status: 'lost' });
  await brand.ok('PATCH', `/v1/contacts/${contactIds[3]}`, { status: 'lost' });
  await brand.ok('PATCH', `/v1/contacts/${contactIds[23]}`, { status: 'lost' });
  await brand.ok('PATCH', `/v1/contacts/${contactIds[14]}`, { channel: 'referral', channelDetail: null });
  await brand.ok('PATCH', `/v1/contacts/${contactIds[9]}`, { hook: 'gift', accountId: 'wx2' });
  await brand.ok('PATCH', `/v1/contacts/${contactIds[11]}`, { accountId: null, ownerStaffId: 'ana' });
  await brand.ok('PATCH', `/v1/contacts/${contactIds[16]}`, { channelDetail: 'douyin', hook: null });
  await brand.ok('DELETE', `/v1/contacts/${contactIds[13]}`);

  // cy leaves: contacts (the shop's new buyer among them) and wx2 pass to bo.
  const { jobId: handover } = await brand.ok<{ jobId: string }>('POST', '/v1/staff/cy/handover', {
    toStaffId: 'bo',
  });
  expect((await brand.job(handover)).result).toMatchObject({ movedAccounts: 1 });

  // The RFM run scores the buyers (segments), then one more order changes a stage after it.
  const { jobId: rfm } = await brand.ok<{ jobId: string }>('POST', '/v1/jobs/rfm', {});
  expect((await brand.job(rfm)).status).toBe('succeeded');
  expect((await deliver('order.paid', order('w4', buyer(19), '77.70', at(4, 21)))).status).toBe('recorded');
  // Whole months are read from the roll-ups, which follow the month cells through the table stream.
  await stack.drain();
}, 300_000);

afterAll(async () => {
  await stack?.stop();
});

describe('GET /v1/metrics/funnel after a scripted history', () => {
  it('holds the cases the history was written to produce', async () => {
    const rows = rowsOf(await scanTable(), 'brand', Date.now());
    const dims = (d: Dim) => new Set(rows.map((r) => r.dims[d]));
    const stranger = (
      await brand.ok<{ items: { id: string; name: string }[] }>('GET', '/v1/contacts?q=new buyer')
    ).items[0]!;

    // 27 created, 1 from a shop order, 1 erased.
    expect(rows).toHaveLength(27);
    expect(rows.some((r) => r.id === contactIds[13])).toBe(false);
    expect(rows.find((r) => r.id === stranger.id)).toMatchObject({
      day: localDay(at(2, 6)),
      dims: { channel: 'commerce', owner: 'bo' },
      counters: { orders: 2, gmv: 25_200 },
    });
    expect(dims('owner').has('cy')).toBe(false);
    expect([...dims('stage')].sort()).toEqual(['first_purchase', 'loyal', 'prospect', 'repeat']);
    expect(dims('segment').size).toBeGreaterThan(2);
    expect(rows.filter((r) => r.day === `${MONTHS[2]}-01`).map((r) => r.id)).toEqual([contactIds[0]]);
    // Lost buyers: more buyers than retained contacts in a group.
    const referral = recount(rows, { ...RANGES[0]!, filters: { channel: 'referral' } }).total;
    expect(ratesOf(referral)[1]).toBeGreaterThan(1);
  });

  it('keeps the roll-ups equal to the sum of the month cells once the stream is applied', async () => {
    expect(expectRollupsMatchCells(await scanTable(), 'brand')).toBeGreaterThan(50);
  });

  it('rebuilds lost, changed and stray roll-ups from the month cells, and no other tenant’s', async () => {
    const db = createDocumentClient(new DynamoDBClient({ ...LOCAL_AWS, endpoint: stack.dynamoEndpoint }));
    const deps = { db, tableName: stack.tableName };
    const COUNTERS = ['contacts', 'retained', 'buyers', 'orders', 'gmv'];
    // A counter left out reads as 0; a roll-up whose counters are all 0 is the same as none.
    const rollupsOf = (items: Item[], tenantId: string) =>
      items
        .filter((i) => String(i.pk).startsWith(`FR#${tenantId}#`))
        .map((i) => ({ ...i, ...Object.fromEntries(COUNTERS.map((n) => [n, Number(i[n] ?? 0)])) }))
        .filter((i) => COUNTERS.some((n) => i[n] !== 0))
        .sort((a, b) => `${a.pk}|${a.sk}`.localeCompare(`${b.pk}|${b.sk}`));
    try {
      const kept = rollupsOf(await scanTable(), 'brand');
      expect(kept.length).toBeGreaterThan(50);
      const [changed, ...rest] = kept;
      const stray = { pk: 'FR#brand#1999', sk: 'B#channel#1999-01#public#0', contacts: 3, month: '1999-01' };
      const otherTenant = {
        pk: 'FR#other#1999',
        sk: 'B#channel#1999-01#public#0',
        contacts: 2,
        month: '1999-01',
      };
      for (const lost of rest.slice(0, 20)) {
        await db.send(new DeleteCommand({ TableName: stack.tableName, Key: { pk: lost.pk, sk: lost.sk } }));
      }
      await db.send(new PutCommand({ TableName: stack.tableName, Item: { ...changed, gmv: 999_999 } }));
      for (const Item of [stray, otherTenant])
        await db.send(new PutCommand({ TableName: stack.tableName, Item }));

      const result = (await rebuildFunnelRollups(deps, ['brand'])).get('brand')!;

      expect(result).toMatchObject({ written: kept.length });
      expect(result.monthCells).toBeGreaterThan(0);
      expect(result.deleted).toBeGreaterThanOrEqual(1);
      const after = await scanTable();
      expect(rollupsOf(after, 'brand')).toEqual(kept);
      expect(after.find((i) => i.pk === stray.pk)).toBeUndefined();
      expect(after.find((i) => i.pk === otherTenant.pk)).toEqual(otherTenant);
      expectRollupsMatchCells(after, 'brand');
    } finally {
      await db.send(
        new DeleteCommand({
          TableName: stack.tableName,
          Key: { pk: 'FR#other#1999', sk: 'B#channel#1999-01#public#0' },
        }),
      );
      db.destroy();
    }
  });

  it('equals a brute-force recount for every range, every by and every filter value', async () => {
    const rows = rowsOf(await scanTable(), 'brand', Date.now());
    const values = filterValues(rows);

    for (const range of RANGES) {
      const filterSets: Partial<Record<Filter, string>>[] = [{}];
      if (range === RANGES[0]) {
        for (const f of FILTERS) for (const v of values[f]) filterSets.push({ [f]: v });
        filterSets.push(
          { channel: 'store', hook: 'gift' },
          { owner: 'bo', account: 'wx2' },
          { channel: 'bogus' },
        );
      }
      for (const filters of filterSets) {
        for (const by of BYS) {
          const q: FunnelQ = { ...range, ...(by ? { by } : {}), filters };
          expectFunnel(await funnelOf(q), rows, q);
        }
      }
    }
  }, 240_000);

  it('shows staff only their own contacts, whatever owner filter they send', async () => {
    const rows = rowsOf(await scanTable(), 'brand', Date.now());

    for (const staffId of ['ana', 'bo']) {
      for (const filters of [
        {},
        { owner: staffId },
        { owner: staffId === 'ana' ? 'bo' : 'ana' },
        { owner: 'none' },
        { channel: 'store' },
      ]) {
        for (const by of BYS) {
          const q: FunnelQ = { ...RANGES[0]!, ...(by ? { by } : {}), filters };
          const expected = filters.owner && filters.owner !== staffId ? [] : rows;
          expectFunnel(await funnelOf(q, tokens[staffId]), expected, q, staffId);
        }
      }
    }
    const mine = await funnelOf(RANGES[0]!, tokens.ana);
    expect(mine.total.contacts).toBeGreaterThan(3);
  }, 120_000);

  it('refuses the funnel to a staff member who left', async () => {
    const res = await brand.call(
      'GET',
      `/v1/metrics/funnel?${queryString(RANGES[0]!)}`,
      undefined,
      tokens.cy,
    );

    expect(res.status).toBe(403);
  });

  it('counts a webhook order at once', async () => {
    const before = await funnelOf(RANGES[0]!);
    const prospect = contactIds[22]!;
    expect(
      (await brand.ok<{ stats: { orders: number } }>('GET', `/v1/contacts/${prospect}`)).stats.orders,
    ).toBe(0);

    const started = Date.now();
    expect(
      (
        await deliver(
          'order.paid',
          order('w5', buyer(22), '500.00', new Date(started - 60_000).toISOString()),
        )
      ).status,
    ).toBe('recorded');
    let after = await funnelOf(RANGES[0]!);
    while (after.total.orders === before.total.orders && Date.now() - started < 5_000) {
      after = await funnelOf(RANGES[0]!);
    }

    expect(Date.now() - started).toBeLessThan(5_000);
    // Every record of the write applied (the contact's old and new cells): the figures settle.
    await stack.drain();
    after = await funnelOf(RANGES[0]!);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(after.total.buyers).toBe(before.total.buyers + 1);
    expect(after.total.orders).toBe(before.total.orders + 1);
    expect(minorOf(after.total.gmv) - minorOf(before.total.gmv)).toBe(50_000);
    expectFunnel(after, rowsOf(await scanTable(), 'brand', Date.now()), RANGES[0]!);
  });
});

describe('GET /v1/metrics/funnel/compare', () => {
  interface Comparison {
    a: Figures;
    b: Figures;
    factors: {
      name: string;
      a: number | null;
      b: number | null;
      ratio: number | null;
      share: number | null;
    }[];
    reason?: string;
  }
  const compare = (a: FunnelQ, b: FunnelQ, token = brand.admin) =>
    brand.ok<Comparison>(
      'GET',
      `/v1/metrics/funnel/compare?a=${encodeURIComponent(queryString(a))}&b=${encodeURIComponent(queryString(b))}`,
      undefined,
      token,
    );

  it('compares two channels factor by factor, the shares adding up to 1', async () => {
    const rows = rowsOf(await scanTable(), 'brand', Date.now());
    const a: FunnelQ = { ...RANGES[0]!, filters: { channel: 'public' } };
    const b: FunnelQ = { ...RANGES[0]!, filters: { channel: 'store' } };
    const [ca, cb] = [recount(rows, a).total, recount(rows, b).total];
    expect([...ratesOf(ca), ...ratesOf(cb)].every((r) => r !== null && r !== 0)).toBe(true);
    expect(ca.gmv).not.toBe(cb.gmv);

    const result = await compare(a, b);

    expectFigures(result.a, ca, 'a');
    expectFigures(result.b, cb, 'b');
    expect(result.reason).toBeUndefined();
    expect(result.factors.map((f) => f.name)).toEqual([
      'contacts',
      'retentionRate',
      'conversionRate',
      'ordersPerBuyer',
      'aov',
    ]);
    const [fa, fb] = [
      [ca.contacts, ...ratesOf(ca)],
      [cb.contacts, ...ratesOf(cb)],
    ];
    result.factors.forEach((f, i) => {
      expect(f.a).toBeCloseTo(fa[i]!, 12);
      expect(f.b).toBeCloseTo(fb[i]!, 12);
      expect(f.ratio).toBeCloseTo(fa[i]! / fb[i]!, 12);
      expect(f.share).toBeCloseTo(Math.log(fa[i]! / fb[i]!) / Math.log(ca.gmv / cb.gmv), 9);
    });
    expect(result.factors.reduce((sum, f) => sum + f.share!, 0)).toBeCloseTo(1, 9);
  });

  it('says equal_gmv for a funnel against itself and zero_factor against an empty cohort', async () => {
    const all = RANGES[0]!;

    const itself = await compare(all, all);
    const none = await compare(all, { ...all, filters: { channel: 'bogus' } });

    expect(itself.reason).toBe('equal_gmv');
    expect(itself.factors.every((f) => f.ratio === 1 && f.share === null)).toBe(true);
    expect(none.reason).toBe('zero_factor');
    expect(none.factors.every((f) => f.ratio === null && f.share === null)).toBe(true);
  });

  it('compares over the staff member’s own contacts only', async () => {
    const rows = rowsOf(await scanTable(), 'brand', Date.now());
    const q: FunnelQ = RANGES[0]!;

    const result = await compare(q, { ...q, filters: { channel: 'store' } }, tokens.ana);

    expectFigures(result.a, recount(rows, q, 'ana').total, 'a');
    expectFigures(result.b, recount(rows, { ...q, filters: { channel: 'store' } }, 'ana').total, 'b');
  });
});

// ─── Random histories through the use cases ─────────────────────────────────

const RUNS = Number(process.env.FUZZ_RUNS ?? 12);
const STAFF = ['sa', 'sb', 'sc'];
const DETAIL_VALUES = ['xhs', 'douyin'];

type Op =
  | {
      kind: 'add';
      channel: (typeof CHANNELS)[number];
      detail?: string;
      hook?: (typeof HOOKS)[number];
      owner?: string;
      account?: string;
      daysAgo: number;
      lost: boolean;
    }
  | { kind: 'patch'; target: number; patch: Record<string, unknown> }
  | { kind: 'order'; target: number; totalMinor: number; daysAgo: number; refundMinor?: number }
  | { kind: 'stranger'; buyer: number; totalMinor: number; daysAgo: number }
  | { kind: 'refund'; order: number; amountMinor: number }
  | { kind: 'erase'; target: number }
  | { kind: 'handover'; from: number; to: number }
  | { kind: 'rfm' };

const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const arbitraryOp: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('add' as const),
      channel: fc.constantFrom(...CHANNELS),
      detail: maybe(fc.constantFrom(...DETAIL_VALUES)),
      hook: maybe(fc.constantFrom(...HOOKS)),
      owner: maybe(fc.constantFrom(...STAFF)),
      account: maybe(fc.constantFrom('acc1', 'acc2')),
      daysAgo: fc.integer({ min: 0, max: 120 }),
      lost: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('patch' as const),
      target: fc.nat(),
      patch: fc.oneof(
        fc.record({ channel: fc.constantFrom(...CHANNELS) }),
        fc.record({ channelDetail: fc.constantFrom<string | null>(...DETAIL_VALUES, null) }),
        fc.record({ hook: fc.constantFrom<string | null>(...HOOKS, null) }),
        fc.record({ ownerStaffId: fc.constantFrom<string | null>(...STAFF, null) }),
        fc.record({ accountId: fc.constantFrom<string | null>('acc1', 'acc2', null) }),
        fc.record({ status: fc.constantFrom('active', 'lost') }),
      ),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('order' as const),
      target: fc.nat(),
      totalMinor: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 100_000 })),
      daysAgo: fc.integer({ min: 1, max: 200 }),
      refundMinor: maybe(fc.integer({ min: 1, max: 100_000 })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('stranger' as const),
      buyer: fc.integer({ min: 0, max: 1 }),
      totalMinor: fc.integer({ min: 1, max: 100_000 }),
      daysAgo: fc.integer({ min: 1, max: 200 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('refund' as const),
      order: fc.nat(),
      amountMinor: fc.integer({ min: 1, max: 100_000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('erase' as const), target: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('handover' as const),
      from: fc.integer({ min: 0, max: 2 }),
      to: fc.integer({ min: 0, max: 2 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'rfm' as const }) },
);

/** A random funnel query: any range over the last months, any by, maybe one filter. */
const arbitraryQuery = fc.record({
  fromDaysAgo: fc.integer({ min: 0, max: 240 }),
  span: fc.integer({ min: 0, max: 240 }),
  by: fc.constantFrom(...BYS),
  filter: maybe(
    fc.record({
      name: fc.constantFrom(...FILTERS),
      value: fc.constantFrom('none', 'public', 'store', 'xhs', 'coupon', 'gift', 'sa', 'sb', 'acc1', 'acc2'),
    }),
  ),
});

async function runToEnd(deps: Deps, tenantId: string, jobId: string): Promise<void> {
  const outcome = await runJob(
    deps,
    jobRegistry,
    { tenantId, jobId },
    {
      owner: 'funnel-test',
      leaseMs: 60_000,
      remainingMs: () => 60_000,
      reserveMs: 0,
    },
  );
  expect(outcome).toBe('succeeded');
}

async function applyOp(
  deps: Deps,
  caller: Caller,
  op: Op,
  ids: string[],
  orders: { id: string; target: string; totalMinor: number; paidAt: string }[],
) {
  const now = Date.now();
  const pick = (n: number) => ids[n % Math.max(1, ids.length)];
  const source = { tenantId: caller.tenantId };
  switch (op.kind) {
    case 'add': {
      const contact = await createContact(deps, caller, {
        name: `Contact ${ids.length}`,
        externalId: `x${ids.length}`,
        channel: op.channel,
        ...(op.detail ? { channelDetail: op.detail } : {}),
        ...(op.hook ? { hook: op.hook } : {}),
        ...(op.owner ? { ownerStaffId: op.owner } : {}),
        ...(op.account ? { accountId: op.account } : {}),
        ...(op.lost ? { status: 'lost' as const } : {}),
        addedAt: new Date(now - op.daysAgo * DAY_MS - 3_600_000).toISOString(),
      });
      ids.push(contact.id);
      return;
    }
    case 'patch': {
      const id = pick(op.target);
      if (id) await patchContact(deps, caller, id, op.patch as Parameters<typeof patchContact>[3]);
      return;
    }
    case 'order':
    case 'stranger': {
      const target = op.kind === 'order' ? pick(op.target) : `stranger-${op.buyer}`;
      if (!target) return;
      const ext = op.kind === 'order' ? `x${ids.indexOf(target)}` : target;
      const paidAt = new Date(now - op.daysAgo * DAY_MS).toISOString();
      const externalOrderId = `o${orders.length}`;
      const refund = op.kind === 'order' && op.refundMinor !== undefined ? op.refundMinor : undefined;
      const outcome = await recordOrderFacts(deps, source, {
        order: {
          externalOrderId,
          total: money(op.totalMinor),
          currency: 'CNY',
          paidAt,
          buyer: { match: [{ kind: 'ext', value: ext }], externalId: ext },
        },
        refunds:
          refund === undefined
            ? []
            : [
                {
                  externalOrderId,
                  refundId: 'r0',
                  amount: money(refund),
                  refundedAt: new Date(now - 60_000).toISOString(),
                },
              ],
      });
      expect(outcome.status).toBe('recorded');
      orders.push({ id: externalOrderId, target, totalMinor: op.totalMinor, paidAt });
      return;
    }
    case 'refund': {
      const o = orders[op.order % Math.max(1, orders.length)];
      if (!o) return;
      await recordOrderFacts(deps, source, {
        refunds: [
          {
            externalOrderId: o.id,
            refundId: `r${op.amountMinor}`,
            amount: money(op.amountMinor),
            refundedAt: new Date(now - 30_000).toISOString(),
          },
        ],
        currency: 'CNY',
      });
      return;
    }
    case 'erase': {
      const id = pick(op.target);
      if (id) await eraseContact(deps, caller, id);
      return;
    }
    case 'handover': {
      const { jobId } = await startHandover(deps, caller, STAFF[op.from]!, STAFF[op.to]!);
      await runToEnd(deps, caller.tenantId, jobId);
      return;
    }
    case 'rfm': {
      const { jobId } = await requestRfmRun(deps, caller);
      await runToEnd(deps, caller.tenantId, jobId);
      return;
    }
  }
}

/** Runs the roll-up consumer on the table's stream, as the stack's poller does, until it is caught up. */
async function rollupsCaughtUp(deps: Deps): Promise<void> {
  const poller = new OutboxPoller({
    tableName: deps.tableName,
    dynamoEndpoint: workerDynamoEndpoint()!,
    filter: streamConsumers.funnelRollups.filter,
    intervalMs: 20,
    invoke: async (event) => {
      const result = await applyFunnelRecords(deps, event.Records as CellStreamRecord[]);
      return {
        batchItemFailures: result.failedSequenceNumbers.map((itemIdentifier) => ({ itemIdentifier })),
      };
    },
  });
  poller.start();
  try {
    await poller.catchUp();
  } finally {
    await poller.stop();
  }
}

describe('funnel aggregates under random histories', () => {
  it('equal a brute-force recount after any short history of contact, order, handover and RFM writes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(arbitraryOp, { minLength: 3, maxLength: 18 }),
        fc.array(arbitraryQuery, { minLength: 4, maxLength: 4 }),
        async (ops, queries) => {
          // Prepare: a fresh table with three staff and two accounts.
          const table = await freshTable();
          const deps: Deps = { db: table.db, tableName: table.tableName, now: () => new Date() };
          const tenantId = 'prop';
          const caller: Caller = { tenantId, role: 'admin', staffId: 'admin-1' };
          try {
            for (const id of STAFF) await createStaff(deps, caller, { id, name: id });
            for (const [i, id] of ['acc1', 'acc2'].entries()) {
              await createAccount(deps, caller, {
                id,
                name: id,
                platform: 'wechat',
                operatorStaffId: STAFF[i]!,
              });
            }

            // Act: the history, each write on its own (a refused one — erased, left — is skipped).
            const ids: string[] = [];
            const orders: { id: string; target: string; totalMinor: number; paidAt: string }[] = [];
            for (const op of ops) {
              try {
                await applyOp(deps, caller, op, ids, orders);
              } catch (error) {
                if (!(error instanceof DomainError)) throw error;
              }
            }

            // The roll-ups follow the month cells through the table stream: the consumer catches up.
            await rollupsCaughtUp(deps);

            // Assess: the roll-ups against the cells; the whole range, then random ranges, bys and
            // filters, for admin and staff.
            const items = await table.scan();
            expectRollupsMatchCells(items, tenantId);
            const rows = rowsOf(items, tenantId, Date.now());
            const today = localDay(Date.now());
            const checks: FunnelQ[] = BYS.map((by) => ({
              from: localDay(Date.now() - 400 * DAY_MS),
              to: today,
              ...(by ? { by } : {}),
            }));
            for (const r of queries) {
              const from = localDay(Date.now() - r.fromDaysAgo * DAY_MS);
              const to = localDay(Date.now() - Math.max(0, r.fromDaysAgo - r.span) * DAY_MS);
              checks.push({
                from,
                to,
                ...(r.by ? { by: r.by } : {}),
                ...(r.filter ? { filters: { [r.filter.name]: r.filter.value } } : {}),
              });
            }
            for (const q of checks) {
              const parsed = FunnelQuery.parse(Object.fromEntries(new URLSearchParams(queryString(q))));
              expectFunnel(await funnel(deps, caller, parsed), rows, q);
              const staff: Caller = { tenantId, role: 'staff', staffId: 'sb' };
              expectFunnel(await funnel(deps, staff, parsed), rows, q, 'sb');
            }
          } finally {
            table.raw.destroy();
          }
        },
      ),
      // A run costs seconds (a fresh table, then the history): report the first failing history
      // as found rather than shrink it past the test's time limit.
      { numRuns: RUNS, endOnFailure: true },
    );
  }, 300_000);
});
