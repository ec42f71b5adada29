import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Deps } from '../app/deps.js';
import { funnelKeys, moveRollups } from '../db/contact-store.js';
import { funnelStreamKeys } from '../db/keys.js';
import { batchGetAll } from '../db/query.js';
import { MAX_TRANSACTION_ITEMS, UnitOfWork } from '../db/unit-of-work.js';
import { FUNNEL_DIMS, type FunnelDims } from '../domain/contact.js';

/** The subset of a DynamoDB stream record the consumer reads (Lambda's shape). */
export interface CellStreamRecord {
  eventID?: string;
  eventName?: string;
  dynamodb?: {
    Keys?: Record<string, AttributeValue>;
    NewImage?: Record<string, AttributeValue>;
    OldImage?: Record<string, AttributeValue>;
    SequenceNumber?: string;
  };
}

export const COUNTERS = ['contacts', 'retained', 'buyers', 'orders', 'gmv'] as const;
/** Stream records live 24 h; a marker outlives every redelivery of its record. */
const MARKER_TTL_SECONDS = 2 * 24 * 3600;

export interface RollupResult {
  /** Records whose roll-up moves committed now. */
  applied: number;
  /** Records applied before (their marker exists): redeliveries. */
  skipped: number;
  /** Sequence numbers of records not applied (the stream retries from the first). */
  failedSequenceNumbers: string[];
}

/** One month cell record's move: the delta of its counters on the roll-ups of its values. */
interface Plan {
  eventId: string;
  sequenceNumber: string;
  cell: { tenantId: string; month: string; shard: number; dims: FunnelDims };
  add: Record<string, number>;
}

/** The dimension values a month cell carries. */
export const dimsOf = (cell: Record<string, unknown>) =>
  Object.fromEntries(FUNNEL_DIMS.map((dim) => [dim, String(cell[dim])])) as FunnelDims;

/** The move a stream record of a month cell asks for; undefined for any other record or no change. */
export function planOf(record: CellStreamRecord): Plan | undefined {
  const data = record.dynamodb;
  const keys = data?.Keys ? (unmarshall(data.Keys) as { pk?: unknown; sk?: unknown }) : undefined;
  if (typeof keys?.pk !== 'string' || typeof keys.sk !== 'string') return undefined;
  const place = funnelKeys.parseMonth({ pk: keys.pk, sk: keys.sk });
  if (!place || !record.eventID) return undefined;
  const after = data?.NewImage ? unmarshall(data.NewImage) : undefined;
  const before = data?.OldImage ? unmarshall(data.OldImage) : undefined;
  const image = after ?? before;
  if (!image) return undefined;
  const add: Record<string, number> = {};
  for (const name of COUNTERS) {
    const delta = Number(after?.[name] ?? 0) - Number(before?.[name] ?? 0);
    if (delta !== 0) add[name] = delta;
  }
  if (Object.keys(add).length === 0) return undefined;
  return {
    eventId: record.eventID,
    sequenceNumber: data?.SequenceNumber ?? record.eventID,
    cell: { ...place, dims: dimsOf(image) },
    add,
  };
}

/** A record applied before: its marker's `attribute_not_exists` failed. */
class AlreadyApplied extends Error {
  constructor(readonly eventId: string) {
    super(`Stream record ${eventId} was applied already`);
  }
}

const markerKey = (eventId: string) => ({ pk: `${funnelStreamKeys.appliedPrefix}${eventId}`, sk: 'M' });

/**
 * Keeps the funnel roll-ups equal to the sum of the month cells, exactly once, from the table
 * stream (`NEW_AND_OLD_IMAGES`, filtered to month cells).
 *
 * Primary course:
 *  1. Each month cell record asks for NEW − OLD of its counters (a missing image counts zero) on
 *     the 13 roll-ups of its month and values (`moveRollups`); records that change nothing, and
 *     records of other items, are done at once.
 *  2. Records whose marker (`FRAPPLIED#<eventID>`) exists were applied by an earlier delivery:
 *     skipped (one consistent BatchGet).
 *  3. The others are packed in order into transactions of ≤ 100 items, one atomic group per record:
 *     its marker, put with `attribute_not_exists(pk)`, and its roll-up moves (moves of the records
 *     of one transaction on one item merge). A marker that exists after all (a concurrent delivery)
 *     cancels the transaction: that record is dropped and the rest commits.
 *  4. A transaction that still fails stops the batch: it and every record after it are reported, and
 *     the stream redelivers them (markers make the redelivery of committed ones a no-op).
 */
export async function applyFunnelRecords(
  deps: Pick<Deps, 'db' | 'tableName' | 'now'>,
  records: readonly CellStreamRecord[],
): Promise<RollupResult> {
  const plans = records.map(planOf).filter((p): p is Plan => p !== undefined);
  const result: RollupResult = { applied: 0, skipped: 0, failedSequenceNumbers: [] };
  if (!plans.length) return result;
  const done = await appliedBefore(deps, plans);
  const pending = plans.filter((p) => !done.has(p.eventId));
  result.skipped += plans.length - pending.length;

  const transactions = pack(pending);
  for (const [index, transaction] of transactions.entries()) {
    let plansLeft = transaction;
    for (;;) {
      if (!plansLeft.length) break;
      try {
        await stage(deps, plansLeft).commit(deps.db);
        result.applied += plansLeft.length;
        break;
      } catch (error) {
        if (error instanceof AlreadyApplied) {
          plansLeft = plansLeft.filter((p) => p.eventId !== error.eventId);
          result.skipped++;
          continue;
        }
        result.failedSequenceNumbers = [plansLeft, ...transactions.slice(index + 1)]
          .flat()
          .map((p) => p.sequenceNumber);
        return result;
      }
    }
  }
  return result;
}

/** The plans' event ids that already have a marker (one consistent read per 100). */
async function appliedBefore(deps: Pick<Deps, 'db' | 'tableName'>, plans: readonly Plan[]) {
  const ids = [...new Set(plans.map((p) => p.eventId))];
  const markers = await batchGetAll<{ pk: string }>(deps, ids.map(markerKey), {
    consistent: true,
    projection: 'pk',
  });
  return new Set(markers.map((m) => m.pk.slice(funnelStreamKeys.appliedPrefix.length)));
}

/** Splits the plans, in order, into transactions of at most 100 items (markers + distinct roll-ups). */
function pack(plans: readonly Plan[]): Plan[][] {
  const out: Plan[][] = [];
  let current: Plan[] = [];
  let keys = new Set<string>();
  for (const plan of plans) {
    const scratch = new UnitOfWork('scratch');
    moveRollups(scratch, plan.cell, plan.add);
    const planKeys = scratch
      .chunks()
      .flat()
      .map((item) => JSON.stringify(item.Update?.Key));
    const added = planKeys.filter((k) => !keys.has(k)).length;
    if (current.length && current.length + 1 + keys.size + added > MAX_TRANSACTION_ITEMS) {
      out.push(current);
      current = [];
      keys = new Set();
    }
    current.push(plan);
    for (const k of planKeys) keys.add(k);
  }
  if (current.length) out.push(current);
  return out;
}

/** One transaction: per record, an atomic group of its marker and its roll-up moves. */
function stage(deps: Pick<Deps, 'tableName' | 'now'>, plans: readonly Plan[]): UnitOfWork {
  const uow = new UnitOfWork(deps.tableName);
  const ttl = Math.floor(deps.now().getTime() / 1000) + MARKER_TTL_SECONDS;
  for (const plan of plans) {
    uow.atomic();
    uow.put(
      { ...markerKey(plan.eventId), ttl },
      { expression: 'attribute_not_exists(pk)' },
      () => new AlreadyApplied(plan.eventId),
    );
    moveRollups(uow, plan.cell, plan.add);
  }
  return uow;
}
