import { describe, expect, it } from 'vitest';
import { DAY_MS, scoreRfm } from '../../shared/domain/rfm.js';
import {
  CDNOW_PATH,
  groupByContact,
  type OrderRow,
  readCdnow,
  referenceRfm,
} from '../support/rfm-reference.js';

describe('scoreRfm on the CDNOW purchase log', () => {
  it('gives every customer the values, scores and segment of the DuckDB reference', async () => {
    // Prepare: zone UTC, each row an order paid at 00:00 UTC on its date, no refunds.
    const orders = readCdnow(CDNOW_PATH);
    const options = { asOf: Date.parse('1998-07-01T00:00:00Z'), windowDays: 365 };
    const reference = await referenceRfm(orders, options);

    // Act
    const run = scoreRfm(groupByContact(orders), options);

    // Assess
    expect(orders).toHaveLength(69_659);
    expect(orders.some((o) => o.paidAtMs === options.asOf - 365 * DAY_MS)).toBe(true);
    expect(run.contacts).toHaveLength(23_570);
    expect(run.scored).toBe(reference.scored);
    expect(run.scored).toBeGreaterThan(0);
    expect(run.contacts).toEqual(
      run.contacts.map(({ contactId }) => ({ contactId, ...reference.scores.get(contactId) })),
    );
    expect(run.means.recencyDays).toBeCloseTo(reference.means.recencyDays!, 9);
    expect(run.means.frequency).toBeCloseTo(reference.means.frequency!, 9);
    expect(run.means.monetary).toBeCloseTo(reference.means.monetary!, 6);
    const referenceCounts: Record<string, number> = {};
    for (const { segment } of reference.scores.values())
      referenceCounts[segment] = (referenceCounts[segment] ?? 0) + 1;
    expect(Object.fromEntries(Object.entries(run.counts).filter(([, count]) => count > 0))).toEqual(
      referenceCounts,
    );
  });
});

describe('the DuckDB RFM reference', () => {
  it('agrees with scoreRfm on orders with refunds, 0.00 totals and window edges', async () => {
    // Prepare: 300 contacts from a fixed pseudo-random sequence.
    const asOf = Date.parse('2025-06-30T18:00:00Z');
    const windowDays = 30;
    let seed = 7;
    const next = (bound: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % bound;
    };
    const instant = () => asOf - (next(windowDays + 4) - 2) * DAY_MS + [0, 0, 1, -1][next(4)]!;
    const amount = () => [0, 100, 250, 1000, next(100_000)][next(5)]!;
    const orders: OrderRow[] = [];
    for (let c = 0; c < 300; c++) {
      for (let k = next(5); k > 0; k--) {
        const refunds = Array.from({ length: next(3) }, () => ({
          amountMinor: amount(),
          refundedAtMs: instant(),
        }));
        orders.push({ contactId: `c${c}`, paidAtMs: instant(), totalMinor: amount(), refunds });
      }
    }

    // Act
    const reference = await referenceRfm(orders, { asOf, windowDays });
    const run = scoreRfm(groupByContact(orders), { asOf, windowDays });

    // Assess
    expect(orders.some((o) => (o.refunds?.length ?? 0) > 0)).toBe(true);
    expect(run.scored).toBe(reference.scored);
    expect(run.contacts).toEqual(
      run.contacts.map(({ contactId }) => ({ contactId, ...reference.scores.get(contactId) })),
    );
  });
});
