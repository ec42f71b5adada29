import * as z from 'zod';

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

const LocalDate = z.iso.date().describe('YYYY-MM-DD in the tenant zone');
const FilterValue = z.string().min(1).max(128);

export const FunnelQuery = z
  .strictObject({
    from: LocalDate,
    to: LocalDate,
    by: z.enum(FUNNEL_BY).optional(),
    channel: FilterValue.optional(),
    channelDetail: FilterValue.optional(),
    hook: FilterValue.optional(),
    owner: FilterValue.optional(),
    account: FilterValue.optional(),
  })
  .refine((q) => q.from <= q.to, { path: ['to'], message: 'must not be before from' })
  .refine((q) => Date.parse(q.to) - Date.parse(q.from) <= 5 * 366 * 86_400_000, {
    path: ['to'],
    message: 'a range of at most five years',
  });

const Figures = z.object({
  contacts: z.number().int(),
  retained: z.number().int(),
  buyers: z.number().int(),
  orders: z.number().int(),
  gmv: z.string(),
  retentionRate: z.number().nullable(),
  conversionRate: z.number().nullable(),
  ordersPerBuyer: z.number().nullable(),
  aov: z.number().nullable(),
});

export const FunnelResult = z
  .object({
    from: z.string(),
    to: z.string(),
    total: Figures,
    groups: z.array(Figures.extend({ key: z.string() })),
  })
  .meta({ id: 'Funnel' });

export const CompareQuery = z.strictObject({
  a: z.string().min(1).max(2000).describe('a URL-encoded funnel query'),
  b: z.string().min(1).max(2000).describe('a URL-encoded funnel query'),
});

export const CompareResult = z
  .object({
    a: Figures,
    b: Figures,
    factors: z.array(
      z.object({
        name: z.enum(['contacts', 'retentionRate', 'conversionRate', 'ordersPerBuyer', 'aov']),
        a: z.number().nullable(),
        b: z.number().nullable(),
        ratio: z.number().nullable(),
        share: z.number().nullable(),
      }),
    ),
    reason: z.enum(['equal_gmv', 'zero_factor']).optional(),
  })
  .meta({ id: 'FunnelComparison' });
