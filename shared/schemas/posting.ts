import * as z from 'zod/mini';
import { CATEGORIES, MIX_TOLERANCE, planProblems } from '../domain/posting.js';
import { isClockTime } from '../domain/zone.js';
import { int } from '../zod.js';
import { Id, Instant, Pagination } from './common.js';
import { TimeZone } from './settings.js';

const ClockTime = z
  .string()
  .check(
    z.refine(isClockTime, 'a clock time HH:MM (00:00–23:59)'),
    z.describe('Local wall-clock time HH:MM in the plan zone'),
  );
export const LocalDate = z.iso.date().check(z.describe('Calendar date YYYY-MM-DD in the plan zone'));
export const Category = z.enum(CATEGORIES);

const Share = z.number().check(z.minimum(0), z.maximum(1));
export const Slot = z.strictObject({ start: ClockTime, end: ClockTime }).register(z.globalRegistry, {
  id: 'PostingSlot',
  description:
    '`[start, end)` local time within one day. A start in a DST gap means the first valid instant after ' +
    'it; a time in a repeated hour means its first occurrence.',
});
export const Mix = z
  .strictObject({ engagement: Share, life: Share, product: Share })
  .check(z.describe(`Target shares of the three kinds of content; they sum to 1 (± ${MIX_TOLERANCE})`));

const segment = (part: string) => (/^\d+$/.test(part) ? Number(part) : part);

export const PostingPlanInput = z
  .strictObject({
    timezone: z.optional(TimeZone),
    slots: z.optional(z.array(Slot).check(z.maxLength(24))),
    dailyMin: z.optional(int().check(z.minimum(0), z.maximum(100))),
    dailyMax: z.optional(int().check(z.minimum(1), z.maximum(100))),
    mix: z.optional(Mix),
  })
  .check(
    z.superRefine((plan, ctx) => {
      for (const problem of planProblems(plan)) {
        ctx.addIssue({
          code: 'custom',
          path: problem.path.split('.').map(segment),
          message: problem.message,
        });
      }
    }),
  )
  .register(z.globalRegistry, {
    id: 'PostingPlanInput',
    description:
      'Fields left out keep their current value (a new account starts on the defaults: the tenant zone at ' +
      'its creation, 07:00–08:30, 12:00–13:00, 18:00–19:30, 21:00–22:30, dailyMin 3, dailyMax 5, mix ⅓ each).',
  });

export const PostInput = z
  .strictObject({
    accountId: Id,
    category: Category,
    plannedAt: z.optional(Instant),
    publishedAt: z.optional(Instant),
    text: z.optional(z.string().check(z.maxLength(5000))),
  })
  .check(
    z.superRefine((post, ctx) => {
      if (post.plannedAt === undefined && post.publishedAt === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['plannedAt'],
          message: 'plannedAt or publishedAt is required',
        });
      }
    }),
  )
  .register(z.globalRegistry, {
    id: 'PostInput',
    description: "A post's time is `publishedAt ?? plannedAt`; one of them is required.",
  });

const Count = () => int().check(z.minimum(0), z.maximum(100_000_000));

export const PostPatch = z
  .strictObject({
    plannedAt: z.optional(z.nullable(Instant)),
    publishedAt: z.optional(z.nullable(Instant)),
    likes: z.optional(Count()),
    comments: z.optional(Count()),
  })
  .register(z.globalRegistry, {
    id: 'PostPatch',
    description: 'null clears a time; a post keeps at least one of plannedAt and publishedAt.',
  });

export const PostParams = z.strictObject({ id: Id });

const DateOrInstant = z
  .union([LocalDate, Instant])
  .check(
    z.describe(
      'A calendar date in the plan zone (the whole day) or an RFC 3339 instant; both ends inclusive',
    ),
  );
export const PostQuery = z.strictObject({
  ...Pagination.shape,
  accountId: Id,
  from: z.optional(DateOrInstant),
  to: z.optional(DateOrInstant),
});

export const ReminderQuery = z.strictObject({
  ...Pagination.shape,
  accountId: z.optional(Id).check(z.describe('Without it: every account the caller may see')),
  since: z.optional(Instant).check(z.describe('Reminders with dueAt at or after this instant')),
});

export const InsightsQuery = z.strictObject({
  accountId: Id,
  days: z
    ._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(366)), 28)
    .check(z.describe('Window: the last `days` × 24 h')),
});
