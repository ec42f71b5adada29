import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type * as z from 'zod/mini';
import type { Deps } from '../app/deps.js';
import { funnelKeys } from '../db/contact-store.js';
import { readSettings } from '../db/tenant-store.js';
import type { FunnelCounters } from '../domain/contact.js';
import { addCounters, compareFunnels, emptyCounters, type FunnelFigures, figures } from '../domain/funnel.js';
import { minorUnits } from '../domain/locale.js';
import { formatMoney } from '../domain/money.js';
import { ValidationError } from '../errors.js';
import type { Caller } from '../http/auth.js';
import { zodFieldErrors } from '../http/problem.js';
import { FunnelQuery } from '../schemas/metrics.js';

type Query = z.output<typeof FunnelQuery>;
const FILTERS = ['channel', 'channelDetail', 'hook', 'owner', 'account'] as const;

interface Cell extends FunnelCounters {
  channel: string;
  channelDetail: string;
  hook: string;
  owner: string;
  account: string;
  segment: string;
  stage: string;
  month: string;
}

/**
 * The months of [from, to]: whole months are read from their roll-up items, the partial months at
 * either end from their day items — a year costs at most 12 partitions, never contacts or orders.
 */
export function monthSlices(
  from: string,
  to: string,
): { month: string; whole: boolean; from: string; to: string }[] {
  const slices = [];
  let month = from.slice(0, 7);
  const last = to.slice(0, 7);
  while (month <= last) {
    const start = `${month}-01`;
    const end = `${month}-${String(daysIn(month)).padStart(2, '0')}`;
    const sliceFrom = from > start ? from : start;
    const sliceTo = to < end ? to : end;
    slices.push({ month, whole: sliceFrom === start && sliceTo === end, from: sliceFrom, to: sliceTo });
    month = nextMonth(month);
  }
  return slices;
}

function daysIn(month: string): number {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

function nextMonth(month: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
}

async function readCells(deps: Deps, tenantId: string, query: Query): Promise<Cell[]> {
  const slices = monthSlices(query.from, query.to);
  const pages = await Promise.all(
    slices.map(async (slice) => {
      const cells: Cell[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const out = await deps.db.send(
          new QueryCommand({
            TableName: deps.tableName,
            KeyConditionExpression: slice.whole
              ? 'pk = :pk AND begins_with(sk, :m)'
              : 'pk = :pk AND sk BETWEEN :from AND :to',
            ExpressionAttributeValues: slice.whole
              ? { ':pk': funnelKeys.partition(tenantId, slice.month), ':m': 'M#' }
              : {
                  ':pk': funnelKeys.partition(tenantId, slice.month),
                  ':from': `D#${slice.from}`,
                  ':to': `D#${slice.to}#~`,
                },
            ExclusiveStartKey: start,
          }),
        );
        cells.push(...((out.Items ?? []) as Cell[]));
        start = out.LastEvaluatedKey;
      } while (start);
      return cells;
    }),
  );
  return pages.flat();
}

export interface FunnelView {
  from: string;
  to: string;
  total: ReturnType<typeof present>;
  groups: (ReturnType<typeof present> & { key: string })[];
}

function present(f: FunnelFigures, currency: string) {
  const { gmvMinor, ...rest } = f;
  return {
    contacts: rest.contacts,
    retained: rest.retained,
    buyers: rest.buyers,
    orders: rest.orders,
    gmv: formatMoney(gmvMinor, currency),
    retentionRate: rest.retentionRate,
    conversionRate: rest.conversionRate,
    ordersPerBuyer: rest.ordersPerBuyer,
    aov: rest.aov,
  };
}

/**
 * `GET /v1/metrics/funnel`: the cohort of contacts added in [from, to] (tenant dates) that match
 * the filters (staff: their own contacts), its five factors, and the same per group of `by`.
 * Groups partition the cohort, so their counts and GMV add up to the total.
 */
export async function funnel(deps: Deps, caller: Caller, query: Query) {
  const { total, groups, currency } = await computeFunnel(deps, caller, query);
  const digits = minorUnits(currency);
  return {
    from: query.from,
    to: query.to,
    total: present(figures(total, digits), currency),
    groups: [...groups.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, counters]) => ({ key, ...present(figures(counters, digits), currency) })),
  };
}

async function computeFunnel(deps: Deps, caller: Caller, query: Query) {
  const { currency } = (await readSettings(deps, caller.tenantId)).settings;
  const filters: Partial<Record<(typeof FILTERS)[number], string>> = {};
  for (const name of FILTERS) if (query[name] !== undefined) filters[name] = query[name];
  if (caller.role === 'staff') {
    if (filters.owner !== undefined && filters.owner !== caller.staffId) filters.owner = '\u0000nobody';
    else filters.owner = caller.staffId;
  }
  const total = emptyCounters();
  const groups = new Map<string, FunnelCounters>();
  for (const cell of await readCells(deps, caller.tenantId, query)) {
    if (!FILTERS.every((name) => filters[name] === undefined || cell[name] === filters[name])) continue;
    addCounters(total, cell);
    if (query.by) {
      const key = query.by === 'cohort_month' ? cell.month : cell[query.by];
      const group = groups.get(key) ?? emptyCounters();
      addCounters(group, cell);
      groups.set(key, group);
    }
  }
  for (const [key, counters] of groups) if (counters.contacts === 0) groups.delete(key);
  return { total, groups, currency };
}

/** `GET /v1/metrics/funnel/compare?a=<query>&b=<query>`: which factor explains the GMV gap. */
export async function compare(deps: Deps, caller: Caller, a: string, b: string) {
  const [qa, qb] = [parseEmbedded(a, 'a'), parseEmbedded(b, 'b')];
  const [ra, rb] = await Promise.all([computeFunnel(deps, caller, qa), computeFunnel(deps, caller, qb)]);
  const digits = minorUnits(ra.currency);
  const fa = figures(ra.total, digits);
  const fb = figures(rb.total, digits);
  return { a: present(fa, ra.currency), b: present(fb, rb.currency), ...compareFunnels(fa, fb) };
}

function parseEmbedded(value: string, name: 'a' | 'b'): Query {
  const params = Object.fromEntries(new URLSearchParams(value.startsWith('?') ? value.slice(1) : value));
  const parsed = FunnelQuery.safeParse(params);
  if (!parsed.success)
    throw new ValidationError(
      `Query ${name} is not a valid funnel query.`,
      zodFieldErrors(parsed.error, name),
    );
  return parsed.data;
}
