import * as z from 'zod';
import { CATEGORIES, isClockTime, MIX_TOLERANCE, planProblems } from '../domain/posting.js';
import { Id, Instant, InstantOut, Pagination } from './common.js';
import { TimeZone } from './settings.js';

const ClockTime = z
  .string()
  .refine(isClockTime, 'a clock time HH:MM (00:00–23:59)')
  .describe('Local wall-clock time HH:MM in the plan zone');
const LocalDate = z.iso.date().describe('Calendar date YYYY-MM-DD in the plan zone');
export const Category = z.enum(CATEGORIES);

const Share = z.number().min(0).max(1);
const Slot = z.strictObject({ start: ClockTime, end: ClockTime }).meta({
  id: 'PostingSlot',
  description:
    '`[start, end)` local time within one day. A start in a DST gap means the first valid instant after ' +
    'it; a time in a repeated hour means its first occurrence.',
});
const Mix = z
  .strictObject({ engagement: Share, life: Share, product: Share })
  .describe(`Target shares of the three kinds of content; they sum to 1 (± ${MIX_TOLERANCE})`);

export const PostingPlanInput = z
  .strictObject({
    timezone: TimeZone.optional(),
    slots: z.array(Slot).max(24).optional(),
    dailyMin: z.number().int().min(0).max(100).optional(),
    dailyMax: z.number().int().min(1).max(100).optional(),
    mix: Mix.optional(),
  })
  .superRefine((plan, ctx) => {
    for (const problem of planProblems(plan)) {
      ctx.addIssue({ code: 'custom', path: problem.path.split('.').map(segment), message: problem.message });
    }
  })
  .meta({
    id: 'PostingPlanInput',
    description:
      'Fields left out keep their current value (a new account starts on the defaults: the tenant zone at ' +
      'its creation, 07:00–08:30, 12:00–13:00, 18:00–19:30, 21:00–22:30, dailyMin 3, dailyMax 5, mix ⅓ each).',
  });

const segment = (part: string) => (/^\d+$/.test(part) ? Number(part) : part);

export const PostingPlanView = z
  .object({
    accountId: Id,
    timezone: z.string(),
    slots: z.array(Slot),
    dailyMin: z.number().int(),
    dailyMax: z.number().int(),
    mix: Mix,
    updatedAt: InstantOut.nullable().describe('null while the account is on the plan it was created with'),
  })
  .meta({ id: 'PostingPlan' });

export const PostInput = z
  .strictObject({
    accountId: Id,
    category: Category,
    plannedAt: Instant.optional(),
    publishedAt: Instant.optional(),
    text: z.string().max(5000).optional(),
  })
  .superRefine((post, ctx) => {
    if (post.plannedAt === undefined && post.publishedAt === undefined) {
      ctx.addIssue({ code: 'custom', path: ['plannedAt'], message: 'plannedAt or publishedAt is required' });
    }
  })
  .meta({
    id: 'PostInput',
    description: "A post's time is `publishedAt ?? plannedAt`; one of them is required.",
  });

export const PostPatch = z
  .strictObject({
    plannedAt: Instant.nullable().optional(),
    publishedAt: Instant.nullable().optional(),
    likes: z.number().int().min(0).max(100_000_000).optional(),
    comments: z.number().int().min(0).max(100_000_000).optional(),
  })
  .meta({
    id: 'PostPatch',
    description: 'null clears a time; a post keeps at least one of plannedAt and publishedAt.',
  });

export const PostView = z
  .object({
    id: Id,
    accountId: Id,
    category: Category,
    plannedAt: InstantOut.optional(),
    publishedAt: InstantOut.optional(),
    text: z.string().optional(),
    likes: z.number().int(),
    comments: z.number().int(),
    time: InstantOut.describe('publishedAt ?? plannedAt'),
    date: LocalDate.describe("The post time's date in the plan zone"),
    createdAt: InstantOut,
    updatedAt: InstantOut,
  })
  .meta({ id: 'Post' });

export const PostParams = z.strictObject({ id: Id });
export const PostList = z.object({ items: z.array(PostView), nextCursor: z.string().nullable() });

const DateOrInstant = z
  .union([LocalDate, Instant])
  .describe('A calendar date in the plan zone (the whole day) or an RFC 3339 instant; both ends inclusive');
export const PostQuery = Pagination.extend({
  accountId: Id,
  from: DateOrInstant.optional(),
  to: DateOrInstant.optional(),
}).strict();

export const ReminderQuery = Pagination.extend({
  accountId: Id.optional().describe('Without it: every account the caller may see'),
  since: Instant.optional().describe('Reminders with dueAt at or after this instant'),
}).strict();

export const ReminderView = z
  .object({
    id: Id,
    accountId: Id,
    date: LocalDate,
    slot: z.object({ start: z.string(), end: z.string() }),
    dueAt: InstantOut.describe("The slot's start instant"),
    postsToday: z.number().int().describe('Posts dated that day (planned or published) when reminded'),
    dailyMin: z.number().int(),
    dailyMax: z.number().int(),
    suggestedCategory: Category,
  })
  .meta({ id: 'Reminder' });
export const ReminderList = z.object({ items: z.array(ReminderView), nextCursor: z.string().nullable() });

export const InsightsQuery = z.strictObject({
  accountId: Id,
  days: z.coerce.number().int().min(1).max(366).default(28).describe('Window: the last `days` × 24 h'),
});

const EngagementCell = {
  posts: z.number().int().describe('Published posts'),
  engagement: z.number().int().describe('Likes + comments of those posts'),
  meanEngagement: z.number().nullable().describe('engagement / posts; null without posts'),
};
const Shares = z.object({ engagement: z.number(), life: z.number(), product: z.number() });

export const InsightsView = z
  .object({
    accountId: Id,
    timezone: z.string(),
    from: InstantOut.describe('Window start (exclusive): now − days × 86,400,000 ms'),
    to: InstantOut.describe('Window end (inclusive): now'),
    days: z.number().int(),
    published: z.number().int().describe('Published posts of the window (engagement is over these)'),
    bySlot: z
      .array(
        z.object({ slot: z.object({ start: z.string(), end: z.string() }).nullable(), ...EngagementCell }),
      )
      .describe("Per plan slot by the post's local time; `slot: null` groups posts outside every slot"),
    byCategory: z.array(z.object({ category: Category, ...EngagementCell })),
    recommendedSlots: z
      .array(z.object({ slot: z.object({ start: z.string(), end: z.string() }), ...EngagementCell }))
      .describe(
        'Slots with ≥ 5 published posts, best mean engagement first; the plan slots while no slot has 5',
      ),
    recommendationBasis: z.enum(['engagement', 'plan']),
    mix: z.object({
      posts: z.number().int().describe('Every post of the window, planned or published'),
      target: Shares,
      actual: z.object({
        engagement: z.number().nullable(),
        life: z.number().nullable(),
        product: z.number().nullable(),
      }),
      counts: z.object({ engagement: z.number().int(), life: z.number().int(), product: z.number().int() }),
    }),
  })
  .meta({ id: 'PostingInsights' });
