import type * as z from 'zod/mini';
import type { Deps } from '../app/deps.js';
import { funnelKeys } from '../db/contact-store.js';
import { queryAll } from '../db/query.js';
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
 * The months of [from, to]: whole months are read from roll-ups or month cells, the partial months
 * at either end from their day cells — never contacts or orders.
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

type Filters = Partial<Record<(typeof FILTERS)[number], string>>;

/**
 * The roll-ups that answer `filters` × `by` for whole months, as a sort-key prefix (ARCHITECTURE.md),
 * or undefined where only the cells can:
 *  - no filter: the roll-ups of `by` (of `stage` for the total and `cohort_month`: every contact has one);
 *  - owner only: that owner's roll-ups of `by` (of `stage` for the total, `cohort_month` and `owner`);
 *  - one other filter (and maybe owner), `by` absent, `cohort_month` or that filter: that filter's
 *    roll-ups (every value; the filter picks its own in memory);
 *  - two filters besides owner, or a filter grouped by another dimension: the cells.
 * Items keep the values they are keyed by as attributes, so the same filter and grouping apply.
 */
export function rollupPrefixFor(filters: Filters, by: Query['by']): string | undefined {
  const { owner, ...rest } = filters;
  const others = (Object.keys(rest) as (keyof typeof rest)[]).filter((name) => rest[name] !== undefined);
  // With one owner, grouping by owner is one group: the total's items carry the owner.
  const grouping = by === 'cohort_month' || (by === 'owner' && owner !== undefined) ? undefined : by;
  if (others.length > 1) return undefined;
  if (others.length === 1) {
    const [name] = others as [keyof typeof rest];
    return grouping === undefined || grouping === name ? funnelKeys.rollupPrefix(name, owner) : undefined;
  }
  return funnelKeys.rollupPrefix(grouping ?? 'stage', owner);
}

/**
 * The aggregate items of [from, to], all Queries at once: the whole months from their roll-ups
 * (one Query per year) or else from their month cells (one per month), the partial edge months
 * from their day cells (one each).
 */
async function readItems(deps: Deps, tenantId: string, query: Query, filters: Filters): Promise<Cell[]> {
  const prefix = rollupPrefixFor(filters, query.by);
  const reads: { pk: string; from: string; to: string }[] = [];
  const wholeByYear = new Map<string, string[]>();
  for (const slice of monthSlices(query.from, query.to)) {
    const pk = funnelKeys.partition(tenantId, slice.month);
    if (!slice.whole) reads.push({ pk, from: `D#${slice.from}`, to: `D#${slice.to}#~` });
    else if (prefix === undefined) reads.push({ pk, from: 'M#', to: 'M#~' });
    else {
      const year = slice.month.slice(0, 4);
      wholeByYear.set(year, [...(wholeByYear.get(year) ?? []), slice.month]);
    }
  }
  for (const [year, months] of wholeByYear) {
    const range = funnelKeys.rollupRange(prefix!, months[0]!, months.at(-1)!);
    reads.push({ pk: funnelKeys.rollupPartition(tenantId, year), ...range });
  }
  const pages = await Promise.all(
    reads.map(async ({ pk, from, to }) => {
      const items: Cell[] = [];
      for await (const item of queryAll<Cell>(deps, {
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': pk, ':from': from, ':to': to },
      }))
        items.push(item);
      return items;
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
  const filters: Filters = {};
  for (const name of FILTERS) if (query[name] !== undefined) filters[name] = query[name];
  // Staff see their own contacts: another owner filter selects nothing.
  const nobody = caller.role === 'staff' && filters.owner !== undefined && filters.owner !== caller.staffId;
  if (caller.role === 'staff') filters.owner = caller.staffId;
  const [settings, items] = await Promise.all([
    readSettings(deps, caller.tenantId),
    nobody ? [] : readItems(deps, caller.tenantId, query, filters),
  ]);
  const { currency } = settings.settings;
  const total = emptyCounters();
  const groups = new Map<string, FunnelCounters>();
  for (const cell of items) {
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
