import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Contact, stageOf } from '../../shared/domain/contact.js';
import { formatMoney } from '../../shared/domain/money.js';
import { type OrderFact, statsAt } from '../../shared/domain/orders.js';
import { defaultSettings } from '../../shared/schemas/settings.js';
import { tenantSession } from '../support/api.js';
import { startTestStack, type TestStack } from '../support/local-stack.js';
import { seeded } from '../support/random.js';
import { outboxEvents } from '../support/table.js';
import { body, deliver, fixture, type SignedDelivery, signShopify } from '../support/webhooks.js';

/**
 * 100 distinct Shopify orders of 25 buyers, each delivered 10 times under different delivery
 * ids, mixed with their refunds (partial, full, partial then the rest; each delivered twice;
 * some before their order), in a seeded random order, 50 in flight at a time.
 */
const SEED = Number(process.env.INGEST_SEED ?? 20241201);
const BUYERS = 25;
const ORDERS_PER_BUYER = 4;
const COPIES = 10;
const REFUND_COPIES = 2;
const IN_FLIGHT = 50;
const DAY = 86_400_000;
const SECRET = 'shopify-concurrency-secret';

interface PlannedOrder {
  id: number;
  buyer: number;
  totalMinor: number;
  paidAt: string;
  refunds: { id: number; amountMinor: number; refundedAt: string }[];
}

interface Planned {
  kind: 'order' | 'refund';
  orderId: number;
  refundId?: number;
  delivery: SignedDelivery;
}

let stack: TestStack;
let session: Awaited<ReturnType<typeof tenantSession>>;
let shopId: string;

beforeAll(async () => {
  stack = await startTestStack();
  session = await tenantSession(stack, 'ingest-concurrency');
  await session.ok('PUT', '/v1/settings', { currency: 'USD' });
  shopId = (
    await session.ok<{ id: string }>('POST', '/v1/shops', {
      name: 'Busy store',
      platform: 'shopify',
      secret: SECRET,
    })
  ).id;
});

afterAll(async () => {
  await stack?.stop();
});

function plan(now: number): { orders: PlannedOrder[]; sequence: Planned[] } {
  const random = seeded(SEED);
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const orders: PlannedOrder[] = [];
  let refundId = 8_100_000_000_000;
  for (let buyer = 0; buyer < BUYERS; buyer++) {
    for (let k = 0; k < ORDERS_PER_BUYER; k++) {
      const totalMinor = int(1_000, 50_000);
      const paid = now - int(10, 250) * DAY - int(0, DAY);
      const order: PlannedOrder = {
        id: 7_100_000_000_000 + orders.length,
        buyer,
        totalMinor,
        paidAt: new Date(paid).toISOString(),
        refunds: [],
      };
      const refundAt = (days: number) => new Date(paid + days * DAY).toISOString();
      const shape = random();
      if (shape < 0.15) {
        order.refunds.push({
          id: refundId++,
          amountMinor: Math.max(1, Math.floor(totalMinor * 0.3)),
          refundedAt: refundAt(2),
        });
      } else if (shape < 0.25) {
        order.refunds.push({ id: refundId++, amountMinor: totalMinor, refundedAt: refundAt(3) });
      } else if (shape < 0.4) {
        const first = Math.floor(totalMinor * 0.4);
        order.refunds.push({ id: refundId++, amountMinor: first, refundedAt: refundAt(1) });
        order.refunds.push({ id: refundId++, amountMinor: totalMinor - first, refundedAt: refundAt(5) });
      }
      orders.push(order);
    }
  }

  const template = fixture<Record<string, unknown> & { customer: Record<string, unknown> }>(
    'shopify-orders-paid',
  );
  const refundTemplate = fixture<Record<string, unknown>>('shopify-refunds-create');
  const money = (minor: number) => formatMoney(minor, 'USD');
  const set = (amount: string) => ({
    shop_money: { amount, currency_code: 'USD' },
    presentment_money: { amount, currency_code: 'USD' },
  });
  let deliveryNo = 0;
  const deliveryId = () => `cc-${SEED}-${deliveryNo++}`;
  const items: Planned[] = [];
  for (const order of orders) {
    const payload = body({
      ...template,
      id: order.id,
      name: `#${order.id % 100_000}`,
      total_price: money(order.totalMinor),
      total_price_set: set(money(order.totalMinor)),
      current_total_price: money(order.totalMinor),
      current_total_price_set: set(money(order.totalMinor)),
      processed_at: order.paidAt,
      email: `buyer-${order.buyer}@example.com`,
      phone: null,
      customer: {
        ...template.customer,
        id: 7_390_000_000_000 + order.buyer,
        email: `buyer-${order.buyer}@example.com`,
        // Half the buyers give a phone too; the platform's order (phone, email, id) then decides.
        phone: order.buyer % 2 ? `+1555010${String(order.buyer).padStart(4, '0')}` : null,
        first_name: 'Buyer',
        last_name: String(order.buyer),
      },
    });
    for (let c = 0; c < COPIES; c++) {
      const id = deliveryId();
      items.push({
        kind: 'order',
        orderId: order.id,
        delivery: signShopify(payload, SECRET, { topic: 'orders/paid', eventId: id, webhookId: `${id}-w` }),
      });
    }
    for (const refund of order.refunds) {
      const payload = body({
        ...refundTemplate,
        id: refund.id,
        order_id: order.id,
        created_at: refund.refundedAt,
        processed_at: refund.refundedAt,
        refund_line_items: [],
        transactions: [
          {
            id: refund.id + 1,
            order_id: order.id,
            kind: 'refund',
            gateway: 'shopify_payments',
            status: 'success',
            amount: money(refund.amountMinor),
            currency: 'USD',
            created_at: refund.refundedAt,
          },
        ],
      });
      for (let c = 0; c < REFUND_COPIES; c++) {
        const id = deliveryId();
        items.push({
          kind: 'refund',
          orderId: order.id,
          refundId: refund.id,
          delivery: signShopify(payload, SECRET, {
            topic: 'refunds/create',
            eventId: id,
            webhookId: `${id}-w`,
          }),
        });
      }
    }
  }

  // Fisher–Yates with the seeded generator.
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  // Ten refunded orders get a refund delivered first, and their orders only well after it.
  const early = new Set(
    orders
      .filter((o) => o.refunds.length)
      .slice(0, 10)
      .map((o) => o.id),
  );
  const front: Planned[] = [];
  const held: Planned[] = [];
  const rest: Planned[] = [];
  for (const item of items) {
    if (!early.has(item.orderId)) rest.push(item);
    else if (item.kind === 'refund' && !front.some((f) => f.orderId === item.orderId)) front.push(item);
    else held.push(item);
  }
  for (const item of held) rest.splice(int(4 * IN_FLIGHT, rest.length), 0, item);
  return { orders, sequence: [...front, ...rest] };
}

async function scanTenant(tenant: string): Promise<Record<string, unknown>[]> {
  return (await stack.scan()).filter(
    (i) =>
      String(i.pk).includes(`#${tenant}#`) ||
      outboxEvents([i]).some((e) => e.detail.metadata.tenantId === tenant),
  );
}

describe('ingest under concurrency', () => {
  it('counts every one of 100 orders exactly once across 1,000 deliveries and their refunds, in any order', async () => {
    const now = Date.now();
    const { orders, sequence } = plan(now);
    const refundCount = orders.reduce((n, o) => n + o.refunds.length, 0);
    const answers = new Array<{ status: string; retries: number; lostAnswer: boolean }>(sequence.length);
    let next = 0;
    const sender = async () => {
      while (next < sequence.length) {
        const index = next++;
        const item = sequence[index]!;
        let lostAnswer = false;
        for (let retries = 0; ; retries++) {
          const res = await deliver<{ status: string }>(stack, shopId, item.delivery);
          // A platform retries any failure. Retried here: a 503 (transient overload, nothing done),
          // and an answer whose outcome is unknown — the function's 504 when it ran out of time, or
          // a 5xx from the gateway itself: its commit may or may not have happened. A problem+json
          // 500 is the function's own error: a bug, never retried.
          const gatewayFailure =
            res.status === 504 ||
            (res.status >= 500 && !res.headers.get('content-type')?.includes('application/problem+json'));
          if ((res.status === 503 || gatewayFailure) && retries < 20) {
            lostAnswer ||= gatewayFailure;
            await new Promise((r) => setTimeout(r, 50 + 50 * retries));
            continue;
          }
          expect(res.status, res.text).toBe(200);
          answers[index] = { status: res.body.status, retries, lostAnswer };
          break;
        }
      }
    };

    await Promise.all(Array.from({ length: IN_FLIGHT }, sender));

    // Prepare the reading: what the deliveries were answered, and what the table holds.
    const recorded = (kind: Planned['kind']) =>
      sequence.filter((s, i) => s.kind === kind && answers[i]!.status === 'recorded').length;
    expect(sequence.filter((s) => s.kind === 'order')).toHaveLength(BUYERS * ORDERS_PER_BUYER * COPIES);
    expect(answers.every((a) => a.status === 'recorded' || a.status === 'duplicate')).toBe(true);
    // A delivery whose first answer was lost may have been recorded then, and `duplicate` on retry.
    const lost = (kind: Planned['kind']) =>
      sequence.filter((s, i) => s.kind === kind && answers[i]!.lostAnswer).length;
    expect(recorded('order')).toBeLessThanOrEqual(orders.length);
    expect(recorded('order')).toBeGreaterThanOrEqual(orders.length - lost('order'));
    expect(recorded('refund')).toBeLessThanOrEqual(refundCount);
    expect(recorded('refund')).toBeGreaterThanOrEqual(refundCount - lost('refund'));

    const items = await scanTenant(session.tenant);
    const headers = items.filter((i) => i.sk === 'ORDER');
    const refundItems = items.filter((i) => String(i.pk).startsWith('O#') && String(i.sk).startsWith('R#'));
    const copies = items.filter((i) => String(i.pk).startsWith('C#') && String(i.sk).startsWith('O#'));
    const contacts = items.filter((i) => i.sk === 'PROFILE') as unknown as Contact[];
    expect(headers.filter((h) => h.paidAt !== undefined)).toHaveLength(orders.length);
    expect(headers).toHaveLength(orders.length);
    expect(refundItems).toHaveLength(refundCount);
    expect(copies).toHaveLength(orders.length);
    expect(contacts).toHaveLength(BUYERS);

    // Some refunds really were kept before their order arrived.
    const refundFirst = headers.filter((h) =>
      refundItems.some((r) => r.pk === h.pk && String(r.recordedAt) < String(h.recordedAt)),
    );
    expect(refundFirst.length).toBeGreaterThanOrEqual(1);

    // Every contact's stats and stage equal a recomputation from the raw order and refund items.
    const at = new Date();
    const factsByContact = new Map<string, OrderFact[]>();
    for (const header of headers) {
      const fact: OrderFact = {
        orderId: String(header.orderId),
        totalMinor: Number(header.totalMinor),
        paidAt: String(header.paidAt),
        refunds: refundItems
          .filter((r) => r.pk === header.pk)
          .map((r) => ({
            id: String(r.refundId),
            amountMinor: Number(r.amountMinor),
            refundedAt: String(r.refundedAt),
          })),
      };
      const list = factsByContact.get(String(header.contactId)) ?? [];
      list.push(fact);
      factsByContact.set(String(header.contactId), list);
    }
    for (const contact of contacts) {
      const stats = statsAt(factsByContact.get(contact.id) ?? [], at.getTime());
      expect(contact.stats, contact.email).toEqual(stats);
      expect(contact.stage, contact.email).toBe(stageOf(stats, defaultSettings.lifecycle, at));
    }

    // …and the plan itself: each buyer's totals are exactly what was sent.
    for (let buyer = 0; buyer < BUYERS; buyer++) {
      const contact = contacts.find((c) => c.email === `buyer-${buyer}@example.com`)!;
      const planned = orders
        .filter((o) => o.buyer === buyer)
        .map((o) => ({
          orderId: String(o.id),
          totalMinor: o.totalMinor,
          paidAt: o.paidAt,
          refunds: o.refunds.map((r) => ({
            id: String(r.id),
            amountMinor: r.amountMinor,
            refundedAt: r.refundedAt,
          })),
        }));
      expect(contact.stats, `buyer ${buyer}`).toEqual(statsAt(planned, at.getTime()));
      expect(contact.addedAt).toBe(planned.map((o) => o.paidAt).sort()[0]);
    }

    // One OrderRecorded event per order, whatever the retries and duplicates.
    const recordedEvents = outboxEvents(items)
      .filter((e) => e.detailType === 'OrderRecorded' && e.detail.metadata.tenantId === session.tenant)
      .map((e) => e.detail as { data: { orderId: string } });
    expect(new Set(recordedEvents.map((e) => e.data.orderId)).size).toBe(orders.length);
    expect(recordedEvents).toHaveLength(orders.length);
  }, 600_000);
});
