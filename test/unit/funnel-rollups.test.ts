import { type AttributeValue, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { cellId, funnelKeys } from '../../shared/db/contact-store.js';
import type { FunnelDims } from '../../shared/domain/contact.js';
import { applyFunnelRecords, type CellStreamRecord, planOf } from '../../shared/usecases/funnel-rollups.js';

/**
 * The roll-up consumer against an in-memory table that runs transactions as DynamoDB does: all or
 * nothing, a failed `attribute_not_exists` cancels the whole transaction with its reasons, `ADD`
 * and `SET if_not_exists` as the unit of work writes them.
 */
class FakeTable {
  readonly items = new Map<string, Record<string, unknown>>();
  transactions = 0;
  /** Runs before each TransactWrite (to race it, or fail it). */
  beforeTransaction: (() => Promise<void>) | undefined;

  readonly db = {
    send: async (command: { input: unknown }) => {
      if (command instanceof BatchGetCommand) {
        const [[table, request]] = Object.entries(command.input.RequestItems ?? {}) as [
          [string, { Keys: { pk: string; sk: string }[] }],
        ];
        return {
          Responses: {
            [table]: request.Keys.map((k) => this.items.get(id(k))).filter((i) => i !== undefined),
          },
        };
      }
      await this.beforeTransaction?.();
      return this.transact(command.input as TransactWriteCommandInput);
    },
  } as unknown as DynamoDBDocumentClient;

  private transact(input: TransactWriteCommandInput) {
    const items = input.TransactItems ?? [];
    const reasons = items.map((item) =>
      item.Put?.ConditionExpression === 'attribute_not_exists(pk)' &&
      this.items.has(id(item.Put.Item as { pk: string; sk: string }))
        ? { Code: 'ConditionalCheckFailed' }
        : { Code: 'None' },
    );
    if (reasons.some((r) => r.Code !== 'None')) {
      throw new TransactionCanceledException({
        message: 'Transaction cancelled',
        $metadata: {},
        CancellationReasons: reasons,
      });
    }
    this.transactions++;
    for (const item of items) {
      if (item.Put) this.items.set(id(item.Put.Item as { pk: string; sk: string }), { ...item.Put.Item });
      const update = item.Update;
      if (!update) continue;
      const key = update.Key as { pk: string; sk: string };
      const stored = this.items.get(id(key)) ?? { ...key };
      const names = update.ExpressionAttributeNames ?? {};
      const values = update.ExpressionAttributeValues ?? {};
      for (const [alias, name] of Object.entries(names)) {
        const value = values[alias.replace('#', ':')];
        if (alias.startsWith('#a'))
          stored[name] = ((stored[name] as number | undefined) ?? 0) + Number(value);
        else if (!(name in stored)) stored[name] = value;
      }
      this.items.set(id(key), stored);
    }
    return {};
  }

  rollups(): Record<string, unknown>[] {
    return [...this.items.values()].filter((i) => String(i.pk).startsWith('FR#'));
  }
}

const id = (key: { pk: string; sk: string }) => `${key.pk}\u0000${key.sk}`;

const DIMS: FunnelDims = {
  channel: 'public',
  channelDetail: 'none',
  hook: 'gift',
  owner: 'ana',
  account: 'wx1',
  segment: 'none',
  stage: 'prospect',
};

let sequence = 100;
/** A stream record of a month cell, as Lambda delivers it. */
function cellRecord(
  counters: { old?: Record<string, number>; new?: Record<string, number> },
  options: { eventId?: string; dims?: FunnelDims; month?: string; shard?: number } = {},
): CellStreamRecord {
  const dims = options.dims ?? DIMS;
  const month = options.month ?? '2026-03';
  const key = funnelKeys.month('t1', `${month}-01`, cellId({ dims }), options.shard ?? 2);
  const image = (c: Record<string, number>) =>
    marshall({ ...key, ...dims, month, kind: 'month', ...c }) as Record<string, AttributeValue>;
  sequence++;
  return {
    eventID: options.eventId ?? `ev-${sequence}`,
    eventName: counters.old && counters.new ? 'MODIFY' : counters.new ? 'INSERT' : 'REMOVE',
    dynamodb: {
      Keys: marshall(key) as Record<string, AttributeValue>,
      ...(counters.new ? { NewImage: image(counters.new) } : {}),
      ...(counters.old ? { OldImage: image(counters.old) } : {}),
      SequenceNumber: String(sequence),
    },
  };
}

const deps = (table: FakeTable) => ({
  db: table.db,
  tableName: 't',
  now: () => new Date('2026-11-23T00:00:00Z'),
});
const one = { contacts: 1, retained: 1, buyers: 0, orders: 0, gmv: 0 };

/** The roll-up of one dimension value (summed over shards), or within one owner. */
function rollupOf(table: FakeTable, dim: string, value: string, owner?: string) {
  const prefix = funnelKeys.rollupPrefix(dim as 'stage', owner);
  const sum = { contacts: 0, retained: 0, buyers: 0, orders: 0, gmv: 0 };
  for (const item of table.rollups()) {
    if (!String(item.sk).startsWith(prefix) || item[dim] !== value) continue;
    for (const name of Object.keys(sum) as (keyof typeof sum)[]) sum[name] += Number(item[name] ?? 0);
  }
  return sum;
}

describe('funnel roll-ups from the stream', () => {
  it('moves NEW − OLD counters, a missing image counting zero, and ignores records that change nothing', () => {
    const insert = planOf(cellRecord({ new: { ...one, gmv: 500 } }));
    const modify = planOf(
      cellRecord({
        old: { ...one, gmv: 500 },
        new: { contacts: 1, retained: 1, buyers: 1, orders: 2, gmv: 900 },
      }),
    );
    const remove = planOf(cellRecord({ old: { contacts: 2, retained: 1, buyers: 0, orders: 0, gmv: 0 } }));
    const same = planOf(cellRecord({ old: one, new: one }));
    const other = planOf({
      ...cellRecord({ new: one }),
      dynamodb: { Keys: marshall({ pk: 'FR#t1#2026', sk: 'B#x' }) },
    });

    expect(insert?.add).toEqual({ contacts: 1, retained: 1, gmv: 500 });
    expect(modify?.add).toEqual({ buyers: 1, orders: 2, gmv: 400 });
    expect(remove?.add).toEqual({ contacts: -2, retained: -1 });
    expect(remove?.cell).toEqual({ tenantId: 't1', month: '2026-03', shard: 2, dims: DIMS });
    expect(same).toBeUndefined();
    expect(other).toBeUndefined();
  });

  it('moves the 13 roll-ups of the cell’s month and values, merging records of one transaction', async () => {
    const table = new FakeTable();
    const moved = { ...DIMS, owner: 'bo', stage: 'customer' };

    const result = await applyFunnelRecords(deps(table), [
      cellRecord({ new: one }),
      cellRecord({ new: { ...one, gmv: 100 } }, { shard: 2 }),
      // A handover: out of ana's cell, into bo's.
      cellRecord({ old: { ...one, gmv: 100 }, new: { ...one, gmv: 0 } }),
      cellRecord({ new: { ...one, gmv: 100 } }, { dims: moved }),
    ]);

    expect(result).toEqual({ applied: 4, skipped: 0, failedSequenceNumbers: [] });
    expect(table.transactions).toBe(1);
    expect(rollupOf(table, 'stage', 'prospect')).toMatchObject({ contacts: 2, gmv: 0 });
    expect(rollupOf(table, 'stage', 'customer')).toMatchObject({ contacts: 1, gmv: 100 });
    expect(rollupOf(table, 'owner', 'bo')).toMatchObject({ contacts: 1, gmv: 100 });
    expect(rollupOf(table, 'hook', 'gift', 'ana')).toMatchObject({ contacts: 2, retained: 2, gmv: 0 });
    expect(rollupOf(table, 'hook', 'gift', 'bo')).toMatchObject({ contacts: 1, gmv: 100 });
    // 13 per place (7 dimensions, 6 within the owner): the two places share 5 overall ones.
    expect(table.rollups()).toHaveLength(13 + 13 - 5);
    for (const item of table.rollups()) expect(item).toMatchObject({ month: '2026-03', kind: 'rollup' });
  });

  it('applies a replayed record nothing twice', async () => {
    const table = new FakeTable();
    const batch = [cellRecord({ new: one }), cellRecord({ new: { ...one, gmv: 300 } })];

    await applyFunnelRecords(deps(table), batch);
    const again = await applyFunnelRecords(deps(table), batch);

    expect(again).toEqual({ applied: 0, skipped: 2, failedSequenceNumbers: [] });
    expect(rollupOf(table, 'stage', 'prospect')).toMatchObject({ contacts: 2, gmv: 300 });
    expect(table.transactions).toBe(1);
  });

  it('skips a record whose marker appears during the commit and commits the others', async () => {
    const table = new FakeTable();
    const late = cellRecord({ new: { ...one, gmv: 700 } });
    const batch = [cellRecord({ new: one }), late, cellRecord({ new: one })];
    // Another delivery of `late` commits between the marker read and this transaction.
    let raced = false;
    table.beforeTransaction = async () => {
      if (raced) return;
      raced = true;
      await applyFunnelRecords(deps(table), [late]);
    };

    const result = await applyFunnelRecords(deps(table), batch);

    expect(result).toEqual({ applied: 2, skipped: 1, failedSequenceNumbers: [] });
    expect(rollupOf(table, 'stage', 'prospect')).toMatchObject({ contacts: 3, gmv: 700 });
  });

  it('reports the records of a failed transaction and after it, and a redelivery completes them once', async () => {
    const table = new FakeTable();
    // 12 records of different cells and owners: 14 items, then 10 new ones each (> 100 items).
    const batch = Array.from({ length: 12 }, (_, i) =>
      cellRecord({ new: one }, { dims: { ...DIMS, owner: `o${i}`, segment: `s${i}`, account: `a${i}` } }),
    );
    let calls = 0;
    table.beforeTransaction = async () => {
      if (++calls === 2) throw Object.assign(new Error('boom'), { name: 'InternalServerError' });
    };

    const first = await applyFunnelRecords(deps(table), batch);
    table.beforeTransaction = undefined;
    const committed = first.applied;
    const failedFrom = batch.findIndex((r) => r.dynamodb?.SequenceNumber === first.failedSequenceNumbers[0]);
    const second = await applyFunnelRecords(deps(table), batch.slice(failedFrom));

    expect(committed).toBeGreaterThan(0);
    expect(committed).toBeLessThan(batch.length);
    expect(first.failedSequenceNumbers).toEqual(
      batch.slice(committed).map((r) => r.dynamodb?.SequenceNumber),
    );
    expect(second).toEqual({ applied: batch.length - committed, skipped: 0, failedSequenceNumbers: [] });
    expect(rollupOf(table, 'stage', 'prospect')).toMatchObject({ contacts: 12 });
    for (let i = 0; i < 12; i++) expect(rollupOf(table, 'owner', `o${i}`)).toMatchObject({ contacts: 1 });
  });
});
