import * as z from 'zod/mini';
import { int } from '../../zod.js';
import { Id } from '../common.js';
import { Category, LocalDate, Mix, Slot } from '../posting.js';
import { InstantOut, listOf } from './common.js';

/** Answers of the posting routes (OpenAPI only: see `./common.ts`). */

const SlotOut = () => z.object({ start: z.string(), end: z.string() });

export const PostingPlanView = z
  .object({
    accountId: Id,
    timezone: z.string(),
    slots: z.array(Slot),
    dailyMin: int(),
    dailyMax: int(),
    mix: Mix,
    updatedAt: z
      .nullable(InstantOut)
      .check(z.describe('null while the account is on the plan it was created with')),
  })
  .register(z.globalRegistry, { id: 'PostingPlan' });

export const PostView = z
  .object({
    id: Id,
    accountId: Id,
    category: Category,
    plannedAt: z.optional(InstantOut),
    publishedAt: z.optional(InstantOut),
    text: z.optional(z.string()),
    likes: int(),
    comments: int(),
    time: InstantOut.check(z.describe('publishedAt ?? plannedAt')),
    date: LocalDate.check(z.describe("The post time's date in the plan zone")),
    createdAt: InstantOut,
    updatedAt: InstantOut,
  })
  .register(z.globalRegistry, { id: 'Post' });

export const PostList = listOf(PostView);

const ReminderView = z
  .object({
    id: Id,
    accountId: Id,
    date: LocalDate,
    slot: SlotOut(),
    dueAt: InstantOut.check(z.describe("The slot's start instant")),
    postsToday: int().check(z.describe('Posts dated that day (planned or published) when reminded')),
    dailyMin: int(),
    dailyMax: int(),
    suggestedCategory: Category,
  })
  .register(z.globalRegistry, { id: 'Reminder' });
export const ReminderList = listOf(ReminderView);

const EngagementCell = {
  posts: int().check(z.describe('Published posts')),
  engagement: int().check(z.describe('Likes + comments of those posts')),
  meanEngagement: z.nullable(z.number()).check(z.describe('engagement / posts; null without posts')),
};
const Shares = z.object({ engagement: z.number(), life: z.number(), product: z.number() });

export const InsightsView = z
  .object({
    accountId: Id,
    timezone: z.string(),
    from: InstantOut.check(z.describe('Window start (exclusive): now − days × 86,400,000 ms')),
    to: InstantOut.check(z.describe('Window end (inclusive): now')),
    days: int(),
    published: int().check(z.describe('Published posts of the window (engagement is over these)')),
    bySlot: z
      .array(z.object({ slot: z.nullable(SlotOut()), ...EngagementCell }))
      .check(
        z.describe("Per plan slot by the post's local time; `slot: null` groups posts outside every slot"),
      ),
    byCategory: z.array(z.object({ category: Category, ...EngagementCell })),
    recommendedSlots: z
      .array(z.object({ slot: SlotOut(), ...EngagementCell }))
      .check(
        z.describe(
          'Slots with ≥ 5 published posts, best mean engagement first; the plan slots while no slot has 5',
        ),
      ),
    recommendationBasis: z.enum(['engagement', 'plan']),
    mix: z.object({
      posts: int().check(z.describe('Every post of the window, planned or published')),
      target: Shares,
      actual: z.object({
        engagement: z.nullable(z.number()),
        life: z.nullable(z.number()),
        product: z.nullable(z.number()),
      }),
      counts: z.object({ engagement: int(), life: int(), product: int() }),
    }),
  })
  .register(z.globalRegistry, { id: 'PostingInsights' });
