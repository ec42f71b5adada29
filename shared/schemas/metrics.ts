import * as z from 'zod/mini';
import { int } from '../zod.js';

export const FUNNEL_BY = [
  'channel',
  'channelDetail',
  'hook',
  'owner',
  'account',
  'cohort_month',
  'segment',
  'stage',
] as const;

const LocalDate = z.iso.date().check(z.describe('YYYY-MM-DD in the tenant zone'));
const FilterValue = z.string().check(z.minLength(1), z.maxLength(128));

export const FunnelQuery = z
  .strictObject({
    from: LocalDate,
    to: LocalDate,
    by: z.optional(z.enum(FUNNEL_BY)),
    channel: z.optional(FilterValue),
    channelDetail: z.optional(FilterValue),
    hook: z.optional(FilterValue),
    owner: z.optional(FilterValue),
    account: z.optional(FilterValue),
  })
  .check(
    z.refine((q) => q.from <= q.to, { path: ['to'], message: 'must not be before from' }),
    z.refine((q) => Date.parse(q.to) - Date.parse(q.from) <= 5 * 366 * 86_400_000, {
      path: ['to'],
      message: 'a range of at most five years',
    }),
  );

const Figures = z.object({
  contacts: int(),
  retained: int(),
  buyers: int(),
  orders: int(),
  gmv: z.string(),
  retentionRate: z.nullable(z.number()),
  conversionRate: z.nullable(z.number()),
  ordersPerBuyer: z.nullable(z.number()),
  aov: z.nullable(z.number()),
});

export const FunnelResult = z
  .object({
    from: z.string(),
    to: z.string(),
    total: Figures,
    groups: z.array(z.extend(Figures, { key: z.string() })),
  })
  .register(z.globalRegistry, { id: 'Funnel' });

export const CompareQuery = z.strictObject({
  a: z.string().check(z.minLength(1), z.maxLength(2000), z.describe('a URL-encoded funnel query')),
  b: z.string().check(z.minLength(1), z.maxLength(2000), z.describe('a URL-encoded funnel query')),
});

export const CompareResult = z
  .object({
    a: Figures,
    b: Figures,
    factors: z.array(
      z.object({
        name: z.enum(['contacts', 'retentionRate', 'conversionRate', 'ordersPerBuyer', 'aov']),
        a: z.nullable(z.number()),
        b: z.nullable(z.number()),
        ratio: z.nullable(z.number()),
        share: z.nullable(z.number()),
      }),
    ),
    reason: z.optional(z.enum(['equal_gmv', 'zero_factor'])),
  })
  .register(z.globalRegistry, { id: 'FunnelComparison' });
