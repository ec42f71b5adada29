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

/**
 * Rebuilds one tenant's funnel roll-ups from its month cells: every roll-up becomes the sum of the
 * month cells of its month and value (`rollupMoves`, as the consumer adds them), and a roll-up no
 * cell adds to is deleted.
 *
 * For a table whose cells the stream consumer never saw (written by a version without it, or
 * before a new stream began) or roll-ups an operator finds off. The roll-ups are put whole, so it
 * must run **while writes are paused and the consumer has caught up**: a cell moved during the
 * rebuild would be counted by both. It reads the table with one Scan (a maintenance tool, never a
 * request path) and writes with unconditioned batch writes.
 */
export async function rebuildFunnelRollups(
  deps: Pick<Deps, 'db' | 'tableName'>,
  tenantId: string,
): Promise<RebuildResult> {
  const cellPrefix = `${funnelStreamKeys.cellPartitionPrefix}${tenantId}#`;
  const rollupPrefix = `${funnelStreamKeys.rollupPartitionPrefix}${tenantId}#`;
  const sums = new Map<string, RollupMove>();
  const stored: Key[] = [];
  let monthCells = 0;
  for await (const item of scanAll(deps, {
    FilterExpression: '(begins_with(pk, :cells) AND begins_with(sk, :month)) OR begins_with(pk, :rollups)',
    ExpressionAttributeValues: {
      ':cells': cellPrefix,
      ':month': funnelStreamKeys.monthCellPrefix,
      ':rollups': rollupPrefix,
    },
  })) {
    const key = { pk: String(item.pk), sk: String(item.sk) };
    if (key.pk.startsWith(rollupPrefix)) {
      stored.push(key);
      continue;
    }
    const place = funnelKeys.parseMonth(key);
    if (!place) continue;
    monthCells++;
    const add = Object.fromEntries(COUNTERS.map((name) => [name, Number(item[name] ?? 0)]));
    for (const move of rollupMoves({ ...place, dims: dimsOf(item) }, add)) {
      const id = `${move.key.pk}|${move.key.sk}`;
      const sum = sums.get(id);
      if (!sum) sums.set(id, { ...move, add: { ...move.add } });
      else for (const name of COUNTERS) sum.add[name] = (sum.add[name] ?? 0) + (move.add[name] ?? 0);
    }
  }
  const live = [...sums.values()].filter((m) => COUNTERS.some((name) => m.add[name] !== 0));
  const liveIds = new Set(live.map((m) => `${m.key.pk}|${m.key.sk}`));
  const requests: WriteRequest[] = [
    // Counters at zero are left out, as the consumer's ADD leaves out the ones it never moved.
    ...live.map((m) => ({
      PutRequest: {
        Item: {
          ...m.key,
          ...m.attrs,
          ...Object.fromEntries(COUNTERS.filter((n) => m.add[n]).map((n) => [n, m.add[n]])),
        },
      },
    })),
    ...stored.filter((k) => !liveIds.has(`${k.pk}|${k.sk}`)).map((Key) => ({ DeleteRequest: { Key } })),
  ];
  await batchWriteAll(deps, requests);
  return { monthCells, written: live.length, deleted: requests.length - live.length };
}
