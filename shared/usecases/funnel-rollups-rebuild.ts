import type { Deps } from '../app/deps.js';
import { funnelKeys, type RollupMove, rollupMoves } from '../db/contact-store.js';
import { funnelStreamKeys } from '../db/keys.js';
import { batchWriteAll, scanAll, type WriteRequest } from '../db/query.js';
import type { Key } from '../db/unit-of-work.js';
import { COUNTERS, dimsOf } from './funnel-rollups.js';

export interface RebuildResult {
  /** Month cells read. */
  monthCells: number;
  /** Roll-ups written, each the sum of its month cells. */
  written: number;
  /** Roll-ups deleted: no month cell adds anything to them. */
  deleted: number;
}

/** One tenant's month cell sums by roll-up, and the roll-ups stored now. */
interface TenantRollups {
  sums: Map<string, RollupMove>;
  stored: Key[];
  monthCells: number;
}

const idOf = (key: Key) => `${key.pk}|${key.sk}`;

/** The tenant of a roll-up partition key (`FR#<t>#<YYYY>`; tenant ids hold no `#`). */
const rollupTenant = (pk: string) =>
  pk.slice(funnelStreamKeys.rollupPartitionPrefix.length, pk.lastIndexOf('#'));

/**
 * Rebuilds funnel roll-ups from the month cells, for `tenantIds` (every tenant with cells or
 * roll-ups when left out): every roll-up becomes the sum of the month cells of its month and value
 * (`rollupMoves`, as the consumer adds them), and a roll-up no cell adds to is deleted.
 *
 * For a table whose cells the stream consumer never saw (written by a version without it, or
 * before a new stream began) or roll-ups an operator finds off. The roll-ups are put whole, so it
 * must run **while writes are paused and the consumer has caught up**: a cell moved during the
 * rebuild would be counted by both. It reads the table with one Scan for all the tenants (a
 * maintenance tool, never a request path) and writes with unconditioned batch writes.
 */
export async function rebuildFunnelRollups(
  deps: Pick<Deps, 'db' | 'tableName'>,
  tenantIds?: readonly string[],
): Promise<Map<string, RebuildResult>> {
  const wanted = tenantIds && new Set(tenantIds);
  const tenants = new Map<string, TenantRollups>();
  const tenant = (tenantId: string) => {
    if (wanted && !wanted.has(tenantId)) return undefined;
    const found: TenantRollups = tenants.get(tenantId) ?? { sums: new Map(), stored: [], monthCells: 0 };
    tenants.set(tenantId, found);
    return found;
  };
  for (const tenantId of wanted ?? []) tenant(tenantId);
  for await (const item of scanAll(deps, {
    FilterExpression: '(begins_with(pk, :cells) AND begins_with(sk, :month)) OR begins_with(pk, :rollups)',
    ExpressionAttributeValues: {
      ':cells': funnelStreamKeys.cellPartitionPrefix,
      ':month': funnelStreamKeys.monthCellPrefix,
      ':rollups': funnelStreamKeys.rollupPartitionPrefix,
    },
  })) {
    const key = { pk: String(item.pk), sk: String(item.sk) };
    if (key.pk.startsWith(funnelStreamKeys.rollupPartitionPrefix)) {
      tenant(rollupTenant(key.pk))?.stored.push(key);
      continue;
    }
    const place = funnelKeys.parseMonth(key);
    const into = place && tenant(place.tenantId);
    if (!place || !into) continue;
    into.monthCells++;
    const add = Object.fromEntries(COUNTERS.map((name) => [name, Number(item[name] ?? 0)]));
    for (const move of rollupMoves({ ...place, dims: dimsOf(item) }, add)) {
      const sum = into.sums.get(idOf(move.key));
      if (!sum) into.sums.set(idOf(move.key), { ...move, add: { ...move.add } });
      else for (const name of COUNTERS) sum.add[name] = (sum.add[name] ?? 0) + (move.add[name] ?? 0);
    }
  }

  const requests: WriteRequest[] = [];
  const results = new Map<string, RebuildResult>();
  for (const [tenantId, { sums, stored, monthCells }] of tenants) {
    const live = [...sums.values()].filter((m) => COUNTERS.some((name) => m.add[name] !== 0));
    const liveIds = new Set(live.map((m) => idOf(m.key)));
    const stray = stored.filter((k) => !liveIds.has(idOf(k)));
    // Counters at zero are left out, as the consumer's ADD leaves out the ones it never moved.
    for (const m of live) {
      const counters = Object.fromEntries(COUNTERS.filter((n) => m.add[n]).map((n) => [n, m.add[n]]));
      requests.push({ PutRequest: { Item: { ...m.key, ...m.attrs, ...counters } } });
    }
    for (const Key of stray) requests.push({ DeleteRequest: { Key } });
    results.set(tenantId, { monthCells, written: live.length, deleted: stray.length });
  }
  await batchWriteAll(deps, requests);
  return results;
}
