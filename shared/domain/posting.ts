import { clockOf, isClockTime, localClock, localInstant, minutesOf } from './zone.js';

/**
 * Moments posting discipline as pure rules: posting plans and their slots, local wall-clock time
 * across DST changes, the open-slot buckets of the reminder tick, reminder suppression, the
 * suggested category and the insights maths. No AWS imports.
 */
export const CATEGORIES = ['engagement', 'life', 'product'] as const;
export type Category = (typeof CATEGORIES)[number];

/** A posting slot `[start, end)` of local wall-clock time (`HH:MM`), within one day. */
export interface Slot {
  start: string;
  end: string;
}

export type Mix = Record<Category, number>;

export interface PostingPlan {
  timezone: string;
  slots: Slot[];
  dailyMin: number;
  dailyMax: number;
  mix: Mix;
}

/** Commute, lunch, commute home and before sleep: when office workers read their moments. */
export const DEFAULT_SLOTS: readonly Slot[] = [
  { start: '07:00', end: '08:30' },
  { start: '12:00', end: '13:00' },
  { start: '18:00', end: '19:30' },
  { start: '21:00', end: '22:30' },
];
export const DEFAULT_DAILY_MIN = 3;
export const DEFAULT_DAILY_MAX = 5;
export const DEFAULT_MIX: Mix = { engagement: 1 / 3, life: 1 / 3, product: 1 / 3 };
/** How far the mix shares may sum away from 1. */
export const MIX_TOLERANCE = 0.001;

export function defaultPlan(timezone: string): PostingPlan {
  return {
    timezone,
    slots: DEFAULT_SLOTS.map((slot) => ({ ...slot })),
    dailyMin: DEFAULT_DAILY_MIN,
    dailyMax: DEFAULT_DAILY_MAX,
    mix: { ...DEFAULT_MIX },
  };
}

export interface PlanProblem {
  path: string;
  message: string;
}

/**
 * What is wrong with a plan's shape, one entry per bad field: slots must end after they start and
 * must not overlap; dailyMin ≤ dailyMax; the mix shares sum to 1 (± 0.001). Clock-time syntax and
 * the zone are checked by the schema.
 */
export function planProblems(plan: Partial<Omit<PostingPlan, 'timezone'>>): PlanProblem[] {
  const problems: PlanProblem[] = [];
  if (plan.slots) {
    const valid: { index: number; start: number; end: number }[] = [];
    plan.slots.forEach((slot, index) => {
      if (!isClockTime(slot.start) || !isClockTime(slot.end)) return;
      const start = minutesOf(slot.start);
      const end = minutesOf(slot.end);
      if (end <= start) {
        problems.push({
          path: `slots.${index}.end`,
          message: 'must be after start (slots lie within one day)',
        });
      } else {
        valid.push({ index, start, end });
      }
    });
    const flagged = new Set<number>();
    for (const a of valid) {
      for (const b of valid) {
        if (b.index <= a.index || flagged.has(b.index)) continue;
        if (a.start < b.end && b.start < a.end) {
          flagged.add(b.index);
          problems.push({ path: `slots.${b.index}`, message: `overlaps slot ${a.index}` });
        }
      }
    }
  }
  if (plan.dailyMin !== undefined && plan.dailyMax !== undefined && plan.dailyMin > plan.dailyMax) {
    problems.push({ path: 'dailyMin', message: 'must not exceed dailyMax' });
  }
  if (plan.mix) {
    const sum = CATEGORIES.reduce((n, c) => n + (plan.mix?.[c] ?? 0), 0);
    if (Math.abs(sum - 1) > MIX_TOLERANCE) {
      problems.push({
        path: 'mix',
        message: `shares must sum to 1 (± ${MIX_TOLERANCE}); they sum to ${sum}`,
      });
    }
  }
  return problems;
}

/** Slots in time order, as a plan stores them. */
export function sortSlots(slots: readonly Slot[]): Slot[] {
  return [...slots].sort((a, b) => minutesOf(a.start) - minutesOf(b.start));
}

// ---- Local time ---------------------------------------------------------------------------

/** The reminder tick runs every 5 minutes; the open-slot index is kept in buckets of that size. */
export const BUCKET_MINUTES = 5;

/** The bucket (`HH:MM`, a multiple of 5 minutes) a local clock time falls in. */
export function bucketOf(minutes: number): string {
  return clockOf(Math.floor(minutes / BUCKET_MINUTES) * BUCKET_MINUTES);
}

/** Every bucket a slot overlaps: the tick at any instant the slot is open finds it in its bucket. */
export function slotBuckets(slot: Slot): string[] {
  const start = minutesOf(slot.start);
  const end = minutesOf(slot.end);
  const buckets: string[] = [];
  for (let m = Math.floor(start / BUCKET_MINUTES) * BUCKET_MINUTES; m < end; m += BUCKET_MINUTES) {
    buckets.push(clockOf(m));
  }
  return buckets;
}

/** The instants of a slot on a local date: `[start, end)`, DST rules of `localInstant`. */
export function slotWindow(date: string, slot: Slot, zone: string): { start: Date; end: Date } {
  return { start: localInstant(date, slot.start, zone), end: localInstant(date, slot.end, zone) };
}

export interface OpenSlot {
  /** The local date of the tick (the reminder's date). */
  date: string;
  start: Date;
  end: Date;
}

/** The slot's window today when it is open at `now` (start ≤ now < end), otherwise undefined. */
export function openSlotAt(slot: Slot, zone: string, now: Date): OpenSlot | undefined {
  const { date } = localClock(now, zone);
  const window = slotWindow(date, slot, zone);
  const t = now.getTime();
  return window.start.getTime() <= t && t < window.end.getTime() ? { date, ...window } : undefined;
}

// ---- Reminders ------------------------------------------------------------------------------

export interface PostTime {
  /** `publishedAt ?? plannedAt`. */
  time: Date;
  category: Category;
}

export type Suppression = 'posted_in_slot' | 'daily_max_reached';

/**
 * Whether a slot that is open should be reminded: not when a post already falls in the slot
 * today, nor when today's posts (planned or published) reached dailyMax.
 */
export function reminderDecision(input: {
  slot: { start: Date; end: Date };
  day: { start: Date; end: Date };
  dailyMax: number;
  posts: readonly PostTime[];
}): { postsToday: number; suppressed?: Suppression } {
  const within = (t: Date, w: { start: Date; end: Date }) =>
    t.getTime() >= w.start.getTime() && t.getTime() < w.end.getTime();
  const postsToday = input.posts.filter((p) => within(p.time, input.day)).length;
  if (input.posts.some((p) => within(p.time, input.slot)))
    return { postsToday, suppressed: 'posted_in_slot' };
  if (postsToday >= input.dailyMax) return { postsToday, suppressed: 'daily_max_reached' };
  return { postsToday };
}

export function countByCategory(posts: readonly { category: Category }[]): Record<Category, number> {
  const counts: Record<Category, number> = { engagement: 0, life: 0, product: 0 };
  for (const post of posts) counts[post.category]++;
  return counts;
}

/** Shares that differ by less than this are a tie (float noise of ⅓ and the like). */
const TIE = 1e-9;

/**
 * The category with the largest (mix share − actual share) over the given posts. Without posts
 * every actual share counts as 0, so the largest mix share wins; ties go to engagement, then
 * life, then product.
 */
export function suggestCategory(mix: Mix, counts: Record<Category, number>): Category {
  const total = CATEGORIES.reduce((n, c) => n + counts[c], 0);
  let best: Category = CATEGORIES[0];
  let bestGap = Number.NEGATIVE_INFINITY;
  for (const category of CATEGORIES) {
    const gap = mix[category] - (total ? counts[category] / total : 0);
    if (gap > bestGap + TIE) {
      best = category;
      bestGap = gap;
    }
  }
  return best;
}

// ---- Insights -------------------------------------------------------------------------------

/** Slots need this many published posts before their mean engagement can recommend them. */
export const MIN_POSTS_TO_RECOMMEND = 5;

export interface InsightPost extends PostTime {
  published: boolean;
  likes: number;
  comments: number;
}

export interface EngagementCell {
  posts: number;
  engagement: number;
  meanEngagement: number | null;
}

export interface PostingInsights {
  /** Published posts of the window. */
  published: number;
  bySlot: ({ slot: Slot | null } & EngagementCell)[];
  byCategory: ({ category: Category } & EngagementCell)[];
  recommendedSlots: ({ slot: Slot } & EngagementCell)[];
  recommendationBasis: 'engagement' | 'plan';
  mix: {
    posts: number;
    target: Mix;
    actual: Record<Category, number | null>;
    counts: Record<Category, number>;
  };
}

function cell(posts: readonly InsightPost[]): EngagementCell {
  const engagement = posts.reduce((n, p) => n + p.likes + p.comments, 0);
  return { posts: posts.length, engagement, meanEngagement: posts.length ? engagement / posts.length : null };
}

/** The plan slot whose wall-clock range holds a local time, if any. */
export function slotOfTime(slots: readonly Slot[], minutes: number): Slot | undefined {
  return slots.find((s) => minutesOf(s.start) <= minutes && minutes < minutesOf(s.end));
}

/**
 * Engagement (likes + comments) per published post by plan slot (posts outside every slot form
 * the `slot: null` group) and by category; the recommended slots are those with at least 5
 * published posts, best mean engagement first (ties: earlier slot), or the plan's slots while no
 * slot has 5; the actual mix is over every post of the window, planned or published.
 */
export function postingInsights(plan: PostingPlan, posts: readonly InsightPost[]): PostingInsights {
  const slots = sortSlots(plan.slots);
  const published = posts.filter((p) => p.published);
  const bySlotMap = new Map<Slot | null, InsightPost[]>(slots.map((s) => [s, []]));
  const outside: InsightPost[] = [];
  for (const post of published) {
    const slot = slotOfTime(slots, localClock(post.time, plan.timezone).minutes);
    if (slot) bySlotMap.get(slot)!.push(post);
    else outside.push(post);
  }
  const bySlot = slots.map((slot) => ({ slot: { ...slot }, ...cell(bySlotMap.get(slot)!) }));
  const ranked = bySlot
    .filter((s) => s.posts >= MIN_POSTS_TO_RECOMMEND)
    .sort((a, b) => (b.meanEngagement ?? 0) - (a.meanEngagement ?? 0));
  const counts = countByCategory(posts);
  return {
    published: published.length,
    bySlot: [...bySlot, { slot: null, ...cell(outside) }],
    byCategory: CATEGORIES.map((category) => ({
      category,
      ...cell(published.filter((p) => p.category === category)),
    })),
    recommendedSlots: ranked.length ? ranked : bySlot,
    recommendationBasis: ranked.length ? 'engagement' : 'plan',
    mix: {
      posts: posts.length,
      target: { ...plan.mix },
      actual: {
        engagement: posts.length ? counts.engagement / posts.length : null,
        life: posts.length ? counts.life / posts.length : null,
        product: posts.length ? counts.product / posts.length : null,
      },
      counts,
    },
  };
}
