import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '../../shared/app/deps.js';
import { findByIdentity, getContact } from '../../shared/db/contact-store.js';
import { stageOf } from '../../shared/domain/contact.js';
import { formatMoney } from '../../shared/domain/money.js';
import type { IncomingOrder, IncomingRefund, OrderFact } from '../../shared/domain/orders.js';
import { statsAt } from '../../shared/domain/orders.js';
import { defaultSettings } from '../../shared/schemas/settings.js';
import { recordOrderFacts } from '../../shared/usecases/orders.js';
import { freshTable } from '../support/table.js';

/**
 * Any interleaving of order, refund and duplicate deliveries — some applied concurrently — ends
 * in the contact stats that the facts give when applied once each, in order.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 20);
const DAY = 86_400_000;
const NOW = Date.now();
const BUYERS = ['ana@example.com', 'bo@example.com', 'chen@example.com'];

interface GenRefund {
  id: string;
  amountMinor: number;
  afterDays: number;
}

interface GenOrder {
  buyer: number;
  totalMinor: number;
  daysAgo: number;
  /** False: only its refunds are ever delivered (they wait for an order that never comes). */
  arrives: boolean;
  refunds: GenRefund[];
}

type Delivery =
  | { kind: 'order'; order: number }
  | { kind: 'refund'; order: number; refund: number }
  | { kind: 'order+refund'; order: number; refund: number };

const arbitraryOrder: fc.Arbitrary<GenOrder> = fc.record({
  buyer: fc.integer({ min: 0, max: BUYERS.length - 1 }),
  totalMinor: fc.oneof(fc.constantFrom(0, 1, 10_000), fc.integer({ min: 0, max: 500_000 })),
  daysAgo: fc.integer({ min: 1, max: 400 }),
  arrives: fc.oneof(
    { weight: 5, arbitrary: fc.constant(true) },
    { weight: 1, arbitrary: fc.constant(false) },
  ),
  refunds: fc.uniqueArray(
    fc.record({
      id: fc.constantFrom('r1', 'r2', 'r3'),
      amountMinor: fc.oneof(fc.constantFrom(1, 5_000), fc.integer({ min: 1, max: 600_000 })),
      afterDays: fc.integer({ min: 0, max: 30 }),
    }),
    { maxLength: 2, selector: (r) => r.id },
  ),
});

/** The orders, then every delivery they cause (1–3 copies each), shuffled, in concurrent groups. */
const arbitraryHistory = fc.array(arbitraryOrder, { minLength: 1, maxLength: 6 }).chain((orders) => {
  const deliveries: Delivery[] = [];
  orders.forEach((o, i) => {
    if (o.arrives) deliveries.push({ kind: 'order', order: i });
    o.refunds.forEach((_, r) => {
      deliveries.push({ kind: 'refund', order: i, refund: r });
      if (o.arrives) deliveries.push({ kind: 'order+refund', order: i, refund: r });
    });
  });
  return fc.record({
    orders: fc.constant(orders),
    // Every delivery at least once, some again (retries and duplicates), in any order.
    deliveries: (deliveries.length
      ? fc.array(fc.constantFrom(...deliveries), { maxLength: deliveries.length })
      : fc.constant([])
    ).chain((again) => {
      const all = [...deliveries, ...again];
      return fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length });
    }),
    groups: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 40, maxLength: 40 }),
  });
});

let deps: Deps;

beforeAll(async () => {
  deps = await freshTable();
});

const paidAt = (o: GenOrder) => new Date(NOW - o.daysAgo * DAY).toISOString();
const refundedAt = (o: GenOrder, r: GenRefund) =>
  new Date(Math.min(NOW - 60_000, Date.parse(paidAt(o)) + r.afterDays * DAY)).toISOString();

function incomingOrder(o: GenOrder, index: number): IncomingOrder {
  const email = BUYERS[o.buyer]!;
  return {
    externalOrderId: `ext-${index}`,
    total: formatMoney(o.totalMinor, 'CNY'),
    currency: 'CNY',
    paidAt: paidAt(o),
    buyer: { match: [{ kind: 'email', value: email }], email },
  };
}

function incomingRefund(o: GenOrder, index: number, r: GenRefund): IncomingRefund {
  return {
    externalOrderId: `ext-${index}`,
    refundId: r.id,
    amount: formatMoney(r.amountMinor, 'CNY'),
    refundedAt: refundedAt(o, r),
  };
}

/** The stats of each buyer when every fact is applied once, in order, by the pure rules. */
function inOrder(orders: GenOrder[], at: number) {
  return BUYERS.map((_, buyer) => {
    const facts: OrderFact[] = orders
      .map((o, i) => ({ o, i }))
      .filter(({ o }) => o.arrives && o.buyer === buyer)
      .map(({ o, i }) => ({
        orderId: `ext-${i}`,
        totalMinor: o.totalMinor,
        paidAt: paidAt(o),
        refunds: o.refunds.map((r) => ({
          id: r.id,
          amountMinor: r.amountMinor,
          refundedAt: refundedAt(o, r),
        })),
      }));
    return facts.length ? statsAt(facts, at) : undefined;
  });
}

describe('recordOrderFacts under arbitrary interleavings', () => {
  it('ends in the in-order stats, whatever the order, duplicates and concurrency of deliveries', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryHistory, async ({ orders, deliveries, groups }) => {
        // Prepare: a tenant of its own on the shared fresh table.
        const tenantId = `prop-${randomUUID().slice(0, 8)}`;
        const source = { tenantId, shopId: 's_prop' };
        const send = (d: Delivery) => {
          const o = orders[d.order]!;
          const order = d.kind === 'refund' ? undefined : incomingOrder(o, d.order);
          const refunds = d.kind === 'order' ? [] : [incomingRefund(o, d.order, o.refunds[d.refund]!)];
          return recordOrderFacts(deps, source, {
            ...(order ? { order } : {}),
            refunds,
            ...(order ? {} : { currency: 'CNY' }),
          });
        };

        // Act: deliveries in groups of 1–3 at a time.
        let next = 0;
        for (const size of groups) {
          if (next >= deliveries.length) break;
          const outcomes = await Promise.all(deliveries.slice(next, next + size).map(send));
          for (const outcome of outcomes) expect(['recorded', 'duplicate']).toContain(outcome.status);
          next += size;
        }
        for (; next < deliveries.length; next++) await send(deliveries[next]!);

        // Assess: each buyer's contact against the facts applied once, in order.
        const at = new Date();
        const expected = inOrder(orders, at.getTime());
        for (const [buyer, email] of BUYERS.entries()) {
          const id = await findByIdentity(deps, tenantId, 'email', email);
          const stats = expected[buyer];
          if (!stats) {
            expect(id, email).toBeUndefined();
            continue;
          }
          const contact = await getContact(deps, tenantId, id!, true);
          expect(contact?.stats, email).toEqual(stats);
          expect(contact?.stage, email).toBe(stageOf(stats, defaultSettings.lifecycle, at));
          const earliest = orders
            .filter((o) => o.arrives && o.buyer === buyer)
            .map(paidAt)
            .sort()[0];
          expect(contact?.addedAt, email).toBe(earliest);
        }
      }),
      { numRuns: RUNS },
    );
  }, 600_000);
});
