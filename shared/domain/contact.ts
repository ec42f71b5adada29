import { localDateOf } from './zone.js';
/**
 * The contact as the domain sees it, and the pure rules around it: lifecycle stage, the
 * contact's place in the funnel aggregates and its list-index entries. No AWS imports.
 */
export const CHANNELS = ['public', 'commerce', 'store', 'referral', 'other'] as const;
export const HOOKS = ['coupon', 'guide', 'gift', 'service', 'other'] as const;
export const STAGES = ['prospect', 'first_purchase', 'repeat', 'loyal'] as const;
export const SEGMENTS = [
  'important_value',
  'important_develop',
  'important_retain',
  'important_winback',
  'general_value',
  'general_develop',
  'general_retain',
  'general_winback',
] as const;
/** The group of an absent value in funnel breakdowns; no free-text value may take it. */
export const NONE = 'none';

export type Channel = (typeof CHANNELS)[number];
export type Hook = (typeof HOOKS)[number];
export type Stage = (typeof STAGES)[number];
export type Segment = (typeof SEGMENTS)[number] | typeof NONE;

export interface ContactStats {
  orders: number;
  spentMinor: number;
  firstOrderAt?: string;
  lastOrderAt?: string;
}

export interface ContactRfm {
  r: number | null;
  f: number | null;
  m: number | null;
  recencyDays: number | null;
  frequency: number | null;
  monetaryMinor: number | null;
  segment: Segment;
  computedAt: string;
}

export interface Contact {
  tenantId: string;
  id: string;
  name: string;
  phone?: string;
  email?: string;
  wechatId?: string;
  externalId?: string;
  accountId?: string;
  ownerStaffId?: string;
  channel: Channel;
  channelDetail?: string;
  hook?: Hook;
  tags: string[];
  status: 'active' | 'lost';
  addedAt: string;
  lostAt?: string;
  stage: Stage;
  stats: ContactStats;
  rfm?: ContactRfm;
  version: number;
  createdAt: string;
  updatedAt: string;
  /** Created from a shop order: `addedAt` then follows the earliest `paidAt` of its orders. */
  fromOrders?: boolean;
}

export interface LifecycleRules {
  loyalMinOrders: number;
  loyalWithinDays: number;
}

const DAY_MS = 86_400_000;

/** prospect (0 counted orders), first_purchase (1), repeat (≥ 2), loyal (≥ min orders, last one recent). */
export function stageOf(
  stats: Pick<ContactStats, 'orders' | 'lastOrderAt'>,
  rules: LifecycleRules,
  at: Date,
): Stage {
  if (stats.orders === 0) return 'prospect';
  if (
    stats.orders >= rules.loyalMinOrders &&
    stats.lastOrderAt !== undefined &&
    at.getTime() - Date.parse(stats.lastOrderAt) <= rules.loyalWithinDays * DAY_MS
  ) {
    return 'loyal';
  }
  return stats.orders === 1 ? 'first_purchase' : 'repeat';
}

/** The grouping dimensions of the funnel: a cell holds one value of each. */
export const FUNNEL_DIMS = [
  'channel',
  'channelDetail',
  'hook',
  'owner',
  'account',
  'segment',
  'stage',
] as const;
export type FunnelDim = (typeof FUNNEL_DIMS)[number];

/** The grouping values of a contact's funnel cell ("none" where absent). */
export type FunnelDims = Record<FunnelDim, string>;

export interface FunnelCounters {
  contacts: number;
  retained: number;
  buyers: number;
  orders: number;
  gmv: number;
}

export interface FunnelPlace {
  /** The contact's added date in the tenant zone (YYYY-MM-DD). */
  day: string;
  dims: FunnelDims;
  counters: FunnelCounters;
}

/** Where a contact counts in the funnel, and how much. Erased contacts count nowhere. */
export function funnelPlace(contact: Contact, timeZone: string): FunnelPlace {
  return {
    day: localDateOf(new Date(contact.addedAt), timeZone),
    dims: {
      channel: contact.channel,
      channelDetail: contact.channelDetail ?? NONE,
      hook: contact.hook ?? NONE,
      owner: contact.ownerStaffId ?? NONE,
      account: contact.accountId ?? NONE,
      segment: contact.rfm?.segment ?? NONE,
      stage: contact.stage,
    },
    counters: {
      contacts: 1,
      retained: contact.status === 'active' ? 1 : 0,
      buyers: contact.stats.orders > 0 ? 1 : 0,
      orders: contact.stats.orders,
      gmv: contact.stats.spentMinor,
    },
  };
}

/** The filterable values every list-index entry carries, so extra filters run on the index. */
export interface ContactFilterValues {
  owner: string;
  account: string;
  channel: string;
  hook: string;
  status: string;
  stage: string;
  segment: string;
  tags: string[];
}

export function filterValues(contact: Contact): ContactFilterValues {
  return {
    owner: contact.ownerStaffId ?? NONE,
    account: contact.accountId ?? NONE,
    channel: contact.channel,
    hook: contact.hook ?? NONE,
    status: contact.status,
    stage: contact.stage,
    segment: contact.rfm?.segment ?? NONE,
    tags: contact.tags,
  };
}

export type IndexDimension =
  | 'all'
  | 'owner'
  | 'account'
  | 'channel'
  | 'hook'
  | 'status'
  | 'stage'
  | 'segment'
  | 'tag';

/**
 * The filters of `GET /v1/contacts`, most selective first: a query reads the partition of the
 * first filter given and applies the others to the values its entries carry.
 */
export const FILTER_PRIORITY = [
  'tag',
  'account',
  'owner',
  'segment',
  'stage',
  'hook',
  'channel',
  'status',
] as const;
export type FilterName = (typeof FILTER_PRIORITY)[number];

/**
 * The values an entry of `dim` carries: those of the filters a query on its partition can add,
 * i.e. the filters after `dim` in `FILTER_PRIORITY` (none for `all`, read only without filters).
 * So a segment or stage change rewrites the entries of the partitions that filter on it, not all.
 */
export function entryFilterValues(f: ContactFilterValues, dim: IndexDimension): Partial<ContactFilterValues> {
  if (dim === 'all') return {};
  const out: Partial<ContactFilterValues> = {};
  for (const name of FILTER_PRIORITY.slice(FILTER_PRIORITY.indexOf(dim) + 1)) {
    if (name === 'tag') out.tags = f.tags;
    else out[name] = f[name];
  }
  return out;
}

/** The (dimension, value) pairs a contact is listed under. */
export function indexPostings(contact: Contact): { dim: IndexDimension; value: string }[] {
  const f = filterValues(contact);
  return [
    { dim: 'all', value: '*' },
    { dim: 'owner', value: f.owner },
    { dim: 'account', value: f.account },
    { dim: 'channel', value: f.channel },
    { dim: 'hook', value: f.hook },
    { dim: 'status', value: f.status },
    { dim: 'stage', value: f.stage },
    { dim: 'segment', value: f.segment },
    ...[...new Set(contact.tags)].map((tag) => ({ dim: 'tag' as const, value: tag })),
  ];
}

/** Prefix-search terms: the lower-cased name, the email, the E.164 phone and its national digits. */
export function searchTerms(contact: Pick<Contact, 'name' | 'phone' | 'email'>): string[] {
  const terms = new Set<string>();
  if (contact.name) terms.add(contact.name.trim().toLowerCase());
  if (contact.email) terms.add(contact.email);
  if (contact.phone) {
    terms.add(contact.phone);
    if (contact.phone.startsWith('+86')) terms.add(contact.phone.slice(3));
  }
  return [...terms].filter(Boolean);
}
