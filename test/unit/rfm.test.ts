import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type LifecycleRules, type Segment, STAGES, type Stage } from '../../shared/domain/contact.js';
import {
  DAY_MS,
  lifecycleStage,
  lifecycleStages,
  packFacts,
  type RfmContact,
  type RfmOrder,
  type RfmRefund,
  type RfmScore,
  scoreRfm,
} from '../../shared/domain/rfm.js';

const AS_OF = Date.parse('2025-06-30T18:00:00Z');
const WINDOW = { asOf: AS_OF, windowDays: 10 };
const RULES: LifecycleRules = { loyalMinOrders: 3, loyalWithinDays: 30 };

/** An order paid `days` (may be fractional, rounded to the ms) before AS_OF. */
function order(days: number, totalMinor: number, refunds?: RfmRefund[]): RfmOrder {
  return { paidAtMs: AS_OF - Math.round(days * DAY_MS), totalMinor, ...(refunds ? { refunds } : {}) };
}

function contact(contactId: string, ...orders: RfmOrder[]): RfmContact {
  return { contactId, orders };
}

function scoresById(contacts: RfmContact[], options = WINDOW): Record<string, RfmScore> {
  return Object.fromEntries(
    scoreRfm(contacts, options).contacts.map(({ contactId, ...score }) => [contactId, score]),
  );
}

const NOT_SCORED: RfmScore = {
  r: null,
  f: null,
  m: null,
  recencyDays: null,
  frequency: null,
  monetaryMinor: null,
  segment: 'none',
};

describe('scoreRfm', () => {
  it('gives contacts with equal recency the same R score, counting only strictly older contacts as worse', () => {
    // Prepare: recencyDays 1, 1, 3, 9 (mean 3.5); equal F and M.
    const contacts = [
      contact('a', order(1 + 1 / 24, 100)),
      contact('b', order(1.5, 100)),
      contact('c', order(3, 100)),
      contact('d', order(9.5, 100)),
    ];

    // Act
    const scores = scoresById(contacts);

    // Assess: worse = 2, 2, 1, 0 of n = 4 → 1 + floor(5 × worse / 4).
    expect(scores).toEqual({
      a: { r: 3, f: 1, m: 1, recencyDays: 1, frequency: 1, monetaryMinor: 100, segment: 'general_develop' },
      b: { r: 3, f: 1, m: 1, recencyDays: 1, frequency: 1, monetaryMinor: 100, segment: 'general_develop' },
      c: { r: 2, f: 1, m: 1, recencyDays: 3, frequency: 1, monetaryMinor: 100, segment: 'general_develop' },
      d: { r: 1, f: 1, m: 1, recencyDays: 9, frequency: 1, monetaryMinor: 100, segment: 'general_winback' },
    });
  });

  it('scores frequency and monetary by the number of contacts with a strictly smaller value', () => {
    // Prepare: frequency 1, 2, 2, 3, 5 of 100 each, all paid 2 days ago (means 2.6 and 260).
    const contacts = [1, 2, 2, 3, 5].map((count, i) =>
      contact(`c${i}`, ...Array.from({ length: count }, () => order(2, 100))),
    );

    // Act
    const run = scoreRfm(contacts, WINDOW);

    // Assess: worse = 0, 1, 1, 3, 4 of n = 5.
    expect(run.contacts.map((c) => [c.f, c.m, c.r, c.segment])).toEqual([
      [1, 1, 1, 'general_winback'],
      [2, 2, 1, 'general_winback'],
      [2, 2, 1, 'general_winback'],
      [4, 4, 1, 'important_retain'],
      [5, 5, 1, 'important_retain'],
    ]);
    expect(run.means).toEqual({ recencyDays: 2, frequency: 2.6, monetary: 260 });
  });

  it('maps each high/low combination of R, F and M to its segment of the 8-class table', () => {
    // Prepare: R high = paid today (else 8 days ago), F high = 3 orders (else 1),
    // M high = 3000 in all (else 300): means 4 days, 2 orders, 1650.
    const table: [string, Segment][] = [
      ['HHH', 'important_value'],
      ['HLH', 'important_develop'],
      ['LHH', 'important_retain'],
      ['LLH', 'important_winback'],
      ['HHL', 'general_value'],
      ['HLL', 'general_develop'],
      ['LHL', 'general_retain'],
      ['LLL', 'general_winback'],
    ];
    const contacts = table.map(([levels]) => {
      const days = levels[0] === 'H' ? 0 : 8;
      const count = levels[1] === 'H' ? 3 : 1;
      const spent = levels[2] === 'H' ? 3000 : 300;
      return contact(levels, ...Array.from({ length: count }, () => order(days, spent / count)));
    });

    // Act
    const run = scoreRfm(contacts, WINDOW);

    // Assess: high values have 4 worse contacts of 8 → 3, low ones none → 1.
    expect(run.contacts.map((c) => [c.contactId, c.segment])).toEqual(table);
    expect(run.contacts.map((c) => [c.r, c.f, c.m])).toEqual(
      table.map(([levels]) => [...levels].map((level) => (level === 'H' ? 3 : 1))),
    );
    expect(run.counts).toEqual({ ...Object.fromEntries(table.map(([, segment]) => [segment, 1])), none: 0 });
    expect(run.means).toEqual({ recencyDays: 4, frequency: 2, monetary: 1650 });
  });

  it('scores a single contact 1-1-1 and makes every comparison low', () => {
    // Prepare
    const contacts = [contact('only', order(2, 500), order(4, 700))];

    // Act
    const run = scoreRfm(contacts, WINDOW);

    // Assess
    expect(run.contacts[0]).toEqual({
      contactId: 'only',
      r: 1,
      f: 1,
      m: 1,
      recencyDays: 2,
      frequency: 2,
      monetaryMinor: 1200,
      segment: 'general_winback',
    });
    expect(run.scored).toBe(1);
    expect(run.means).toEqual({ recencyDays: 2, frequency: 2, monetary: 1200 });
  });

  it('scores contacts with all-equal values 1-1-1 in general_winback', () => {
    // Prepare
    const contacts = ['a', 'b', 'c'].map((id) => contact(id, order(5, 999)));

    // Act
    const run = scoreRfm(contacts, WINDOW);

    // Assess
    expect(new Set(run.contacts.map(({ contactId, ...score }) => JSON.stringify(score)))).toEqual(
      new Set([
        JSON.stringify({
          r: 1,
          f: 1,
          m: 1,
          recencyDays: 5,
          frequency: 1,
          monetaryMinor: 999,
          segment: 'general_winback',
        }),
      ]),
    );
    expect(run.counts.general_winback).toBe(3);
  });

  it('leaves every contact unscored with null means when none has an order in the window', () => {
    // Prepare
    const contacts = [contact('old', order(30, 100)), contact('never')];

    // Act
    const run = scoreRfm(contacts, WINDOW);

    // Assess
    expect(run.scored).toBe(0);
    expect(run.means).toEqual({ recencyDays: null, frequency: null, monetary: null });
    expect(run.contacts).toEqual([
      { contactId: 'old', ...NOT_SCORED },
      { contactId: 'never', ...NOT_SCORED },
    ]);
    expect(run.counts.none).toBe(2);
    expect(scoreRfm([], WINDOW).means).toEqual({ recencyDays: null, frequency: null, monetary: null });
  });

  it('counts a 0.00 order without refunds, with monetary 0', () => {
    // Prepare
    const contacts = [contact('free', order(1, 0)), contact('paying', order(1, 500))];

    // Act
    const scores = scoresById(contacts);

    // Assess
    expect(scores.free).toEqual({
      r: 1,
      f: 1,
      m: 1,
      recencyDays: 1,
      frequency: 1,
      monetaryMinor: 0,
      segment: 'general_winback',
    });
    expect(scores.paying).toMatchObject({ m: 3, segment: 'important_winback' });
  });

  it('excludes an order paid exactly windowDays before asOf and includes one paid at asOf', () => {
    // Prepare
    const contacts = [contact('edge', order(10, 100)), contact('now', order(0, 100), order(10, 5000))];

    // Act
    const scores = scoresById(contacts);

    // Assess
    expect(scores.edge).toEqual(NOT_SCORED);
    expect(scores.now).toMatchObject({ recencyDays: 0, frequency: 1, monetaryMinor: 100 });
  });

  it('ignores orders paid after asOf', () => {
    // Prepare
    const contacts = [
      contact('later', order(-1 / DAY_MS, 100)),
      contact('mixed', order(-1, 900), order(3, 100)),
    ];

    // Act
    const scores = scoresById(contacts);

    // Assess
    expect(scores.later).toEqual(NOT_SCORED);
    expect(scores.mixed).toMatchObject({ recencyDays: 3, frequency: 1, monetaryMinor: 100 });
  });

  it('floors recency to whole days', () => {
    // Prepare
    const contacts = [contact('just', order(1 - 1 / DAY_MS, 100)), contact('day', order(1, 100))];

    // Act
    const scores = scoresById(contacts);

    // Assess
    expect(scores.just?.recencyDays).toBe(0);
    expect(scores.day?.recencyDays).toBe(1);
  });

  it('ignores a refund made after asOf', () => {
    // Prepare
    const contacts = [
      contact('refunded-later', order(2, 1000, [{ amountMinor: 1000, refundedAtMs: AS_OF + 1 }])),
    ];

    // Act
    const scores = scoresById(contacts);

    // Assess
    expect(scores['refunded-later']).toMatchObject({ frequency: 1, monetaryMinor: 1000 });
  });

  it('does not count an order fully refunded by asOf', () => {
    // Prepare
    const contacts = [
      contact('full', order(2, 1000, [{ amountMinor: 1000, refundedAtMs: AS_OF }])),
      contact('over', order(2, 1000, [{ amountMinor: 1200, refundedAtMs: AS_OF - 1 }]), order(20, 10)),
      contact('other', order(3, 1000, [{ amountMinor: 1000, refundedAtMs: AS_OF - DAY_MS }]), order(4, 50)),
    ];

    // Act
    const scores = scoresById(contacts);

    // Assess
    expect(scores.full).toEqual(NOT_SCORED);
    expect(scores.over).toEqual(NOT_SCORED);
    expect(scores.other).toMatchObject({ recencyDays: 4, frequency: 1, monetaryMinor: 50 });
  });

  it('counts a partly refunded order at its net: total minus the refunds made by asOf', () => {
    // Prepare
    const refunds = [
      { amountMinor: 300, refundedAtMs: AS_OF - DAY_MS },
      { amountMinor: 200, refundedAtMs: AS_OF },
      { amountMinor: 400, refundedAtMs: AS_OF + DAY_MS },
    ];
    const contacts = [contact('partial', order(2, 1000, refunds), order(3, 250))];

    // Act
    const scores = scoresById(contacts);

    // Assess
    expect(scores.partial).toMatchObject({ recencyDays: 2, frequency: 2, monetaryMinor: 750 });
  });

  it('does not count a 0.00 order that has a refund by asOf', () => {
    // Prepare
    const contacts = [contact('zero', order(2, 0, [{ amountMinor: 0, refundedAtMs: AS_OF - 1 }]))];

    // Act
    const scores = scoresById(contacts);

    // Assess
    expect(scores.zero).toEqual(NOT_SCORED);
  });

  it('marks a contact whose orders all lie outside the window "none" with null values', () => {
    // Prepare
    const contacts = [contact('lapsed', order(11, 100), order(400, 100)), contact('active', order(1, 100))];

    // Act
    const run = scoreRfm(contacts, WINDOW);

    // Assess
    expect(run.contacts[0]).toEqual({ contactId: 'lapsed', ...NOT_SCORED });
    expect(run.counts).toMatchObject({ none: 1, general_winback: 1 });
  });

  it('compares monetary with the mean exactly when the sums pass 2^53', () => {
    // Prepare: mean = 2^53 − 2 exactly; doubles cannot hold the sum 3 × 2^53 − 6.
    const top = Number.MAX_SAFE_INTEGER;
    const contacts = [
      contact('above', order(1, top)),
      contact('at', order(1, top - 1)),
      contact('below', order(1, top - 2)),
    ];

    // Act
    const run = scoreRfm(contacts, WINDOW);

    // Assess
    expect(run.contacts.map((c) => [c.contactId, c.m, c.segment])).toEqual([
      ['above', 4, 'important_winback'],
      ['at', 2, 'general_winback'],
      ['below', 1, 'general_winback'],
    ]);
    expect(run.means.monetary).toBe(top - 1);
  });

  it('refuses a contact whose monetary sum passes 2^53 − 1', () => {
    // Prepare
    const contacts = [contact('huge', order(1, Number.MAX_SAFE_INTEGER), order(2, 2))];

    // Act
    const act = () => scoreRfm(contacts, WINDOW);

    // Assess
    expect(act).toThrow(RangeError);
  });

  it('refuses a window shorter than one day', () => {
    // Prepare
    const contacts = [contact('a', order(1, 1))];

    // Act
    const act = () => scoreRfm(contacts, { asOf: AS_OF, windowDays: 0 });

    // Assess
    expect(act).toThrow(RangeError);
  });
});

describe('lifecycleStage', () => {
  it('is prospect without an order counted at asOf', () => {
    // Prepare
    const orders = [order(-1, 100), order(5, 100, [{ amountMinor: 100, refundedAtMs: AS_OF - 1 }])];

    // Act
    const stage = lifecycleStage(orders, AS_OF, RULES);

    // Assess
    expect(stage).toBe('prospect');
  });

  it('counts orders of all time, not only those of the RFM window', () => {
    // Prepare
    const one = [order(900, 100)];
    const two = [order(900, 100), order(400, 0)];

    // Act
    const stages = [lifecycleStage(one, AS_OF, RULES), lifecycleStage(two, AS_OF, RULES)];

    // Assess
    expect(stages).toEqual(['first_purchase', 'repeat']);
  });

  it('is loyal with enough counted orders, the last at most loyalWithinDays before asOf', () => {
    // Prepare
    const atEdge = [order(200, 100), order(100, 100), order(30, 100)];
    const lapsed = [order(200, 100), order(100, 100), order(30 + 1 / DAY_MS, 100)];
    const refundedLast = [
      order(200, 100),
      order(100, 100),
      order(40, 100),
      order(1, 100, [{ amountMinor: 100, refundedAtMs: AS_OF }]),
    ];

    // Act
    const stages = [atEdge, lapsed, refundedLast].map((orders) => lifecycleStage(orders, AS_OF, RULES));

    // Assess
    expect(stages).toEqual(['loyal', 'repeat', 'repeat']);
  });
});

// A deliberately naive reading of API.md: BigInt money, O(n²) worse counts, the table by name.
const TABLE: Record<string, Segment> = {
  HHH: 'important_value',
  HLH: 'important_develop',
  LHH: 'important_retain',
  LLH: 'important_winback',
  HHL: 'general_value',
  HLL: 'general_develop',
  LHL: 'general_retain',
  LLL: 'general_winback',
};

function naiveCounted(o: RfmOrder, at: number): { counted: boolean; net: bigint } {
  const refunds = (o.refunds ?? []).filter((refund) => refund.refundedAtMs <= at);
  const refunded = refunds.reduce((sum, refund) => sum + BigInt(refund.amountMinor), 0n);
  const total = BigInt(o.totalMinor);
  const counted = o.paidAtMs <= at && !(refunds.length > 0 && refunded >= total);
  return { counted, net: total - (refunded < total ? refunded : total) };
}

function naiveRfm(contacts: RfmContact[], asOf: number, windowDays: number) {
  const facts = contacts.map((c) => {
    const inWindow = c.orders.filter(
      (o) => o.paidAtMs > asOf - windowDays * DAY_MS && naiveCounted(o, asOf).counted,
    );
    if (inWindow.length === 0) return undefined;
    const last = Math.max(...inWindow.map((o) => o.paidAtMs));
    return {
      recencyDays: Math.floor((asOf - last) / DAY_MS),
      frequency: inWindow.length,
      monetary: inWindow.reduce((sum, o) => sum + naiveCounted(o, asOf).net, 0n),
    };
  });
  const scored = facts.filter((f) => f !== undefined);
  const n = scored.length;
  const sumR = scored.reduce((s, f) => s + BigInt(f.recencyDays), 0n);
  const sumF = scored.reduce((s, f) => s + BigInt(f.frequency), 0n);
  const sumM = scored.reduce((s, f) => s + f.monetary, 0n);
  const score = (worse: number) => 1 + Math.floor((5 * worse) / n);
  const scores = facts.map((f): RfmScore => {
    if (!f) return NOT_SCORED;
    const big = BigInt(n);
    const levels = [
      BigInt(f.recencyDays) * big < sumR,
      BigInt(f.frequency) * big > sumF,
      f.monetary * big > sumM,
    ].map((high) => (high ? 'H' : 'L'));
    return {
      r: score(scored.filter((o) => o.recencyDays > f.recencyDays).length),
      f: score(scored.filter((o) => o.frequency < f.frequency).length),
      m: score(scored.filter((o) => o.monetary < f.monetary).length),
      recencyDays: f.recencyDays,
      frequency: f.frequency,
      monetaryMinor: Number(f.monetary),
      segment: TABLE[levels.join('')]!,
    };
  });
  const means =
    n === 0
      ? { recencyDays: null, frequency: null, monetary: null }
      : { recencyDays: Number(sumR) / n, frequency: Number(sumF) / n, monetary: Number(sumM) / n };
  return { scores, means };
}

function naiveStage(orders: readonly RfmOrder[], asOf: number, rules: LifecycleRules): Stage {
  const counted = orders.filter((o) => naiveCounted(o, asOf).counted);
  if (counted.length === 0) return 'prospect';
  const last = Math.max(...counted.map((o) => o.paidAtMs));
  if (counted.length >= rules.loyalMinOrders && asOf - last <= rules.loyalWithinDays * DAY_MS) return 'loyal';
  return counted.length === 1 ? 'first_purchase' : 'repeat';
}

const WINDOW_DAYS = 7;
// Whole days around the window, often exactly on an edge, sometimes 1 ms off.
const instant = fc
  .tuple(fc.integer({ min: -2, max: WINDOW_DAYS + 2 }), fc.constantFrom(0, 0, 1, -1, DAY_MS / 2))
  .map(([days, ms]) => AS_OF - days * DAY_MS + ms);
// Few distinct amounts so ties are common, and now and then a value past 2^32.
const amount = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(0, 100, 250, 1000) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 ** 45 }) },
);
const arbitraryOrder: fc.Arbitrary<RfmOrder> = fc.record(
  {
    paidAtMs: instant,
    totalMinor: amount,
    refunds: fc.array(fc.record({ amountMinor: amount, refundedAtMs: instant }), { maxLength: 2 }),
  },
  { requiredKeys: ['paidAtMs', 'totalMinor'] },
);
const arbitraryContacts = fc
  .array(fc.array(arbitraryOrder, { maxLength: 5 }), { maxLength: 14 })
  .map((lists) => lists.map((orders, i) => contact(`c${i}`, ...orders)));

describe('scoreRfm against a naive reading of the definitions', () => {
  it('gives the same values, scores, segments and means on random small inputs', () => {
    fc.assert(
      fc.property(arbitraryContacts, (contacts) => {
        // Act
        const run = scoreRfm(contacts, { asOf: AS_OF, windowDays: WINDOW_DAYS });
        const expected = naiveRfm(contacts, AS_OF, WINDOW_DAYS);

        // Assess
        expect(run.contacts.map(({ contactId, ...score }) => score)).toEqual(expected.scores);
        for (const key of ['recencyDays', 'frequency', 'monetary'] as const) {
          const [got, want] = [run.means[key], expected.means[key]];
          if (want === null) expect(got).toBeNull();
          else expect(Math.abs(got! - want)).toBeLessThanOrEqual(1e-9 * Math.max(1, want));
        }
        const counts = Object.fromEntries([...Object.values(TABLE), 'none'].map((s) => [s, 0]));
        for (const score of expected.scores) counts[score.segment]!++;
        expect(run.counts).toEqual(counts);
      }),
      { numRuns: 400 },
    );
  });

  it('gives the same lifecycle stage per contact, from objects and from columns', () => {
    fc.assert(
      fc.property(
        arbitraryContacts,
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 0, max: WINDOW_DAYS }),
        (contacts, loyalMinOrders, loyalWithinDays) => {
          // Prepare
          const rules = { loyalMinOrders, loyalWithinDays };

          // Act
          const stages = contacts.map((c) => lifecycleStage(c.orders, AS_OF, rules));
          const columns = [...lifecycleStages(packFacts(contacts), AS_OF, rules)].map((code) => STAGES[code]);

          // Assess
          const expected = contacts.map((c) => naiveStage(c.orders, AS_OF, rules));
          expect(stages).toEqual(expected);
          expect(columns).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});
