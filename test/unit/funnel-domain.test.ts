import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { funnelKeys } from '../../shared/db/contact-store.js';
import type { FunnelCounters } from '../../shared/domain/contact.js';
import { compareFunnels, FACTORS, type FunnelFigures, figures } from '../../shared/domain/funnel.js';
import { minorUnits } from '../../shared/domain/locale.js';
import { monthSlices, rollupPrefixFor } from '../../shared/usecases/funnel.js';

const counters = (c: Partial<FunnelCounters>): FunnelCounters => ({
  contacts: 0,
  retained: 0,
  buyers: 0,
  orders: 0,
  gmv: 0,
  ...c,
});

const rates = (f: FunnelFigures) => [f.retentionRate, f.conversionRate, f.ordersPerBuyer, f.aov];

/** contacts × retentionRate × conversionRate × ordersPerBuyer × aov, back in minor units. */
const product = (f: FunnelFigures, digits: number) =>
  f.contacts * f.retentionRate! * f.conversionRate! * f.ordersPerBuyer! * f.aov! * 10 ** digits;

/**
 * Counters a real cohort can have: retained and buyers ≤ contacts, ≥ 1 order per buyer, gmv ≥ 0.
 * `flowing`: every step non-zero, so no factor is 0 or null. GMV reaches 100 billion in a
 * two-decimal currency: far beyond a tenant, still within float precision.
 */
const cohort = ({ flowing = false }: { flowing?: boolean } = {}) => {
  const low = flowing ? 1 : 0;
  return fc.integer({ min: low, max: 1_000_000 }).chain((contacts) =>
    fc
      .record({
        retained: fc.integer({ min: Math.min(low, contacts), max: contacts }),
        buyers: fc.integer({ min: Math.min(low, contacts), max: contacts }),
        extraOrders: fc.integer({ min: 0, max: 5_000_000 }),
        gmv: fc.integer({ min: low, max: 10 ** 13 }),
      })
      .map(({ retained, buyers, extraOrders, gmv }) => {
        const orders = buyers === 0 ? 0 : buyers + extraOrders;
        return counters({ contacts, retained, buyers, orders, gmv: orders === 0 ? 0 : gmv });
      }),
  );
};

describe('funnel figures', () => {
  it('gives every rate null when the cohort is empty', () => {
    const f = figures(counters({}), 2);

    expect(f.contacts).toBe(0);
    expect(rates(f)).toEqual([null, null, null, null]);
  });

  it('stops at the first zero divisor: that factor and the later ones are null', () => {
    const noneRetained = figures(counters({ contacts: 4, buyers: 1, orders: 2, gmv: 500 }), 2);
    const noBuyers = figures(counters({ contacts: 4, retained: 2 }), 2);
    const noOrders = figures(counters({ contacts: 4, retained: 2, buyers: 1 }), 2);

    expect(rates(noneRetained)).toEqual([0, null, null, null]);
    expect(rates(noBuyers)).toEqual([0.5, 0, null, null]);
    expect(rates(noOrders)).toEqual([0.5, 0.5, 0, null]);
  });

  it('keeps a zero aov (orders with zero net) as 0, not null', () => {
    const f = figures(counters({ contacts: 2, retained: 2, buyers: 1, orders: 1, gmv: 0 }), 2);

    expect(rates(f)).toEqual([1, 0.5, 1, 0]);
  });

  it('lets conversionRate exceed 1 when contacts who bought were later lost', () => {
    const f = figures(counters({ contacts: 10, retained: 2, buyers: 5, orders: 7, gmv: 70_000 }), 2);

    expect(f.conversionRate).toBe(2.5);
    expect(f.aov).toBe(100);
  });

  it('states aov in currency units for 0, 2 and 3 minor-unit currencies', () => {
    const c = counters({ contacts: 1, retained: 1, buyers: 1, orders: 2, gmv: 1999 });

    expect(figures(c, minorUnits('JPY')).aov).toBe(999.5);
    expect(figures(c, minorUnits('CNY')).aov).toBe(9.995);
    expect(figures(c, minorUnits('KWD')).aov).toBe(0.9995);
  });

  it('multiplies the five factors back to gmv within one minor unit', () => {
    fc.assert(
      fc.property(cohort({ flowing: true }), fc.constantFrom('JPY', 'CNY', 'KWD'), (c, currency) => {
        const digits = minorUnits(currency);
        const f = figures(c, digits);

        expect(Math.abs(product(f, digits) - c.gmv)).toBeLessThanOrEqual(1);
      }),
      { numRuns: 500 },
    );
  });

  it('never yields a number after a null, and never NaN or Infinity', () => {
    fc.assert(
      fc.property(cohort(), (c) => {
        const r = rates(figures(c, 2));
        const firstNull = r.indexOf(null);

        if (firstNull >= 0) expect(r.slice(firstNull).every((x) => x === null)).toBe(true);
        expect(r.every((x) => x === null || Number.isFinite(x))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('funnel comparison', () => {
  const a = figures(counters({ contacts: 200, retained: 180, buyers: 60, orders: 90, gmv: 2_700_000 }), 2);
  const b = figures(counters({ contacts: 100, retained: 80, buyers: 40, orders: 50, gmv: 1_000_000 }), 2);

  it('gives each factor ratio a/b in the order of the formula', () => {
    const { factors, reason } = compareFunnels(a, b);

    expect(reason).toBeUndefined();
    expect(factors.map((f) => f.name)).toEqual([...FACTORS]);
    expect(factors.map((f) => [f.a, f.b])).toEqual([
      [200, 100],
      [0.9, 0.8],
      [60 / 180, 0.5],
      [1.5, 1.25],
      [300, 200],
    ]);
    for (const f of factors) expect(f.ratio).toBeCloseTo(f.a! / f.b!, 12);
  });

  it("gives each factor's share of the log GMV gap, the shares adding up to 1", () => {
    const { factors } = compareFunnels(a, b);

    const gap = Math.log(2_700_000 / 1_000_000);
    expect(factors[0]!.share).toBeCloseTo(Math.log(2) / gap, 12);
    expect(factors.reduce((sum, f) => sum + f.share!, 0)).toBeCloseTo(1, 9);
  });

  it('has shares adding up to 1 for any two funnels with a gap and no zero factor', () => {
    fc.assert(
      fc.property(cohort({ flowing: true }), cohort({ flowing: true }), (ca, cb) => {
        const fa = figures(ca, 2);
        const fb = figures(cb, 2);
        // A gap of a fraction of a percent makes the log ratio too small to divide by reliably.
        fc.pre(Math.abs(Math.log(ca.gmv / cb.gmv)) > 1e-6);

        const { factors, reason } = compareFunnels(fa, fb);

        expect(reason).toBeUndefined();
        expect(factors.reduce((sum, f) => sum + f.share!, 0)).toBeCloseTo(1, 6);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps the ratios but gives no shares when both GMVs are equal (equal_gmv)', () => {
    const same = figures(counters({ contacts: 50, retained: 50, buyers: 25, orders: 25, gmv: 1_000_000 }), 2);

    const { factors, reason } = compareFunnels(same, b);

    expect(reason).toBe('equal_gmv');
    expect(factors.map((f) => f.ratio)).toEqual([0.5, 1.25, 1, 0.8, 2]);
    expect(factors.every((f) => f.share === null)).toBe(true);
  });

  it('nulls the ratio of a factor that is 0 or null on either side, and every share (zero_factor)', () => {
    const noBuyers = figures(counters({ contacts: 100, retained: 50 }), 2);

    const { factors, reason } = compareFunnels(noBuyers, b);

    expect(reason).toBe('zero_factor');
    expect(factors.map((f) => f.ratio)).toEqual([1, 0.625, null, null, null]);
    expect(factors.map((f) => [f.a, f.b])).toEqual([
      [100, 100],
      [0.5, 0.8],
      [0, 0.5],
      [null, 1.25],
      [null, 200],
    ]);
    expect(factors.every((f) => f.share === null)).toBe(true);
  });

  it('treats an empty side as zero_factor, even against another empty side', () => {
    const empty = figures(counters({}), 2);

    const against = compareFunnels(empty, b);
    const bothEmpty = compareFunnels(empty, empty);

    expect(against.reason).toBe('zero_factor');
    expect(against.factors.every((f) => f.ratio === null && f.share === null)).toBe(true);
    expect(bothEmpty.reason).toBe('zero_factor');
  });
});

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

describe('month slices of a funnel range', () => {
  it('reads a whole month from its roll-up', () => {
    expect(monthSlices('2025-02-01', '2025-02-28')).toEqual([
      { month: '2025-02', whole: true, from: '2025-02-01', to: '2025-02-28' },
    ]);
  });

  it('reads a range inside one month from its day items', () => {
    expect(monthSlices('2025-03-05', '2025-03-05')).toEqual([
      { month: '2025-03', whole: false, from: '2025-03-05', to: '2025-03-05' },
    ]);
    expect(monthSlices('2025-03-02', '2025-03-31')).toEqual([
      { month: '2025-03', whole: false, from: '2025-03-02', to: '2025-03-31' },
    ]);
  });

  it('reads partial edge months by day and the months between whole', () => {
    expect(monthSlices('2024-01-15', '2024-03-10')).toEqual([
      { month: '2024-01', whole: false, from: '2024-01-15', to: '2024-01-31' },
      { month: '2024-02', whole: true, from: '2024-02-01', to: '2024-02-29' },
      { month: '2024-03', whole: false, from: '2024-03-01', to: '2024-03-10' },
    ]);
  });

  it('knows February of leap and common years', () => {
    expect(monthSlices('2024-02-01', '2024-02-28')[0]!.whole).toBe(false);
    expect(monthSlices('2024-02-01', '2024-02-29')[0]!.whole).toBe(true);
    expect(monthSlices('2100-02-01', '2100-02-28')[0]!.whole).toBe(true);
  });

  it('crosses a year end', () => {
    expect(monthSlices('2024-11-30', '2025-01-01')).toEqual([
      { month: '2024-11', whole: false, from: '2024-11-30', to: '2024-11-30' },
      { month: '2024-12', whole: true, from: '2024-12-01', to: '2024-12-31' },
      { month: '2025-01', whole: false, from: '2025-01-01', to: '2025-01-01' },
    ]);
  });

  it('covers every day of the range exactly once, whatever the range', () => {
    const day = fc.integer({ min: Date.UTC(2023, 0, 1), max: Date.UTC(2026, 11, 31) }).map(isoDay);
    fc.assert(
      fc.property(day, day, (x, y) => {
        const [from, to] = x <= y ? [x, y] : [y, x];

        const covered: string[] = [];
        for (const slice of monthSlices(from, to)) {
          expect(slice.from.slice(0, 7)).toBe(slice.month);
          expect(slice.to.slice(0, 7)).toBe(slice.month);
          const monthEnds = isoDay(Date.parse(slice.to) + 86_400_000).endsWith('-01');
          expect(slice.whole).toBe(slice.from.endsWith('-01') && monthEnds);
          for (let d = Date.parse(slice.from); d <= Date.parse(slice.to); d += 86_400_000) {
            covered.push(isoDay(d));
          }
        }

        const expected: string[] = [];
        for (let d = Date.parse(from); d <= Date.parse(to); d += 86_400_000) {
          expected.push(isoDay(d));
        }
        expect(covered).toEqual(expected);
      }),
      { numRuns: 100 },
    );
  });
});

describe('the roll-ups whole months are read from', () => {
  it('are one dimension’s for an unfiltered query, whatever the by', () => {
    expect(rollupPrefixFor({}, undefined)).toBe('B#stage#');
    expect(rollupPrefixFor({}, 'cohort_month')).toBe('B#stage#');
    expect(rollupPrefixFor({}, 'hook')).toBe('B#hook#');
    expect(rollupPrefixFor({}, 'owner')).toBe('B#owner#');
  });

  it('are one owner’s for a staff member or an owner filter', () => {
    expect(rollupPrefixFor({ owner: 'ana' }, undefined)).toBe('B#owner=ana#stage#');
    expect(rollupPrefixFor({ owner: 'ana' }, 'owner')).toBe('B#owner=ana#stage#');
    expect(rollupPrefixFor({ owner: 'ana' }, 'segment')).toBe('B#owner=ana#segment#');
    expect(rollupPrefixFor({ owner: 'ana', hook: 'gift' }, 'cohort_month')).toBe('B#owner=ana#hook#');
  });

  it('are the filter’s own for one filter grouped by nothing, cohort month or itself', () => {
    expect(rollupPrefixFor({ channel: 'store' }, undefined)).toBe('B#channel#');
    expect(rollupPrefixFor({ channel: 'store' }, 'channel')).toBe('B#channel#');
    expect(rollupPrefixFor({ account: 'wx1' }, 'cohort_month')).toBe('B#account#');
  });

  it('are none (the cells answer) for two filters, or a filter grouped by another dimension', () => {
    expect(rollupPrefixFor({ channel: 'store', hook: 'gift' }, undefined)).toBeUndefined();
    expect(rollupPrefixFor({ channel: 'store' }, 'hook')).toBeUndefined();
    expect(rollupPrefixFor({ owner: 'ana', channel: 'store' }, 'hook')).toBeUndefined();
    expect(rollupPrefixFor({ channel: 'store' }, 'owner')).toBeUndefined();
  });

  it('cover every key of the months asked for, and none of the months around them', () => {
    const range = funnelKeys.rollupRange('B#channelDetail#', '2025-03', '2025-05');
    const inRange = (sk: string) => sk >= range.from && sk <= range.to;
    expect(inRange(funnelKeys.rollup('t', '2025-03-01', 'channelDetail', 'douyin', 0).sk)).toBe(true);
    expect(inRange(funnelKeys.rollup('t', '2025-05-31', 'channelDetail', '小红书', 3).sk)).toBe(true);
    expect(inRange(funnelKeys.rollup('t', '2025-05-31', 'channelDetail', '~#~', 3).sk)).toBe(true);
    expect(inRange(funnelKeys.rollup('t', '2025-02-28', 'channelDetail', 'zzz', 3).sk)).toBe(false);
    expect(inRange(funnelKeys.rollup('t', '2025-06-01', 'channelDetail', '', 0).sk)).toBe(false);
  });
});
