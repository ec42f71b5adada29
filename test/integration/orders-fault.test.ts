import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '../../shared/app/deps.js';
import type { ServiceUnavailableError } from '../../shared/errors.js';
import type { Caller } from '../../shared/http/auth.js';
import { toProblem } from '../../shared/http/problem.js';
import { recordOrderFacts } from '../../shared/usecases/orders.js';
import { createShop } from '../../shared/usecases/shops.js';
import { importOrders, receiveWebhook } from '../../shared/usecases/webhooks.js';
import { failingAfter, freshTable, outboxEvents } from '../support/table.js';
import { body, fixture, signGeneric } from '../support/webhooks.js';

/**
 * The transaction commits and the caller never hears of it (a timeout on the answer): the
 * delivery is retried. Counted once, and the outbox holds one event with one eventId.
 */
let deps: Deps & { scan: () => Promise<Record<string, unknown>[]> };
let failNextCommit = false;

beforeAll(async () => {
  deps = await freshTable((db) =>
    failingAfter(db, (command) => {
      if (!failNextCommit || command.constructor.name !== 'TransactWriteCommand') return false;
      failNextCommit = false;
      return true;
    }),
  );
});

const admin = (tenantId: string): Caller => ({ tenantId, role: 'admin', staffId: 'admin-1' });

async function tenantItems(tenantId: string) {
  const items = await deps.scan();
  const events = outboxEvents(items).filter((e) => e.detail.metadata.tenantId === tenantId);
  const mine = items.filter((i) => String(i.pk).includes(`#${tenantId}#`));
  return {
    events: (detailType: string) =>
      events
        .filter((e) => e.detailType === detailType)
        .map((e) => e.detail as { metadata: { eventId: string }; data: Record<string, unknown> }),
    orders: mine.filter((i) => i.sk === 'ORDER'),
    contacts: mine.filter((i) => i.sk === 'PROFILE') as { stats: Record<string, unknown> }[],
  };
}

describe('a commit whose answer is lost', () => {
  it('retried webhook delivery: counted once, one OrderRecorded with one eventId', async () => {
    const tenantId = `fault-${randomUUID().slice(0, 8)}`;
    const { shop, secret } = await createShop(deps, admin(tenantId), { name: 'Shop', platform: 'generic' });
    const request = toRequest(signGeneric(body(fixture('generic-order-paid')), secret!));

    failNextCommit = true;
    const failure = await receiveWebhook(deps, shop.id, request).catch((error: unknown) => error);
    const committed = await tenantItems(tenantId);
    const retried = await receiveWebhook(deps, shop.id, request);
    const underAnotherId = await receiveWebhook(
      deps,
      shop.id,
      toRequest(signGeneric(body(fixture('generic-order-paid')), secret!)),
    );

    expect((failure as Error).name).toBe('TimeoutError');
    expect(toProblem(failure).statusCode).toBe(503);
    expect(committed.orders).toHaveLength(1);
    expect(retried).toEqual({ status: 200, body: { status: 'duplicate' } });
    expect(underAnotherId).toEqual({ status: 200, body: { status: 'duplicate' } });
    const after = await tenantItems(tenantId);
    expect(after.orders).toHaveLength(1);
    expect(after.contacts).toHaveLength(1);
    expect(after.contacts[0]!.stats).toMatchObject({ orders: 1, spentMinor: 26_800 });
    const recorded = after.events('OrderRecorded');
    expect(recorded).toHaveLength(1);
    expect(new Set(recorded.map((e) => e.metadata.eventId)).size).toBe(1);
    expect(after.events('ContactCreated')).toHaveLength(1);
  });

  it('retried refund delivery: refunded once, one OrderRefunded with one eventId', async () => {
    const tenantId = `fault-${randomUUID().slice(0, 8)}`;
    const { shop, secret } = await createShop(deps, admin(tenantId), { name: 'Shop', platform: 'generic' });
    await receiveWebhook(deps, shop.id, toRequest(signGeneric(body(fixture('generic-order-paid')), secret!)));
    const refund = toRequest(signGeneric(body(fixture('generic-order-refunded')), secret!));

    failNextCommit = true;
    const failure = await receiveWebhook(deps, shop.id, refund).catch((error: unknown) => error);
    const retried = await receiveWebhook(deps, shop.id, refund);

    expect((failure as Error).name).toBe('TimeoutError');
    expect(retried.body).toEqual({ status: 'duplicate' });
    const after = await tenantItems(tenantId);
    expect(after.contacts[0]!.stats).toMatchObject({ orders: 1, spentMinor: 20_000 });
    const refunded = after.events('OrderRefunded');
    expect(refunded).toHaveLength(1);
    expect(refunded[0]!.data).toMatchObject({ refundId: 'RF-20240620-0007', amount: '68.00', net: '200.00' });
    expect(after.events('OrderRecorded')).toHaveLength(1);
  });

  it('retried recordOrderFacts without a delivery log: the order key alone keeps it exactly once', async () => {
    const tenantId = `fault-${randomUUID().slice(0, 8)}`;
    const source = { tenantId, shopId: 's_direct' };
    const order = {
      externalOrderId: 'direct-1',
      total: '59.90',
      currency: 'CNY',
      paidAt: '2024-08-08T08:08:08+08:00',
      buyer: {
        match: [{ kind: 'email' as const, value: 'direct@example.com' }],
        email: 'direct@example.com',
      },
    };

    failNextCommit = true;
    const failure = await recordOrderFacts(deps, source, { order, refunds: [] }).catch(
      (error: unknown) => error,
    );
    const retried = await recordOrderFacts(deps, source, { order, refunds: [] });

    expect((failure as Error).name).toBe('TimeoutError');
    expect(retried.status).toBe('duplicate');
    const after = await tenantItems(tenantId);
    expect(after.contacts[0]!.stats).toMatchObject({ orders: 1, spentMinor: 5_990 });
    const recorded = after.events('OrderRecorded');
    expect(recorded).toHaveLength(1);
    expect(recorded[0]!.data).toMatchObject({ orderId: retried.orderId, total: '59.90' });
  });
});

describe('a history import that runs out of time', () => {
  it('answers 503 after the orders it started, and the resent batch records the rest, each once', async () => {
    const tenantId = `fault-${randomUUID().slice(0, 8)}`;
    const orders = Array.from({ length: 12 }, (_, i) => ({
      id: `late-${i}`,
      total: '10.00',
      currency: 'CNY',
      paidAt: `2024-09-${String(i + 1).padStart(2, '0')}T10:00:00+08:00`,
      contact: { externalId: `buyer-${i % 3}` },
    }));
    // The function's clock: plenty for the first 4 item starts, then under the reserve.
    let checks = 0;
    const remainingMs = () => (++checks <= 4 ? 20_000 : 500);

    const cut = await importOrders(deps, admin(tenantId), { orders }, remainingMs).catch((e: unknown) => e);
    expect((cut as ServiceUnavailableError).status).toBe(503);
    const partly = await tenantItems(tenantId);
    expect(partly.orders).toHaveLength(4);

    const resent = await importOrders(deps, admin(tenantId), { orders });
    expect(resent.filter((r) => r.status === 'duplicate').map((r) => r.id)).toEqual(
      partly.orders.map((o) => o.externalOrderId).sort(),
    );
    expect(resent.filter((r) => r.status === 'recorded')).toHaveLength(8);
    const after = await tenantItems(tenantId);
    expect(after.orders).toHaveLength(12);
    expect(after.events('OrderRecorded')).toHaveLength(12);
    const spent = after.contacts.map((c) => c.stats.spentMinor as number).sort((a, b) => a - b);
    expect(spent).toEqual([4_000, 4_000, 4_000]);
  });
});

function toRequest(delivery: { headers: Record<string, string>; body: Buffer }) {
  return { headers: delivery.headers, rawBody: delivery.body };
}
