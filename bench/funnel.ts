/**
 * Funnel reads through the local stack's HTTP API on DynamoDB Local: CDNOW (23,570 customers, each
 * a contact added at its first purchase, with its orders' stats, its RFM segment and its stage at
 * 1998-07-01) and the same replicated 10× under other ids, as a second tenant of the same table.
 * Channel, channel detail, hook, owner (and the owner's account) follow from a hash of the contact
 * id. Then 200 funnel queries over the full year 1997 for each `by` (and none) per size, the sizes
 * taking turns query by query so load on the machine hits both alike: p50/p95 per `by`, and the
 * 10×/1× ratios.
 *
 * The seeded items are the funnel aggregates the write path and the stream consumer produce, summed
 * in memory through their own `funnelPlace`, `moveFunnel` (cells, checked against really committed
 * contact writes on a sample before timing) and `moveFunnelRollups` (the roll-ups as the consumer
 * leaves them once caught up), and the tenant's settings. Profiles, orders and list entries are left out: the
 * funnel never reads them (and DynamoDB finds a partition without reading the others).
 *
 * The tables are seeded by batch writes into an in-memory DynamoDB Local, each run: about 25 s at
 * 1× and 2–3 min at 10× here, where seeding a table on disk wrote some 80 items/s (41,126 items of
 * 1× in 505 s), so a cached 10× table would first cost an hour. A given endpoint keeps its seeded
 * tables: a table is seeded once, marked, and reused by later runs.
 *
 *   npx tsx bench/funnel.ts            (starts an in-memory DynamoDB Local)
 *   SIYU_BENCH_DYNAMO_ENDPOINT=http://127.0.0.1:8000 npx tsx bench/funnel.ts
 */
import { createHash, randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { DeleteTableCommand, DynamoDBClient, UpdateTableCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ensureTable, LOCAL_AWS, startDynamoDbLocal } from '../infra/local/dynamodb-local.js';
import { signLocalToken } from '../infra/local/jwt.js';
import { createDocumentClient } from '../shared/db/client.js';
import { moveFunnel, moveFunnelRollups, stageContactChange } from '../shared/db/contact-store.js';
import { keys } from '../shared/db/keys.js';
import { batchWriteAll } from '../shared/db/query.js';
import { type Key, UnitOfWork } from '../shared/db/unit-of-work.js';
import {
  CHANNELS,
  type Contact,
  type FunnelCounters,
  funnelPlace,
  HOOKS,
  stageOf,
} from '../shared/domain/contact.js';
import { type RfmContact, scoreRfm } from '../shared/domain/rfm.js';
import { FUNNEL_BY } from '../shared/schemas/metrics.js';
import type { Settings } from '../shared/schemas/settings.js';
import { CDNOW_PATH, groupByContact, readCdnow } from '../test/support/rfm-reference.js';
import { CounterSums } from './funnel-sums.js';
import { percentile, round } from './support.js';

const TENANT = 'cdnow';
const SETTINGS: Settings = {
  timezone: 'UTC',
  currency: 'USD',
  rfm: { windowDays: 365 },
  lifecycle: { loyalMinOrders: 4, loyalWithinDays: 180 },
};
const AS_OF = Date.parse('1998-07-01T00:00:00Z');
const RANGE = { from: '1997-01-01', to: '1997-12-31' };
/** Queries per `by` and size (fewer for a quick look: SIYU_BENCH_FUNNEL_QUERIES=20). */
const QUERIES = Number(process.env.SIYU_BENCH_FUNNEL_QUERIES ?? 200);
const WARMUP = 10;
const STAFF = 10;
const ACCOUNTS = 5;
const DETAILS: Partial<Record<(typeof CHANNELS)[number], string[]>> = {
  public: ['xiaohongshu', 'douyin', 'zhihu'],
  commerce: ['tmall', 'jd'],
};
/** Bump when the seeded items change: the seeded tables of a given endpoint are keyed by it. */
const SEED_VERSION = 5;
const SEEDED = { pk: 'BENCH', sk: 'SEEDED' };

type Item = Key & Record<string, unknown>;

/** CDNOW customers as contacts: copy k of customer c has id `k-c`; dims from a hash of the id. */
function* contacts(customers: readonly RfmContact[], copies: number, tenantId = TENANT): Generator<Contact> {
  const segments = new Map(
    scoreRfm(customers, { asOf: AS_OF, windowDays: SETTINGS.rfm.windowDays }).contacts.map((s) => [
      s.contactId,
      s,
    ]),
  );
  const computedAt = new Date(AS_OF).toISOString();
  for (let k = 0; k < copies; k++) {
    for (const customer of customers) {
      const id = `${k}-${customer.contactId}`;
      const h = createHash('sha1').update(id).digest();
      const channel = CHANNELS[h[0]! % CHANNELS.length]!;
      const details = DETAILS[channel];
      const hook = HOOKS[h[2]! % (HOOKS.length + 1)];
      const owner = h[3]! % STAFF;
      const paid = customer.orders.map((o) => o.paidAtMs).sort((a, b) => a - b);
      const stats = {
        orders: paid.length,
        spentMinor: customer.orders.reduce((sum, o) => sum + o.totalMinor, 0),
        firstOrderAt: new Date(paid[0]!).toISOString(),
        lastOrderAt: new Date(paid.at(-1)!).toISOString(),
      };
      const { contactId: _id, ...rfm } = segments.get(customer.contactId)!;
      yield {
        tenantId,
        id,
        name: `Customer ${customer.contactId}`,
        externalId: `cdnow:${id}`,
        ownerStaffId: `staff-${owner}`,
        accountId: `acct-${owner % ACCOUNTS}`,
        channel,
        ...(details ? { channelDetail: details[h[1]! % details.length]! } : {}),
        ...(hook ? { hook } : {}),
        tags: [],
        status: h[4]! % 8 === 0 ? 'lost' : 'active',
        addedAt: stats.firstOrderAt,
        stage: stageOf(stats, SETTINGS.lifecycle, new Date(AS_OF)),
        stats,
        rfm: { ...rfm, computedAt },
        version: 1,
        createdAt: computedAt,
        updatedAt: computedAt,
      };
    }
  }
}

interface Dataset {
  items: Item[];
  contacts: number;
  /** What the full-year funnel must answer, summed straight from the contacts. */
  total: FunnelCounters;
  /** Month cell items of 1997: what a year of a `by` × filter combination served from cells reads. */
  monthCells: number;
  /** Dimension roll-up items of 1997 (overall and per owner), of which unfiltered queries read one dimension's. */
  rollups: number;
}

function dataset(customers: readonly RfmContact[], copies: number, tenantId: string): Dataset {
  const cells = new CounterSums('bench');
  const total: FunnelCounters = { contacts: 0, retained: 0, buyers: 0, orders: 0, gmv: 0 };
  let count = 0;
  for (const contact of contacts(customers, copies, tenantId)) {
    const place = funnelPlace(contact, SETTINGS.timezone);
    moveFunnel(cells, tenantId, contact.id, undefined, place);
    moveFunnelRollups(cells, tenantId, contact.id, undefined, place);
    if (place.day >= RANGE.from && place.day <= RANGE.to) {
      for (const name of Object.keys(total) as (keyof FunnelCounters)[]) total[name] += place.counters[name];
    }
    count++;
  }
  const funnelItems = [...cells.items.values()];
  const inRange = (prefix: string) =>
    funnelItems.filter(
      (i) =>
        String(i.sk).startsWith(prefix) &&
        String(i.month) >= RANGE.from.slice(0, 7) &&
        String(i.month) <= RANGE.to.slice(0, 7),
    ).length;
  return { items: funnelItems, contacts: count, total, monthCells: inRange('M#'), rollups: inRange('B#') };
}

/**
 * The in-memory cells equal what committed contact writes leave in the table: a sample of contacts
 * written through `stageContactChange` on a scratch table, its funnel partitions read back.
 */
async function checkCellsAgainstWritePath(client: DynamoDBClient, customers: readonly RfmContact[]) {
  const tableName = `siyu-bench-funnel-check-${randomUUID().slice(0, 8)}`;
  await ensureTable(client, tableName);
  const db = createDocumentClient(client);
  try {
    const sample = [...contacts(customers.slice(0, 150), 2)];
    for (const contact of sample) {
      const uow = new UnitOfWork(tableName);
      stageContactChange(uow, {
        before: undefined,
        after: contact,
        timeZone: SETTINGS.timezone,
        at: contact.createdAt,
      });
      await uow.commit(db);
    }
    const cells = new CounterSums('bench');
    for (const contact of sample)
      moveFunnel(cells, TENANT, contact.id, undefined, funnelPlace(contact, SETTINGS.timezone));
    const expected = new Map([...cells.items.values()].map((i) => [`${i.pk}\u0000${i.sk}`, i]));
    const partitions = new Set([...expected.values()].map((i) => String(i.pk)));
    let stored = 0;
    for (const pk of partitions) {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await db.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': pk },
            ExclusiveStartKey: start,
          }),
        );
        for (const item of page.Items ?? []) {
          stored++;
          const want = expected.get(`${item.pk}\u0000${item.sk}`);
          if (JSON.stringify(sortKeys(item)) !== JSON.stringify(sortKeys(want ?? {}))) {
            throw new Error(`seeded cell differs from the write path: ${JSON.stringify({ item, want })}`);
          }
        }
        start = page.LastEvaluatedKey;
      } while (start);
    }
    if (stored !== expected.size)
      throw new Error(`write path left ${stored} cells, seeding makes ${expected.size}`);
    return stored;
  } finally {
    await client.send(new DeleteTableCommand({ TableName: tableName }));
  }
}

const sortKeys = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));

/**
 * Seeds a table once with every size's tenant (stream off while seeding: the stack's poller need
 * not read it back); a table seeded before is marked and reused.
 */
async function seed(
  client: DynamoDBClient,
  tableName: string,
  tenants: readonly { tenantId: string; data: Dataset }[],
): Promise<{ seeded: boolean; seconds: number }> {
  const db = createDocumentClient(client);
  await ensureTable(client, tableName);
  const marker = await db.send(new GetCommand({ TableName: tableName, Key: SEEDED, ConsistentRead: true }));
  if (marker.Item) return { seeded: false, seconds: 0 };
  const started = Date.now();
  await client.send(
    new UpdateTableCommand({ TableName: tableName, StreamSpecification: { StreamEnabled: false } }),
  );
  let written = 0;
  for (const { tenantId, data } of tenants) {
    const { items } = data;
    await batchWriteAll(
      { db, tableName },
      items.map((Item) => ({ PutRequest: { Item } })),
      6,
    );
    await db.send(
      new PutCommand({
        TableName: tableName,
        Item: { ...keys.settings(tenantId), settings: SETTINGS, version: 1, hasData: true },
      }),
    );
    written += items.length;
  }
  await db.send(new PutCommand({ TableName: tableName, Item: { ...SEEDED, items: written } }));
  return { seeded: true, seconds: (Date.now() - started) / 1000 };
}

interface Timing {
  p50: number;
  p95: number;
  groups: number;
}

/**
 * 200 queries per `by` through the local stack's HTTP API (after a warm-up), as each size's tenant,
 * the sizes taking turns query by query so that load on the machine hits both alike; and each
 * size's full-year total.
 */
async function measure(endpoint: string, tableName: string) {
  // Loaded here, after the log levels are set: its handlers' loggers read them when they load.
  const { startLocalStack } = await import('../infra/local/stack.js');
  const stack = await startLocalStack({
    port: 0,
    schedules: false,
    tableName,
    dynamoEndpoint: endpoint,
    inMemory: true,
  });
  try {
    const tokens = bySize(
      await Promise.all(
        SIZES.map((size) => signLocalToken({ tenant: TENANTS[size], role: 'admin', sub: 'bench' })),
      ),
    );
    const get = async (size: Size, by?: string) => {
      const params = new URLSearchParams({ ...RANGE, ...(by ? { by } : {}) });
      const started = performance.now();
      const res = await fetch(`${stack.url}/v1/metrics/funnel?${params}`, {
        headers: { authorization: `Bearer ${tokens[size]}` },
      });
      const body = (await res.json()) as { total: Record<string, unknown>; groups: unknown[] };
      const ms = performance.now() - started;
      if (res.status !== 200) throw new Error(`funnel answered ${res.status}: ${JSON.stringify(body)}`);
      return { ms, body };
    };
    for (let i = 0; i < WARMUP; i++)
      for (const size of SIZES) await get(size, FUNNEL_BY[i % FUNNEL_BY.length]);
    const timings = bySize(SIZES.map((): Record<string, Timing> => ({})));
    for (const by of [undefined, ...FUNNEL_BY]) {
      const times = bySize(SIZES.map((): number[] => []));
      const groups = bySize(SIZES.map(() => 0));
      for (let i = 0; i < QUERIES; i++) {
        for (const size of SIZES) {
          const { ms, body } = await get(size, by);
          times[size].push(ms);
          groups[size] = body.groups.length;
        }
      }
      for (const size of SIZES) {
        const sorted = times[size].sort((x, y) => x - y);
        timings[size][by ?? 'none'] = {
          p50: round(percentile(sorted, 50), 2),
          p95: round(percentile(sorted, 95), 2),
          groups: groups[size],
        };
      }
    }
    const totals = bySize(await Promise.all(SIZES.map(async (size) => (await get(size)).body.total)));
    return { timings, totals };
  } finally {
    await stack.stop();
  }
}

const SIZES = ['x1', 'x10'] as const;
type Size = (typeof SIZES)[number];
const COPIES: Record<Size, number> = { x1: 1, x10: 10 };
/** One tenant per size, in one table: the 10× tenant beside the 1× one. */
const TENANTS: Record<Size, string> = { x1: TENANT, x10: `${TENANT}-x10` };
/** The values of `SIZES`, in its order, by size. */
const bySize = <T>(values: readonly T[]) =>
  Object.fromEntries(SIZES.map((size, i) => [size, values[i]!])) as Record<Size, T>;

export async function benchFunnel(): Promise<Record<string, unknown>> {
  process.env.SIYU_LOCAL_LOG ??= 'warn';
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  const given = process.env.SIYU_BENCH_DYNAMO_ENDPOINT;
  const local = given ? undefined : await startDynamoDbLocal({ inMemory: true });
  const endpoint = given ?? local!.endpoint;
  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint });
  try {
    const customers = groupByContact(readCdnow(CDNOW_PATH));
    const checkedCells = await checkCellsAgainstWritePath(client, customers);
    const tableName = `siyu-bench-funnel-v${SEED_VERSION}`;
    const expected = bySize(SIZES.map((size) => dataset(customers, COPIES[size], TENANTS[size])));
    const seeding = await seed(
      client,
      tableName,
      SIZES.map((size) => ({ tenantId: TENANTS[size], data: expected[size] })),
    );
    const measured = await measure(endpoint, tableName);
    const { timings } = measured;
    const sizes: Record<string, Record<string, unknown>> = {};
    for (const size of SIZES) {
      const { total } = expected[size];
      const want = { ...total, gmv: (total.gmv / 100).toFixed(2) };
      const got = Object.fromEntries(Object.keys(want).map((k) => [k, measured.totals[size][k]]));
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        throw new Error(`the ${size} funnel total differs from the data: ${JSON.stringify({ got, want })}`);
      }
      sizes[size] = {
        contacts: expected[size].contacts,
        seededItems: expected[size].items.length,
        monthCells: expected[size].monthCells,
        rollups: expected[size].rollups,
        total: measured.totals[size],
      };
      console.log(JSON.stringify({ size, ...sizes[size], timings: timings[size] }));
    }
    const perBy = Object.fromEntries(
      Object.keys(timings.x1).map((by) => {
        const [one, ten] = [timings.x1[by]!, timings.x10[by]!];
        return [
          by,
          {
            x1: { p50: one.p50, p95: one.p95 },
            x10: { p50: ten.p50, p95: ten.p95 },
            ratioP50: round(ten.p50 / one.p50, 2),
            ratioP95: round(ten.p95 / one.p95, 2),
            groups: ten.groups,
          },
        ];
      }),
    );
    const worst = (size: Size) => Math.max(...Object.values(timings[size]).map((t) => t.p95));
    return {
      range: RANGE,
      queriesPerBy: QUERIES,
      cellsCheckedAgainstWritePath: checkedCells,
      seededNow: seeding.seeded,
      seedSeconds: seeding.seconds,
      sizes,
      perBy,
      worstP95: { x1: worst('x1'), x10: worst('x10') },
      worstRatioP95: Math.max(...Object.values(perBy).map((b) => b.ratioP95)),
      targets: { p95Ms: 100, ratio: 1.5 },
    };
  } finally {
    client.destroy();
    await local?.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchFunnel()
    .then((result) => {
      console.log(JSON.stringify(result, null, 2));
    })
    .catch((error) => {
      console.error(error);
      process.exitCode = 1;
    });
}
