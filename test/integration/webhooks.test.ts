import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '../../shared/domain/webhooks/platforms.js';
import { tenantSession } from '../support/api.js';
import { startTestStack, type TestStack } from '../support/local-stack.js';
import {
  body,
  deliver,
  fixture,
  flipByte,
  flipChar,
  type SignedDelivery,
  signGeneric,
  signShopify,
  signWooCommerce,
  signYouzan,
  youzanWith,
} from '../support/webhooks.js';

type Session = Awaited<ReturnType<typeof tenantSession>>;

interface Shop {
  session: Session;
  id: string;
  platform: Platform;
  secret: string;
}

interface OrderView {
  id: string;
  shopId?: string;
  externalOrderId: string;
  total: string;
  currency: string;
  paidAt: string;
  refunds: { id: string; amount: string; refundedAt: string }[];
  net: string;
  counted: boolean;
}

interface ContactView {
  id: string;
  name: string;
  phone?: string;
  email?: string;
  externalId?: string;
  ownerStaffId?: string;
  channel: string;
  addedAt: string;
  stage: string;
  stats: { orders: number; spent: string; firstOrderAt?: string; lastOrderAt?: string };
}

const YOUZAN = { clientId: 'f3a9c1e07b5d4a2c', secret: 'example-youzan-client-secret' };
const PLATFORMS: Platform[] = ['generic', 'shopify', 'woocommerce', 'youzan'];
const SIGNATURE_HEADER: Record<Platform, string> = {
  generic: 'siyu-signature',
  shopify: 'x-shopify-hmac-sha256',
  woocommerce: 'x-wc-webhook-signature',
  youzan: 'event-sign',
};
const YOUZAN_SUCCESS = '{"code":0,"msg":"success"}';

let stack: TestStack;
const shops = {} as Record<Platform, Shop>;

beforeAll(async () => {
  stack = await startTestStack();
  shops.generic = await openShop('generic');
  shops.shopify = await openShop('shopify', { currency: 'USD' });
  shops.woocommerce = await openShop('woocommerce', { currency: 'EUR' });
  shops.youzan = await openShop('youzan');
});

afterAll(async () => {
  await stack?.stop();
});

/** The table once the stream consumers caught up (the funnel roll-ups follow the cells). */
async function scanTable(): Promise<string> {
  await stack.drain();
  return JSON.stringify(await stack.scan());
}

/** A fresh tenant (in `currency`) with one shop of `platform`. */
async function openShop(
  platform: Platform,
  options: { currency?: string; session?: Session; defaultOwnerStaffId?: string } = {},
): Promise<Shop> {
  const session =
    options.session ?? (await tenantSession(stack, `wh-${platform}-${randomUUID().slice(0, 8)}`));
  if (options.currency) await session.ok('PUT', '/v1/settings', { currency: options.currency });
  const given =
    platform === 'generic'
      ? undefined
      : platform === 'youzan'
        ? YOUZAN.secret
        : `${platform}-secret-${randomUUID()}`;
  const created = await session.ok<{ id: string; secret?: string; webhookUrl: string }>('POST', '/v1/shops', {
    name: `${platform} store`,
    platform,
    ...(given ? { secret: given } : {}),
    ...(platform === 'youzan' ? { clientId: YOUZAN.clientId } : {}),
    ...(options.defaultOwnerStaffId ? { defaultOwnerStaffId: options.defaultOwnerStaffId } : {}),
  });
  expect(created.webhookUrl).toMatch(new RegExp(`/v1/webhooks/shops/${created.id}$`));
  return { session, id: created.id, platform, secret: created.secret ?? given! };
}

/** Signs `payload` the way the shop's platform does. */
function signFor(
  shop: Shop,
  payload: Buffer,
  options: { topic?: string; secret?: string; deliveryId?: string; timestamp?: number } = {},
): SignedDelivery {
  const secret = options.secret ?? shop.secret;
  const id = options.deliveryId;
  switch (shop.platform) {
    case 'generic':
      return signGeneric(payload, secret, {
        ...(options.timestamp !== undefined ? { timestamp: options.timestamp } : {}),
        ...(id ? { eventId: id } : {}),
      });
    case 'shopify':
      return signShopify(payload, secret, {
        topic: options.topic ?? 'orders/paid',
        ...(id ? { eventId: id, webhookId: id } : {}),
      });
    case 'woocommerce':
      return signWooCommerce(payload, secret, {
        topic: options.topic ?? 'order.created',
        ...(id ? { deliveryId: id } : {}),
      });
    case 'youzan':
      return signYouzan(payload, { clientId: YOUZAN.clientId, secret });
  }
}

/** The fixture each platform's signature tests send. */
const validPayload: Record<Platform, () => Buffer> = {
  generic: () => body(fixture('generic-order-paid')),
  shopify: () => body(fixture('shopify-orders-paid')),
  woocommerce: () => body(fixture('woocommerce-order-created')),
  youzan: () => body(fixture('youzan-trade-paid')),
};

/** A generic order.paid (or order.refunded with `refund`) of a buyer known by email. */
function genericOrder(
  id: string,
  total: string,
  email: string,
  extra: {
    currency?: string;
    paidAt?: string;
    refund?: { id: string; amount: string; refundedAt: string };
  } = {},
) {
  return {
    type: extra.refund ? 'order.refunded' : 'order.paid',
    order: {
      id,
      total,
      currency: extra.currency ?? 'CNY',
      paidAt: extra.paidAt ?? '2024-09-01T10:00:00+08:00',
      contact: { email, name: email.split('@')[0] },
      ...(extra.refund ? { refund: extra.refund } : {}),
    },
  };
}

async function contactBy(session: Session, q: string): Promise<ContactView> {
  const list = await session.ok<{ items: ContactView[] }>('GET', `/v1/contacts?q=${encodeURIComponent(q)}`);
  expect(list.items, `one contact matching ${q}`).toHaveLength(1);
  return list.items[0]!;
}

async function ordersOf(session: Session, contactId: string, token?: string): Promise<OrderView[]> {
  return (
    await session.ok<{ items: OrderView[] }>('GET', `/v1/contacts/${contactId}/orders`, undefined, token)
  ).items;
}

async function deliveries(shop: Shop) {
  return (
    await shop.session.ok<{
      items: { deliveryId: string | null; topic: string; status: string; reason?: string; time: string }[];
    }>('GET', `/v1/shops/${shop.id}/deliveries`)
  ).items;
}

describe('a validly signed delivery of each platform', () => {
  it('generic: records order.paid, and shows the order on its contact and by id', async () => {
    const shop = shops.generic;

    const res = await deliver(stack, shop.id, signFor(shop, body(fixture('generic-order-paid'))));

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'recorded' });
    const contact = await contactBy(shop.session, 'zhou.ming@example.com');
    expect(contact).toMatchObject({
      name: 'Zhou Ming',
      phone: '+8613800138000',
      email: 'zhou.ming@example.com',
      externalId: 'crm-88412',
      channel: 'commerce',
      addedAt: '2024-06-18T12:15:32.000Z',
      stage: 'first_purchase',
      stats: {
        orders: 1,
        spent: '268.00',
        firstOrderAt: '2024-06-18T12:15:32.000Z',
        lastOrderAt: '2024-06-18T12:15:32.000Z',
      },
    });
    const orders = await ordersOf(shop.session, contact.id);
    expect(orders).toEqual([
      {
        id: expect.stringMatching(/^o_/),
        shopId: shop.id,
        externalOrderId: 'SO-20240618-0042',
        total: '268.00',
        currency: 'CNY',
        paidAt: '2024-06-18T12:15:32.000Z',
        refunds: [],
        net: '268.00',
        counted: true,
      },
    ]);
    expect(await shop.session.ok('GET', `/v1/orders/${orders[0]!.id}`)).toEqual(orders[0]);
  });

  it('generic: records order.refunded as a refund of the known order', async () => {
    const shop = shops.generic;

    const res = await deliver(stack, shop.id, signFor(shop, body(fixture('generic-order-refunded'))));

    expect(res.body).toEqual({ status: 'recorded' });
    const contact = await contactBy(shop.session, 'zhou.ming@example.com');
    expect(contact.stats).toMatchObject({ orders: 1, spent: '200.00' });
    const [order] = await ordersOf(shop.session, contact.id);
    expect(order).toMatchObject({
      refunds: [{ id: 'RF-20240620-0007', amount: '68.00', refundedAt: '2024-06-20T02:02:11.000Z' }],
      net: '200.00',
      counted: true,
    });
  });

  it('shopify: records orders/paid and then refunds/create (successful refund transactions only)', async () => {
    const shop = shops.shopify;

    const paid = await deliver(stack, shop.id, signFor(shop, body(fixture('shopify-orders-paid'))));
    const refund = await deliver(
      stack,
      shop.id,
      signFor(shop, body(fixture('shopify-refunds-create')), { topic: 'refunds/create' }),
    );

    expect(paid.body).toEqual({ status: 'recorded' });
    expect(refund.body).toEqual({ status: 'recorded' });
    const contact = await contactBy(shop.session, 'ada.park@example.com');
    expect(contact).toMatchObject({
      name: 'Ada Park',
      phone: '+16135550142',
      externalId: 'shopify:7390123456789',
      stats: { orders: 1, spent: '174.98' },
    });
    const [order] = await ordersOf(shop.session, contact.id);
    expect(order).toMatchObject({
      externalOrderId: '5940139491234',
      total: '259.98',
      currency: 'USD',
      paidAt: '2024-11-10T15:30:12.000Z',
      refunds: [{ id: '1009876543210', amount: '85.00', refundedAt: '2024-11-14T21:05:41.000Z' }],
      net: '174.98',
      counted: true,
    });
  });

  it('shopify: answers an unpaid orders/create as ignored, with the reason in the delivery log', async () => {
    const shop = shops.shopify;
    const delivery = signFor(shop, body(fixture('shopify-orders-create')), {
      topic: 'orders/create',
      deliveryId: `pending-${randomUUID()}`,
    });

    const res = await deliver(stack, shop.id, delivery);

    expect(res.body).toEqual({ status: 'ignored', reason: 'order not paid (financial_status pending)' });
    const logged = (await deliveries(shop)).find(
      (d) => d.deliveryId === delivery.headers['x-shopify-event-id'],
    );
    expect(logged).toMatchObject({
      topic: 'orders/create',
      status: 'ignored',
      reason: 'order not paid (financial_status pending)',
    });
  });

  it('woocommerce: answers the unsigned creation ping 200 and writes nothing', async () => {
    const shop = shops.woocommerce;
    const ping = fixture<{ headers: Record<string, string>; body: string }>('woocommerce-ping');
    const before = await scanTable();

    const res = await deliver(stack, shop.id, { headers: ping.headers, body: Buffer.from(ping.body) });

    expect(res.status).toBe(200);
    expect(await scanTable()).toBe(before);
  });

  it('woocommerce: records order.created, its refund from order.updated, and a full refund by status', async () => {
    const shop = shops.woocommerce;

    const created = await deliver(stack, shop.id, signFor(shop, body(fixture('woocommerce-order-created'))));
    const updated = await deliver(
      stack,
      shop.id,
      signFor(shop, body(fixture('woocommerce-order-updated')), { topic: 'order.updated' }),
    );
    const refunded = await deliver(
      stack,
      shop.id,
      signFor(shop, body(fixture('woocommerce-order-refunded')), { topic: 'order.updated' }),
    );

    expect([created.body, updated.body, refunded.body]).toEqual([
      { status: 'recorded' },
      { status: 'recorded' },
      { status: 'recorded' },
    ]);
    const lena = await contactBy(shop.session, 'lena.vogt@example.com');
    expect(lena).toMatchObject({ externalId: 'woocommerce:12', stats: { orders: 1, spent: '38.99' } });
    expect((await ordersOf(shop.session, lena.id))[0]).toMatchObject({
      externalOrderId: '727',
      currency: 'EUR',
      paidAt: '2024-03-22T15:28:08.000Z',
      refunds: [{ id: '845', amount: '10.00', refundedAt: '2024-03-25T10:04:37.000Z' }],
      net: '38.99',
      counted: true,
    });
    const jonas = await contactBy(shop.session, 'jonas.berg@example.com');
    expect(jonas).toMatchObject({ phone: '+4915155501234', stage: 'prospect', stats: { orders: 0 } });
    expect((await ordersOf(shop.session, jonas.id))[0]).toMatchObject({
      externalOrderId: '731',
      refunds: [{ id: 'full', amount: '24.90' }],
      net: '0.00',
      counted: false,
    });
  });

  it('youzan: answers {"code":0,"msg":"success"}, counts the trade once across TradePaid and TradeSuccess, and refunds it', async () => {
    const shop = shops.youzan;

    const paid = await deliver(stack, shop.id, signFor(shop, body(fixture('youzan-trade-paid'))));
    const success = await deliver(stack, shop.id, signFor(shop, body(fixture('youzan-trade-success'))));
    const refund = await deliver(stack, shop.id, signFor(shop, body(fixture('youzan-refund-success'))));

    for (const res of [paid, success, refund]) {
      expect(res.status).toBe(200);
      expect(res.text).toBe(YOUZAN_SUCCESS);
    }
    const log = await deliveries(shop);
    expect(log.map((d) => [d.topic, d.status]).sort()).toEqual([
      ['trade_TradePaid', 'recorded'],
      ['trade_TradeSuccess', 'duplicate'],
      ['trade_refund_RefundSuccess', 'recorded'],
    ]);
    const contact = await contactBy(shop.session, '13800138000');
    expect(contact).toMatchObject({
      name: '小雨 Xiao Yu',
      phone: '+8613800138000',
      externalId: 'youzan:Ub7fK2mQx9TzR4cA',
      stats: { orders: 1, spent: '98.00', firstOrderAt: '2024-05-20T05:14:15.000Z' },
    });
    expect((await ordersOf(shop.session, contact.id))[0]).toMatchObject({
      externalOrderId: 'E20240520131358012345678',
      total: '128.00',
      refunds: [{ id: '201905221000012345', amount: '30.00', refundedAt: '2024-05-22T01:00:00.000Z' }],
      net: '98.00',
    });
  });
});

describe.each(PLATFORMS)('%s: a delivery that fails the signature check', (platform) => {
  const cases: ['body' | 'header' | 'secret'][] = [['body'], ['header'], ['secret']];

  it.each(cases)(
    'answers 401 problem+json for one flipped byte in the %s and writes nothing',
    async (where) => {
      const shop = shops[platform];
      const header = SIGNATURE_HEADER[platform];
      let delivery = signFor(
        shop,
        validPayload[platform](),
        where === 'secret' ? { secret: flipChar(shop.secret) } : {},
      );
      if (where === 'body') delivery = { ...delivery, body: flipByte(delivery.body) };
      if (where === 'header') {
        const value = delivery.headers[header]!;
        delivery = {
          ...delivery,
          headers: { ...delivery.headers, [header]: flipChar(value, value.length - 5) },
        };
      }
      const before = await scanTable();

      const res = await deliver<{ status: number; title: string }>(stack, shop.id, delivery);

      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.body).toMatchObject({ status: 401, title: 'Unauthorized' });
      expect(await scanTable()).toBe(before);
    },
  );

  it.each([
    ['an empty', ''],
    ['a one-character', 'x'],
    ['an 8 KiB', 'A'.repeat(8192)],
    ['a non-hex, non-base64', 'v1=!!not*a*signature!!'],
  ])('answers 401, never 5xx, for %s signature header and writes nothing', async (_, value) => {
    const shop = shops[platform];
    const signed = signFor(shop, validPayload[platform]());
    const before = await scanTable();

    const res = await deliver(stack, shop.id, {
      ...signed,
      headers: { ...signed.headers, [SIGNATURE_HEADER[platform]]: value },
    });

    expect(res.status).toBe(401);
    expect(await scanTable()).toBe(before);
  });

  it('answers 401 for a shop id that does not exist', async () => {
    const res = await deliver(
      stack,
      `s_${randomUUID().replace(/-/g, '')}`,
      signFor(shops[platform], validPayload[platform]()),
    );

    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
  });
});

describe('generic timestamps', () => {
  it('answers 401 for a timestamp 301 s old, and for a timestamp changed after signing', async () => {
    const shop = shops.generic;
    const payload = body(genericOrder(`ts-${randomUUID()}`, '10.00', 'late@example.com'));
    const stale = signFor(shop, payload, { timestamp: Math.floor(Date.now() / 1000) - 301 });
    const fresh = signFor(shop, payload);
    const before = await scanTable();

    const late = await deliver(stack, shop.id, stale);
    const moved = await deliver(stack, shop.id, {
      ...fresh,
      headers: { ...fresh.headers, 'siyu-timestamp': String(Number(fresh.headers['siyu-timestamp']) - 1) },
    });

    expect(late.status).toBe(401);
    expect(moved.status).toBe(401);
    expect(await scanTable()).toBe(before);
  });
});

describe('duplicates and ignored deliveries', () => {
  it('answers an order in another currency ignored, writing only the delivery-log entry', async () => {
    const shop = shops.generic;
    const delivery = signFor(
      shop,
      body(genericOrder(`usd-${randomUUID()}`, '20.00', 'usd@example.com', { currency: 'USD' })),
    );
    const before = JSON.parse(await scanTable()) as { pk: string }[];

    const res = await deliver(stack, shop.id, delivery);

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ignored', reason: 'currency USD is not the tenant currency CNY' });
    const after = JSON.parse(await scanTable()) as { pk: string; sk: string }[];
    const added = after.filter((a) => !before.some((b) => JSON.stringify(b) === JSON.stringify(a)));
    expect(added.map((a) => a.pk)).toEqual([`DLV#${shop.session.tenant}#${shop.id}`]);
    const logged = (await deliveries(shop)).find((d) => d.deliveryId === delivery.headers['siyu-event-id']);
    expect(logged).toMatchObject({
      topic: 'order.paid',
      status: 'ignored',
      reason: 'currency USD is not the tenant currency CNY',
    });
  });

  it('answers the same delivery again, and the same order under another delivery id, duplicate', async () => {
    const shop = shops.generic;
    const email = `dup-${randomUUID().slice(0, 8)}@example.com`;
    const payload = body(genericOrder(`dup-${randomUUID()}`, '99.00', email));
    const first = signFor(shop, payload);

    const recorded = await deliver(stack, shop.id, first);
    const again = await deliver(stack, shop.id, first);
    const otherId = await deliver(stack, shop.id, signFor(shop, payload));

    expect([recorded.body, again.body, otherId.body]).toEqual([
      { status: 'recorded' },
      { status: 'duplicate' },
      { status: 'duplicate' },
    ]);
    const contact = await contactBy(shop.session, email);
    expect(contact.stats).toMatchObject({ orders: 1, spent: '99.00' });
    expect(await ordersOf(shop.session, contact.id)).toHaveLength(1);
  });

  it('records a delivery that repeats one id in both Shopify id headers, and knows it again', async () => {
    const shop = await openShop('shopify', { currency: 'USD' });
    const delivery = signFor(shop, body(fixture('shopify-orders-paid')), { deliveryId: randomUUID() });

    const first = await deliver(stack, shop.id, delivery);
    const again = await deliver(stack, shop.id, delivery);

    expect(delivery.headers['x-shopify-event-id']).toBe(delivery.headers['x-shopify-webhook-id']);
    expect(first.body).toEqual({ status: 'recorded' });
    expect(again.body).toEqual({ status: 'duplicate' });
  });

  it('records a second Youzan refund of the same trade, and a re-push of either as duplicate', async () => {
    const shop = await openShop('youzan');
    const trade = youzanWith('youzan-trade-paid', () => {});
    const first = youzanWith<{ refund_id: string }>('youzan-refund-success', () => {});
    const second = youzanWith<{ refund_id: string; refunded_fee: string }>('youzan-refund-success', (msg) => {
      msg.refund_id = '201905231000067890';
      msg.refunded_fee = '18.00';
    });
    await deliver(stack, shop.id, signFor(shop, body(trade)));

    for (const push of [first, second, first, second]) {
      const res = await deliver(stack, shop.id, signFor(shop, body(push)));
      expect(res.text).toBe(YOUZAN_SUCCESS);
    }

    const refunds = (await deliveries(shop)).filter((d) => d.topic === 'trade_refund_RefundSuccess');
    expect(refunds.map((d) => d.status).sort()).toEqual(['duplicate', 'duplicate', 'recorded', 'recorded']);
    const contact = await contactBy(shop.session, '13800138000');
    expect(contact.stats).toMatchObject({ orders: 1, spent: '80.00' });
  });

  it('keeps a refund that arrives before its order and applies it when the order arrives', async () => {
    const shop = await openShop('shopify', { currency: 'USD' });
    const orderId = 5940139499001;
    const order = { ...fixture('shopify-orders-paid'), id: orderId };
    const refund = fixture<{ order_id: number }>('shopify-refunds-create');
    refund.order_id = orderId;

    const early = await deliver(stack, shop.id, signFor(shop, body(refund), { topic: 'refunds/create' }));
    const contactsMeanwhile = await shop.session.ok<{ items: unknown[] }>('GET', '/v1/contacts');
    const paid = await deliver(stack, shop.id, signFor(shop, body(order)));
    const refundAgain = await deliver(
      stack,
      shop.id,
      signFor(shop, body(refund), { topic: 'refunds/create' }),
    );

    expect(early.body).toEqual({ status: 'recorded' });
    expect(contactsMeanwhile.items).toEqual([]);
    expect(paid.body).toEqual({ status: 'recorded' });
    expect(refundAgain.body).toEqual({ status: 'duplicate' });
    const contact = await contactBy(shop.session, 'ada.park@example.com');
    expect(contact.stats).toEqual({
      orders: 1,
      spent: '174.98',
      firstOrderAt: '2024-11-10T15:30:12.000Z',
      lastOrderAt: '2024-11-10T15:30:12.000Z',
    });
    expect((await ordersOf(shop.session, contact.id))[0]).toMatchObject({
      externalOrderId: String(orderId),
      refunds: [{ id: '1009876543210', amount: '85.00' }],
      net: '174.98',
      counted: true,
    });
  });

  it('counts an order after a partial refund and stops counting it after the full refund', async () => {
    const shop = shops.generic;
    const email = `refunds-${randomUUID().slice(0, 8)}@example.com`;
    const id = `rf-${randomUUID()}`;
    const refund = (rid: string, amount: string, day: string) => ({
      id: rid,
      amount,
      refundedAt: `2024-09-${day}T12:00:00+08:00`,
    });

    await deliver(stack, shop.id, signFor(shop, body(genericOrder(id, '100.00', email))));
    const partial = await deliver(
      stack,
      shop.id,
      signFor(shop, body(genericOrder(id, '100.00', email, { refund: refund('r1', '30.00', '03') }))),
    );
    const contactAfterPartial = await contactBy(shop.session, email);
    const full = await deliver(
      stack,
      shop.id,
      signFor(shop, body(genericOrder(id, '100.00', email, { refund: refund('r2', '70.00', '05') }))),
    );

    expect(partial.body).toEqual({ status: 'recorded' });
    expect(full.body).toEqual({ status: 'recorded' });
    expect(contactAfterPartial).toMatchObject({
      stage: 'first_purchase',
      stats: { orders: 1, spent: '70.00' },
    });
    const contact = await contactBy(shop.session, email);
    expect(contact.stage).toBe('prospect');
    expect(contact.stats).toEqual({ orders: 0, spent: '0.00' });
    expect((await ordersOf(shop.session, contact.id))[0]).toMatchObject({ net: '0.00', counted: false });
  });
});

describe('shop secrets and state', () => {
  it('accepts the old secret after a rotation, and the new one', async () => {
    const shop = await openShop('generic');
    const old = shop.secret;
    const email = `rotate-${randomUUID().slice(0, 8)}@example.com`;

    const rotated = await shop.session.ok<{ secret: string; previousValidUntil: string }>(
      'POST',
      `/v1/shops/${shop.id}/rotate-secret`,
      {},
    );
    const withOld = await deliver(stack, shop.id, signFor(shop, body(genericOrder('rot-1', '10.00', email))));
    const withNew = await deliver(
      stack,
      shop.id,
      signFor(shop, body(genericOrder('rot-2', '15.00', email)), { secret: rotated.secret }),
    );

    expect(rotated.secret).not.toBe(old);
    expect(Date.parse(rotated.previousValidUntil) - Date.now()).toBeGreaterThan(23 * 3600_000);
    expect(withOld.body).toEqual({ status: 'recorded' });
    expect(withNew.body).toEqual({ status: 'recorded' });
    expect((await contactBy(shop.session, email)).stats).toMatchObject({ orders: 2, spent: '25.00' });
  });

  it('answers 401 for a disabled shop and writes nothing, and records again once enabled', async () => {
    const shop = await openShop('generic');
    const payload = body(genericOrder('off-1', '12.00', 'disabled@example.com'));
    await shop.session.ok('PATCH', `/v1/shops/${shop.id}`, { enabled: false });
    const before = await scanTable();

    const refused = await deliver(stack, shop.id, signFor(shop, payload));
    const unchanged = await scanTable();
    await shop.session.ok('PATCH', `/v1/shops/${shop.id}`, { enabled: true });
    const accepted = await deliver(stack, shop.id, signFor(shop, payload));

    expect(refused.status).toBe(401);
    expect(unchanged).toBe(before);
    expect(accepted.body).toEqual({ status: 'recorded' });
  });
});

describe('history import', () => {
  it('dedupes an import with shopId against that shop’s webhooks, and keeps shop-less history apart', async () => {
    const shop = await openShop('generic');
    const email = `import-${randomUUID().slice(0, 8)}@example.com`;
    const a = genericOrder('imp-a', '40.00', email).order;
    const b = genericOrder('imp-b', '60.00', email, { paidAt: '2024-09-02T10:00:00+08:00' }).order;
    await deliver(stack, shop.id, signFor(shop, body({ type: 'order.paid', order: a })));

    const withShop = await shop.session.ok<{ results: unknown[] }>('POST', '/v1/orders/batch', {
      shopId: shop.id,
      orders: [a, b, { ...a, id: 'imp-bad', total: 'forty' }],
    });
    const webhookB = await deliver(stack, shop.id, signFor(shop, body({ type: 'order.paid', order: b })));
    const shopless = await shop.session.ok<{ results: unknown[] }>('POST', '/v1/orders/batch', {
      orders: [a],
    });
    const shoplessAgain = await shop.session.ok<{ results: unknown[] }>('POST', '/v1/orders/batch', {
      orders: [a],
    });

    expect(withShop.results).toEqual([
      { id: 'imp-a', status: 'duplicate' },
      { id: 'imp-b', status: 'recorded' },
      { id: 'imp-bad', status: 'error', error: expect.stringContaining('total') },
    ]);
    expect(webhookB.body).toEqual({ status: 'duplicate' });
    expect(shopless.results).toEqual([{ id: 'imp-a', status: 'recorded' }]);
    expect(shoplessAgain.results).toEqual([{ id: 'imp-a', status: 'duplicate' }]);
    const contact = await contactBy(shop.session, email);
    const orders = await ordersOf(shop.session, contact.id);
    expect(orders.map((o) => [o.externalOrderId, o.shopId ?? null]).sort()).toEqual([
      ['imp-a', null],
      ['imp-a', shop.id],
      ['imp-b', shop.id],
    ]);
    expect(contact.stats).toMatchObject({ orders: 3, spent: '140.00' });
  });

  it('answers 404 for an import into another tenant’s shop', async () => {
    const other = await openShop('generic');
    const session = await tenantSession(stack, `wh-import-${randomUUID().slice(0, 8)}`);

    const res = await session.call('POST', '/v1/orders/batch', {
      shopId: other.id,
      orders: [genericOrder('x-1', '1.00', 'x@example.com').order],
    });

    expect(res.status).toBe(404);
  });
});

describe('staff scoping', () => {
  it('shows a staff member the orders of their own contacts only', async () => {
    const session = await tenantSession(stack, `wh-staff-${randomUUID().slice(0, 8)}`);
    const amy = await session.staff('amy');
    const bob = await session.staff('bob');
    const shop = await openShop('generic', { session, defaultOwnerStaffId: 'amy' });
    await deliver(
      stack,
      shop.id,
      signFor(shop, body(genericOrder('staff-1', '88.00', 'amys-buyer@example.com'))),
    );
    const contact = await contactBy(session, 'amys-buyer@example.com');
    const [order] = await ordersOf(session, contact.id);

    const amyList = await session.call<{ items: OrderView[] }>(
      'GET',
      `/v1/contacts/${contact.id}/orders`,
      undefined,
      amy,
    );
    const amyOrder = await session.call('GET', `/v1/orders/${order!.id}`, undefined, amy);
    const bobList = await session.call('GET', `/v1/contacts/${contact.id}/orders`, undefined, bob);
    const bobOrder = await session.call('GET', `/v1/orders/${order!.id}`, undefined, bob);

    expect(contact.ownerStaffId).toBe('amy');
    expect(amyList.status).toBe(200);
    expect(amyList.body.items.map((o) => o.id)).toEqual([order!.id]);
    expect(amyOrder.status).toBe(200);
    expect(bobList.status).toBe(404);
    expect(bobOrder.status).toBe(404);
  });
});
