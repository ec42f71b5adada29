import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import {
  bucketOf,
  defaultPlan,
  type InsightPost,
  openSlotAt,
  planProblems,
  postingInsights,
  reminderDecision,
  slotBuckets,
  suggestCategory,
} from '../../shared/domain/posting.js';
import { clockOf, dayWindow, localClock, localInstant } from '../../shared/domain/zone.js';

const NY = 'America/New_York';
const at = (iso: string) => new Date(iso);

describe('local wall-clock time', () => {
  it('places 07:00 in Asia/Shanghai at 23:00Z the day before', () => {
    // Act
    const instant = localInstant('2026-03-08', '07:00', 'Asia/Shanghai');

    // Assess
    expect(instant.toISOString()).toBe('2026-03-07T23:00:00.000Z');
  });

  it.each([
    ['2026-03-07', '2026-03-07T12:00:00.000Z', 'EST, the day before spring forward'],
    ['2026-03-08', '2026-03-08T11:00:00.000Z', 'EDT, the day clocks go forward (02:00 → 03:00)'],
    ['2026-03-09', '2026-03-09T11:00:00.000Z', 'EDT, the day after'],
    ['2026-10-31', '2026-10-31T11:00:00.000Z', 'EDT, the day before fall back'],
    ['2026-11-01', '2026-11-01T12:00:00.000Z', 'EST, the day clocks go back (02:00 → 01:00)'],
    ['2026-11-02', '2026-11-02T12:00:00.000Z', 'EST, the day after'],
  ])('places 07:00 in New York on %s at %s (%s)', (date, expected) => {
    // Act
    const instant = localInstant(date, '07:00', NY);

    // Assess
    expect(instant.toISOString()).toBe(expected);
  });

  it('moves a time inside the spring-forward gap to the first valid instant, the moment of the change', () => {
    // Act: 02:00–02:59 do not exist in New York on 2026-03-08
    const inGap = localInstant('2026-03-08', '02:30', NY);
    const gapStart = localInstant('2026-03-08', '02:00', NY);

    // Assess: both are 03:00 EDT = 07:00Z
    expect(inGap.toISOString()).toBe('2026-03-08T07:00:00.000Z');
    expect(gapStart.toISOString()).toBe('2026-03-08T07:00:00.000Z');
  });

  it('reads a time in the repeated hour as its first occurrence (still daylight time)', () => {
    // Act: 01:30 happens twice in New York on 2026-11-01 (EDT, then EST)
    const instant = localInstant('2026-11-01', '01:30', NY);

    // Assess: 01:30 EDT = 05:30Z, not 01:30 EST = 06:30Z
    expect(instant.toISOString()).toBe('2026-11-01T05:30:00.000Z');
  });

  it('reads every instant as luxon does, and finds its wall-clock time again (the first occurrence)', () => {
    // Zones with DST both ways, half-hour offsets and a half-hour DST change (Lord Howe)
    const zones = [
      NY,
      'Europe/Berlin',
      'Australia/Sydney',
      'America/Sao_Paulo',
      'Asia/Kolkata',
      'America/St_Johns',
      'Australia/Lord_Howe',
      'Asia/Shanghai',
      'UTC',
    ];
    const minute = 60_000;
    fc.assert(
      fc.property(
        fc.integer({ min: Date.parse('2000-01-01') / minute, max: Date.parse('2040-01-01') / minute }),
        fc.constantFrom(...zones),
        (minutes, zone) => {
          const instant = new Date(minutes * minute);
          const { date, minutes: ofDay } = localClock(instant, zone);
          const reference = DateTime.fromJSDate(instant, { zone });
          expect(date).toBe(reference.toFormat('yyyy-MM-dd'));
          expect(ofDay).toBe(reference.hour * 60 + reference.minute);
          // Back from the wall clock: this instant, or the first one showing the same time
          const back = localInstant(date, clockOf(ofDay), zone);
          expect(back.getTime()).toBeLessThanOrEqual(instant.getTime());
          expect(localClock(back, zone)).toEqual({ date, minutes: ofDay });
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('gives a DST day its 23 or 25 hours', () => {
    // Act
    const short = dayWindow('2026-03-08', NY);
    const long = dayWindow('2026-11-01', NY);

    // Assess
    expect(short.end.getTime() - short.start.getTime()).toBe(23 * 3_600_000);
    expect(long.end.getTime() - long.start.getTime()).toBe(25 * 3_600_000);
  });
});

describe('open slots', () => {
  const morning = { start: '07:00', end: '08:30' };

  it('opens a slot at its start and closes it at its end, by local time of the plan zone', () => {
    // Act
    const before = openSlotAt(morning, 'Asia/Shanghai', at('2026-03-07T22:59:00Z'));
    const atStart = openSlotAt(morning, 'Asia/Shanghai', at('2026-03-07T23:00:00Z'));
    const late = openSlotAt(morning, 'Asia/Shanghai', at('2026-03-07T23:20:00Z'));
    const atEnd = openSlotAt(morning, 'Asia/Shanghai', at('2026-03-08T00:30:00Z'));

    // Assess
    expect(before).toBeUndefined();
    expect(atStart).toMatchObject({ date: '2026-03-08', start: at('2026-03-07T23:00:00Z') });
    expect(late?.start.toISOString()).toBe('2026-03-07T23:00:00.000Z');
    expect(atEnd).toBeUndefined();
  });

  it('opens a slot that starts inside the DST gap at the moment of the change', () => {
    // Prepare: 02:30–03:30 on the spring-forward day; 02:30 does not exist
    const slot = { start: '02:30', end: '03:30' };

    // Act: 03:00 EDT (07:00Z) is local bucket 03:00, which the slot covers
    const open = openSlotAt(slot, NY, at('2026-03-08T07:00:00Z'));
    const justBefore = openSlotAt(slot, NY, at('2026-03-08T06:59:00Z'));

    // Assess
    expect(bucketOf(3 * 60)).toBe('03:00');
    expect(slotBuckets(slot)).toContain('03:00');
    expect(open?.start.toISOString()).toBe('2026-03-08T07:00:00.000Z');
    expect(open?.end.toISOString()).toBe('2026-03-08T07:30:00.000Z');
    expect(justBefore).toBeUndefined();
  });

  it('keeps a slot in the repeated hour to its first occurrence', () => {
    // Prepare: 01:00–01:30 on the fall-back day
    const slot = { start: '01:00', end: '01:30' };

    // Act: the first 01:10 (EDT, 05:10Z) and the second (EST, 06:10Z)
    const first = openSlotAt(slot, NY, at('2026-11-01T05:10:00Z'));
    const second = openSlotAt(slot, NY, at('2026-11-01T06:10:00Z'));

    // Assess
    expect(first?.start.toISOString()).toBe('2026-11-01T05:00:00.000Z');
    expect(second).toBeUndefined();
  });

  it('lists the 5-minute buckets a slot overlaps, end excluded', () => {
    // Act
    const buckets = slotBuckets({ start: '07:00', end: '08:30' });
    const odd = slotBuckets({ start: '07:03', end: '07:11' });

    // Assess
    expect(buckets).toHaveLength(18);
    expect(buckets.at(0)).toBe('07:00');
    expect(buckets.at(-1)).toBe('08:25');
    expect(odd).toEqual(['07:00', '07:05', '07:10']);
  });
});

describe('plan checks', () => {
  it('accepts the default plan', () => {
    expect(planProblems(defaultPlan('Asia/Shanghai'))).toEqual([]);
  });

  it('names one field per problem: end before start, overlap, dailyMin over dailyMax, mix sum', () => {
    // Act
    const problems = planProblems({
      slots: [
        { start: '09:00', end: '08:00' },
        { start: '12:00', end: '13:00' },
        { start: '12:30', end: '14:00' },
      ],
      dailyMin: 6,
      dailyMax: 5,
      mix: { engagement: 0.5, life: 0.3, product: 0.3 },
    });

    // Assess
    expect(problems.map((p) => p.path)).toEqual(['slots.0.end', 'slots.2', 'dailyMin', 'mix']);
  });

  it('accepts mix shares within 0.001 of 1 and touching slots', () => {
    const problems = planProblems({
      slots: [
        { start: '07:00', end: '08:00' },
        { start: '08:00', end: '09:00' },
      ],
      mix: { engagement: 0.333, life: 0.333, product: 0.333 },
    });

    expect(problems).toEqual([]);
  });
});

describe('reminder suppression', () => {
  const day = { start: at('2026-03-08T16:00:00Z'), end: at('2026-03-09T16:00:00Z') };
  const slot = { start: at('2026-03-08T23:00:00Z'), end: at('2026-03-09T00:30:00Z') };

  it('suppresses a slot that already has a post in it today', () => {
    const decision = reminderDecision({
      slot,
      day,
      dailyMax: 5,
      posts: [{ time: at('2026-03-09T00:00:00Z'), category: 'life' }],
    });

    expect(decision).toEqual({ postsToday: 1, suppressed: 'posted_in_slot' });
  });

  it('suppresses once the day has dailyMax posts, and counts only posts of the day', () => {
    const posts = [
      { time: at('2026-03-08T17:00:00Z'), category: 'life' as const },
      { time: at('2026-03-09T10:00:00Z'), category: 'product' as const },
      { time: at('2026-03-07T10:00:00Z'), category: 'product' as const },
    ];

    const reached = reminderDecision({ slot, day, dailyMax: 2, posts });
    const under = reminderDecision({ slot, day, dailyMax: 3, posts });

    expect(reached).toEqual({ postsToday: 2, suppressed: 'daily_max_reached' });
    expect(under).toEqual({ postsToday: 2 });
  });
});

describe('suggested category', () => {
  const thirds = { engagement: 1 / 3, life: 1 / 3, product: 1 / 3 };

  it('suggests engagement when there are no posts and the mix is even', () => {
    expect(suggestCategory(thirds, { engagement: 0, life: 0, product: 0 })).toBe('engagement');
  });

  it('breaks ties in the order engagement, life, product', () => {
    // Prepare: life and product both 1/3 behind, engagement ahead
    const counts = { engagement: 3, life: 0, product: 0 };

    // Act / Assess
    expect(suggestCategory(thirds, counts)).toBe('life');
    expect(suggestCategory(thirds, { engagement: 1, life: 1, product: 1 })).toBe('engagement');
    expect(suggestCategory(thirds, { engagement: 1, life: 1, product: 0 })).toBe('product');
  });

  it('suggests the category furthest below its mix share', () => {
    const mix = { engagement: 0.2, life: 0.3, product: 0.5 };

    // 10 posts: product 2 of 10 is 0.3 below its share, the most
    expect(suggestCategory(mix, { engagement: 4, life: 4, product: 2 })).toBe('product');
  });

  it('with no posts, suggests the largest mix share', () => {
    expect(
      suggestCategory({ engagement: 0.2, life: 0.5, product: 0.3 }, { engagement: 0, life: 0, product: 0 }),
    ).toBe('life');
  });
});

describe('posting insights', () => {
  const plan = defaultPlan('Asia/Shanghai');
  const post = (iso: string, likes: number, extra: Partial<InsightPost> = {}): InsightPost => ({
    time: at(iso),
    category: 'engagement',
    published: true,
    likes,
    comments: 0,
    ...extra,
  });

  it('recommends the plan slots while no slot has 5 published posts', () => {
    // 07:30 local (Shanghai) = 23:30Z the day before
    const result = postingInsights(plan, [post('2026-03-07T23:30:00Z', 10)]);

    expect(result.recommendationBasis).toBe('plan');
    expect(result.recommendedSlots.map((s) => s.slot.start)).toEqual(['07:00', '12:00', '18:00', '21:00']);
    expect(result.bySlot[0]).toMatchObject({ slot: { start: '07:00' }, posts: 1, engagement: 10 });
  });

  it('recommends slots with at least 5 posts, best mean engagement first', () => {
    // Prepare: 5 lunch posts (mean 20), 5 evening posts (mean 30), 4 morning posts (mean 100)
    const posts = [
      ...Array.from({ length: 5 }, (_, i) => post(`2026-03-0${i + 1}T04:30:00Z`, 20)),
      ...Array.from({ length: 5 }, (_, i) => post(`2026-03-0${i + 1}T13:30:00Z`, 30, { category: 'life' })),
      ...Array.from({ length: 4 }, (_, i) => post(`2026-03-0${i + 1}T23:30:00Z`, 100)),
      post('2026-03-06T02:00:00Z', 0, { published: false, category: 'product' }),
    ];

    // Act
    const result = postingInsights(plan, posts);

    // Assess
    expect(result.recommendationBasis).toBe('engagement');
    expect(result.recommendedSlots.map((s) => [s.slot.start, s.meanEngagement])).toEqual([
      ['21:00', 30],
      ['12:00', 20],
    ]);
    expect(result.published).toBe(14);
    expect(result.mix.counts).toEqual({ engagement: 9, life: 5, product: 1 });
    expect(result.mix.actual.life).toBeCloseTo(5 / 15);
    expect(result.bySlot.at(-1)).toMatchObject({ slot: null, posts: 0 });
  });
});
