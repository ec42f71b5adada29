import * as z from 'zod/mini';
import '../zod.js';

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

export const CompareQuery = z.strictObject({
  a: z.string().check(z.minLength(1), z.maxLength(2000), z.describe('a URL-encoded funnel query')),
  b: z.string().check(z.minLength(1), z.maxLength(2000), z.describe('a URL-encoded funnel query')),
});
