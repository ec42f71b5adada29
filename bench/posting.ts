/**
 * The reminder tick against DynamoDB Local: 1,000 and 10,000 accounts across 5 zones, the same
 * 100 of them with a slot open at the tick. The tick's cost should follow the open slots, not the
 * accounts. Prints the wall time and the capacity units of one tick per size, and their ratio.
 *
 *   npx tsx bench/posting.ts            (starts an in-memory DynamoDB Local)
 *   SIYU_BENCH_DYNAMO_ENDPOINT=http://127.0.0.1:8000 npx tsx bench/posting.ts
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { CreateTableCommand, DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LOCAL_AWS, startDynamoDbLocal } from '../infra/local/dynamodb-local.js';
import { createDocumentClient } from '../shared/db/client.js';
import { keys } from '../shared/db/keys.js';
import { type PostRecord, postItem, stagePlanWrite } from '../shared/db/posting-store.js';
import { tableDefinition } from '../shared/db/table-definition.js';
import { UnitOfWork } from '../shared/db/unit-of-work.js';
import { CATEGORIES, defaultPlan, type PostingPlan, type Slot } from '../shared/domain/posting.js';
import { clockOf, localClock } from '../shared/domain/zone.js';
import { runPostingTick } from '../shared/usecases/posting.js';
import { runWhenMain } from './when-main.js';

const ZONES = ['Asia/Shanghai', 'America/New_York', 'Europe/Berlin', 'Asia/Tokyo', 'America/Sao_Paulo'];
const TENANTS = 10;
const DUE = 100;
const POSTS_PER_DUE_ACCOUNT = 5;
/**
 * The measured tick. The same local time on the days before is also due: warm-up ticks run 5, 4
 * and 3 days before, then ticks 2 and 1 days before and at TICK are measured (median wall time).
 */
const TICK = new Date('2026-04-15T04:02:00Z');
const DAY_MS = 86_400_000;
const DAY_MINUTES = 1440;

interface Meter {
  readUnits: number;
  writeUnits: number;
  reads: number;
  /** Calls and capacity units per command. */
  byCommand: Record<string, { calls: number; units: number }>;
}

/** Adds ReturnConsumedCapacity TOTAL to every call of this client and sums what comes back. */
function metered(db: DynamoDBDocumentClient): { db: DynamoDBDocumentClient; meter: Meter; reset(): void } {
  const meter: Meter = { readUnits: 0, writeUnits: 0, reads: 0, byCommand: {} };
  // Names of the low-level commands the document client sends.
  const readCommands = new Set(['GetItemCommand', 'QueryCommand', 'BatchGetItemCommand', 'ScanCommand']);
  db.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      input.ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      const consumed = (result.output as { ConsumedCapacity?: unknown }).ConsumedCapacity;
      const units = [consumed]
        .flat()
        .reduce<number>((n, c) => n + ((c as { CapacityUnits?: number } | undefined)?.CapacityUnits ?? 0), 0);
      const name = context.commandName ?? 'unknown';
      const tally = meter.byCommand[name] ?? { calls: 0, units: 0 };
      meter.byCommand[name] = tally;
      tally.calls++;
      tally.units += units;
      if (readCommands.has(name)) {
        meter.readUnits += units;
        meter.reads++;
      } else {
        meter.writeUnits += units;
      }
      return result;
    },
    { step: 'initialize', name: 'benchCapacityMeter' },
  );
  return {
    db,
    meter,
    reset: () => Object.assign(meter, { readUnits: 0, writeUnits: 0, reads: 0, byCommand: {} }),
  };
}

/** A one-hour slot starting `offset` minutes after the tick's local time (kept within the day). */
function slotAfter(localMinutes: number, offset: number, length = 60): Slot {
  let start = Math.floor((localMinutes + offset) / 5) * 5;
  start = ((start % DAY_MINUTES) + DAY_MINUTES) % DAY_MINUTES;
  start = Math.min(start, DAY_MINUTES - length - 5);
  return { start: clockOf(start), end: clockOf(start + length) };
}

/** A 90-minute slot that opened up to 10 minutes before the tick's local time. */
function openSlot(localMinutes: number): Slot {
  const start = Math.max(0, Math.floor((localMinutes - 10) / 5) * 5);
  return { start: clockOf(start), end: clockOf(Math.min(start + 90, DAY_MINUTES - 5)) };
}

/** The items the write path produces for an account: the account, its plan and its open-slot entries. */
function accountItems(tenantId: string, accountId: string, plan: PostingPlan): Record<string, unknown>[] {
  const now = new Date().toISOString();
  const uow = new UnitOfWork('bench');
  stagePlanWrite(uow, { tenantId, accountId, plan });
  const planItems = uow
    .chunks()
    .flat()
    .map((item) => item.Put?.Item)
    .filter((item): item is Record<string, unknown> => item !== undefined);
  return [
    {
      ...keys.account(tenantId, accountId),
      id: accountId,
      name: accountId,
      platform: 'wechat',
      operatorStaffId: 'staff-1',
      createdAt: now,
      updatedAt: now,
    },
    ...planItems,
  ];
}

function* seedItems(accounts: number): Generator<Record<string, unknown>> {
  const perZone = Math.floor(accounts / ZONES.length);
  const duePerZone = DUE / ZONES.length;
  const seen = new Set<string>();
  for (const [z, zone] of ZONES.entries()) {
    const local = localClock(TICK, zone).minutes;
    for (let i = 0; i < perZone; i++) {
      const tenantId = `bench${i % TENANTS}`;
      const accountId = `z${z}a${i}`;
      const due = i < duePerZone;
      const plan: PostingPlan = {
        ...defaultPlan(zone),
        // Due: a slot opened 10 minutes before the tick; the others: slots 3 and 7 hours later.
        slots: due
          ? [openSlot(local), slotAfter(local, 240)]
          : [slotAfter(local, 180), slotAfter(local, 420)].sort((a, b) => a.start.localeCompare(b.start)),
      };
      for (const item of accountItems(tenantId, accountId, plan)) {
        // The zone registry item repeats per account; one is enough for a batch write.
        const id = `${item.pk}\u0000${item.sk}`;
        if (String(item.pk) === 'ZONES') {
          if (seen.has(id)) continue;
          seen.add(id);
        }
        yield item;
      }
      if (!due) continue;
      for (let p = 0; p < POSTS_PER_DUE_ACCOUNT; p++) {
        // Before every ticked day and outside the slot: they feed the suggestion, not suppression.
        const time = new Date(TICK.getTime() - (p + 4) * DAY_MS - 6 * 3_600_000).toISOString();
        const post: PostRecord = {
          tenantId,
          id: `p${z}x${i}x${p}`,
          accountId,
          category: CATEGORIES[p % 3]!,
          publishedAt: time,
          likes: p,
          comments: 1,
          time,
          version: 1,
          createdAt: time,
          updatedAt: time,
        };
        yield postItem(post);
      }
    }
  }
}

/**
 * The table of `shared/db/table-definition.ts` without its stream: the tick does not read the stream,
 * and DynamoDB Local's writes slow down sharply as stream records accumulate (hundreds of
 * thousands of seeded items).
 */
async function createTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const def = tableDefinition;
  const [gsi] = def.globalSecondaryIndexes;
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [def.partitionKey, def.sortKey, gsi.partitionKey, gsi.sortKey].map((name) => ({
        AttributeName: name,
        AttributeType: 'S',
      })),
      KeySchema: [
        { AttributeName: def.partitionKey, KeyType: 'HASH' },
        { AttributeName: def.sortKey, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: gsi.indexName,
          KeySchema: [
            { AttributeName: gsi.partitionKey, KeyType: 'HASH' },
            { AttributeName: gsi.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
  await waitUntilTableExists({ client, maxWaitTime: 60 }, { TableName: tableName });
}

async function seed(db: DynamoDBDocumentClient, tableName: string, accounts: number): Promise<number> {
  const batches: Record<string, unknown>[][] = [[]];
  let count = 0;
  for (const item of seedItems(accounts)) {
    if (batches.at(-1)!.length === 25) batches.push([]);
    batches.at(-1)!.push(item);
    count++;
  }
  let next = 0;
  const started = Date.now();
  const worker = async () => {
    while (next < batches.length) {
      if (next % 1000 === 0 && next) {
        const rate = Math.round((next * 25) / ((Date.now() - started) / 1000));
        process.stderr.write(`seeded ${next * 25} of ${count} items (${rate}/s)\n`);
      }
      let request: Record<string, { PutRequest: { Item: Record<string, unknown> } }[]> | undefined = {
        [tableName]: batches[next++]!.map((Item) => ({ PutRequest: { Item } })),
      };
      while (request && Object.keys(request).length) {
        const out = await db.send(new BatchWriteCommand({ RequestItems: request }));
        request = out.UnprocessedItems as typeof request;
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return count;
}

export async function benchPosting(): Promise<Record<string, unknown>> {
  const given = process.env.SIYU_BENCH_DYNAMO_ENDPOINT;
  const local = given ? undefined : await startDynamoDbLocal({ inMemory: true });
  const endpoint = given ?? local!.endpoint;
  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint });
  try {
    const sizes: Record<string, { tickMs: number; readCapacityUnits: number } & Record<string, unknown>> = {};
    for (const accounts of [1_000, 10_000]) {
      const tableName = `siyu-bench-posting-${randomUUID().slice(0, 8)}`;
      await createTable(client, tableName);
      const seeding = Date.now();
      const items = await seed(createDocumentClient(client), tableName, accounts);
      const seedSeconds = (Date.now() - seeding) / 1000;

      const { db, meter, reset } = metered(
        createDocumentClient(new DynamoDBClient({ ...LOCAL_AWS, endpoint })),
      );
      const deps = { db, tableName };
      for (const daysBefore of [5, 4, 3])
        await runPostingTick(deps, new Date(TICK.getTime() - daysBefore * DAY_MS));
      const runs: number[] = [];
      let result: Awaited<ReturnType<typeof runPostingTick>> | undefined;
      for (const daysBefore of [2, 1, 0]) {
        reset();
        const started = performance.now();
        result = await runPostingTick(deps, new Date(TICK.getTime() - daysBefore * DAY_MS));
        runs.push(Math.round(performance.now() - started));
      }
      sizes[accounts] = {
        accounts,
        seededItems: items,
        seedSeconds,
        tickMs: [...runs].sort((a, b) => a - b)[1]!,
        tickMsRuns: runs,
        readCapacityUnits: meter.readUnits,
        readRequests: meter.reads,
        writeCapacityUnits: meter.writeUnits,
        byCommand: meter.byCommand,
        loadAverage: round(loadavg()[0]!),
        open: result!.open,
        reminded: result!.reminded,
      };
      console.log(JSON.stringify(sizes[accounts]));
      db.destroy();
    }
    const [small, large] = [sizes[1000]!, sizes[10000]!];
    const out = {
      zones: ZONES.length,
      cpus: cpus().length,
      dueAtTick: DUE,
      tick: TICK.toISOString(),
      sizes,
      ratio10kTo1k: {
        tickMs: round(large.tickMs / small.tickMs),
        readCapacityUnits: round(large.readCapacityUnits / small.readCapacityUnits),
      },
    };
    return out;
  } finally {
    client.destroy();
    await local?.stop();
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

runWhenMain(import.meta.url, benchPosting);
