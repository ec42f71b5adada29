import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import type { IncomingOrder, ShopEvent } from '../../shared/domain/orders.js';
import {
  type Delivery,
  GENERIC_TOLERANCE_SECONDS,
  type Platform,
  platforms,
  type ShopCredentials,
  shanghai,
} from '../../shared/domain/webhooks/platforms.js';
import {
  body,
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

const NOW = Date.parse('2024-12-01T08:00:00Z');
const SECRET = 'whsec_unit-test-secret-0123456789';
const YOUZAN = { clientId: 'f3a9c1e07b5d4a2c', secret: 'example-youzan-client-secret' };

const delivery = (signed: SignedDelivery, now = NOW): Delivery => ({
  headers: signed.headers,
  rawBody: signed.body,
  now,
});
const parse = (platform: Platform, signed: SignedDelivery): ShopEvent =>
  platforms[platform].parse(delivery(signed));
const utc = (instant: string) => new Date(instant).toISOString();

function orderOf(event: ShopEvent): IncomingOrder & { refunds: unknown[] } {
  if (event.kind !== 'order') throw new Error(`expected an order, got ${JSON.stringify(event)}`);
  return { ...event.order, refunds: event.refunds };
}

describe('generic payloads', () => {
  it('parses order.paid into the order, its buyer identifiers in externalId, phone, email order', () => {
    const signed = signGeneric(body(fixture('generic-order-paid')), SECRET, { timestamp: NOW / 1000 });

    const order = orderOf(parse('generic', signed));

    expect(order).toMatchObject({
      externalOrderId: 'SO-20240618-0042',
      total: '268.00',
      currency: 'CNY',
      refunds: [],
    });
    expect(utc(order.paidAt)).toBe('2024-06-18T12:15:32.000Z');
    expect(order.buyer.match).toEqual([
      { kind: 'ext', value: 'crm-88412' },
      { kind: 'phone', value: '138 0013 8000' },
      { kind: 'email', value: 'Zhou.Ming@example.com' },
    ]);
    expect(order.buyer.name).toBe('Zhou Ming');
  });

  it('parses order.refunded into the order and its refund', () => {
    const signed = signGeneric(body(fixture('generic-order-refunded')), SECRET, { timestamp: NOW / 1000 });

    const order = orderOf(parse('generic', signed));

    expect(order.externalOrderId).toBe('SO-20240618-0042');
    expect(order.refunds).toEqual([
      {
        externalOrderId: 'SO-20240618-0042',
        refundId: 'RF-20240620-0007',
        amount: '68.00',
        refundedAt: '2024-06-20T10:02:11+08:00',
      },
    ]);
  });

  it('ignores an unknown type and a malformed order, naming why', () => {
    const unknown = { ...fixture('generic-order-paid'), type: 'order.cancelled' };
    const malformed = fixture<{ order: Record<string, unknown> }>('generic-order-paid');
    malformed.order.paidAt = 'yesterday';

    expect(parse('generic', signGeneric(body(unknown), SECRET))).toEqual({
      kind: 'ignored',
      reason: 'unknown topic order.cancelled',
    });
    expect(parse('generic', signGeneric(body(malformed), SECRET))).toEqual({
      kind: 'ignored',
      reason: 'malformed payload: paidAt',
    });
    expect(parse('generic', signGeneric(body('not json'), SECRET)).kind).toBe('ignored');
  });
});

describe('Shopify payloads', () => {
  it('parses orders/paid with the shop-money total, processed_at, and phone, email, customer id', () => {
    const signed = signShopify(body(fixture('shopify-orders-paid')), SECRET, { topic: 'orders/paid' });

    const order = orderOf(parse('shopify', signed));

    expect(order).toMatchObject({
      externalOrderId: '5940139491234',
      total: '259.98',
      currency: 'USD',
      refunds: [],
    });
    expect(utc(order.paidAt)).toBe('2024-11-10T15:30:12.000Z');
    expect(order.buyer.match).toEqual([
      { kind: 'phone', value: '+16135550142' },
      { kind: 'email', value: 'ada.park@example.com' },
      { kind: 'ext', value: 'shopify:7390123456789' },
    ]);
    expect(order.buyer.name).toBe('Ada Park');
  });

  it('ignores orders/create while the order is not paid, and counts it once paid', () => {
    const pending = fixture('shopify-orders-create');
    const paid = { ...pending, financial_status: 'paid' };

    const ignored = parse('shopify', signShopify(body(pending), SECRET, { topic: 'orders/create' }));
    const counted = orderOf(parse('shopify', signShopify(body(paid), SECRET, { topic: 'orders/create' })));

    expect(ignored).toEqual({ kind: 'ignored', reason: 'order not paid (financial_status pending)' });
    expect(counted).toMatchObject({ externalOrderId: '5940139491301', total: '99.99', currency: 'USD' });
    // No phone on this customer: email, then the customer id.
    expect(counted.buyer.match).toEqual([
      { kind: 'email', value: 'sam.rivera@example.com' },
      { kind: 'ext', value: 'shopify:7390123456811' },
    ]);
  });

  it('parses refunds/create as the sum of its successful refund transactions', () => {
    const signed = signShopify(body(fixture('shopify-refunds-create')), SECRET, { topic: 'refunds/create' });

    const event = parse('shopify', signed);

    // 75.00 + 10.00 succeeded; the declined 30.00 does not count.
    expect(event).toEqual({
      kind: 'refund',
      refund: {
        externalOrderId: '5940139491234',
        refundId: '1009876543210',
        amount: '85.00',
        refundedAt: '2024-11-14T16:05:41-05:00',
      },
      currency: 'USD',
    });
  });

  it('ignores a refund without a successful refund transaction, and an unknown topic', () => {
    const refund = fixture<{ transactions: { status: string }[] }>('shopify-refunds-create');
    for (const t of refund.transactions) t.status = 'pending';

    expect(parse('shopify', signShopify(body(refund), SECRET, { topic: 'refunds/create' }))).toEqual({
      kind: 'ignored',
      reason: 'refund without a successful refund transaction',
    });
    expect(
      parse('shopify', signShopify(body(fixture('shopify-orders-paid')), SECRET, { topic: 'orders/edited' })),
    ).toEqual({ kind: 'ignored', reason: 'unknown topic orders/edited' });
  });

  it('dedupes on both the event id and the webhook id', () => {
    const signed = signShopify(body({}), SECRET, { topic: 'orders/paid', eventId: 'e-1', webhookId: 'w-1' });

    expect(platforms.shopify.deliveryIds(delivery(signed))).toEqual(['e-1', 'w-1']);
  });
});

describe('WooCommerce payloads', () => {
  it('parses order.created with date_paid_gmt as UTC, and phone, email, customer id', () => {
    const signed = signWooCommerce(body(fixture('woocommerce-order-created')), SECRET, {
      topic: 'order.created',
    });

    const order = orderOf(parse('woocommerce', signed));

    expect(order).toEqual({
      externalOrderId: '727',
      total: '48.99',
      currency: 'EUR',
      paidAt: '2024-03-22T15:28:08Z',
      buyer: {
        match: [
          { kind: 'phone', value: '030 5550142' },
          { kind: 'email', value: 'lena.vogt@example.com' },
          { kind: 'ext', value: 'woocommerce:12' },
        ],
        name: 'Lena Vogt',
        phone: '030 5550142',
        email: 'lena.vogt@example.com',
        externalId: 'woocommerce:12',
      },
      refunds: [],
    });
  });

  it('parses each entry of refunds[] as a refund dated by date_modified_gmt', () => {
    const signed = signWooCommerce(body(fixture('woocommerce-order-updated')), SECRET, {
      topic: 'order.updated',
    });

    const order = orderOf(parse('woocommerce', signed));

    expect(order.refunds).toEqual([
      { externalOrderId: '727', refundId: '845', amount: '10.00', refundedAt: '2024-03-25T10:04:37Z' },
    ]);
  });

  it('reads status refunded with no refund entries as a full refund', () => {
    const signed = signWooCommerce(body(fixture('woocommerce-order-refunded')), SECRET, {
      topic: 'order.updated',
    });

    const order = orderOf(parse('woocommerce', signed));

    expect(order).toMatchObject({ externalOrderId: '731', total: '24.90', paidAt: '2024-03-28T08:12:50Z' });
    expect(order.refunds).toEqual([
      { externalOrderId: '731', refundId: 'full', amount: '24.90', refundedAt: '2024-04-02T12:40:03Z' },
    ]);
    // A guest (customer_id 0) has no platform customer id.
    expect(order.buyer.match.map((m) => m.kind)).toEqual(['phone', 'email']);
  });

  it('ignores an order that is not paid yet', () => {
    const pending = { ...fixture('woocommerce-order-created'), status: 'pending', date_paid_gmt: null };

    const event = parse('woocommerce', signWooCommerce(body(pending), SECRET, { topic: 'order.created' }));

    expect(event).toEqual({ kind: 'ignored', reason: 'order not paid (status pending)' });
  });

  it('recognises the unsigned form-encoded creation ping, and nothing else, as a ping', () => {
    const ping = fixture<{ headers: Record<string, string>; body: string }>('woocommerce-ping');
    const asPing = { headers: ping.headers, body: Buffer.from(ping.body) };

    expect(platforms.woocommerce.isPing(delivery(asPing))).toBe(true);
    expect(
      platforms.woocommerce.isPing(
        delivery({ ...asPing, headers: { ...ping.headers, 'x-wc-webhook-signature': 'abc=' } }),
      ),
    ).toBe(false);
    expect(
      platforms.woocommerce.isPing(
        delivery(
          signWooCommerce(body(fixture('woocommerce-order-created')), SECRET, { topic: 'order.created' }),
        ),
      ),
    ).toBe(false);
  });
});

describe('Youzan payloads', () => {
  it('reads Youzan wall-clock times as Asia/Shanghai (UTC+8), refusing times that do not exist', () => {
    expect(shanghai('2024-03-01 07:30:00')).toBe('2024-02-29T23:30:00.000Z');
    for (const bad of [
      '2023-02-29 10:00:00',
      '2024-05-20 24:00:00',
      '2024-05-20T13:14:15',
      '2024-5-20 1:02:03',
    ]) {
      expect(shanghai(bad), bad).toBeUndefined();
    }
    // The same answer as the IANA zone, for any second since China last changed its offset (1991).
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('1992-01-01T00:00:00Z'),
          max: new Date('2100-01-01T00:00:00Z'),
          noInvalidDate: true,
        }),
        (d) => {
          const wall = DateTime.fromJSDate(d, { zone: 'Asia/Shanghai' }).toFormat('yyyy-MM-dd HH:mm:ss');
          const utc = new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString();
          expect(shanghai(wall)).toBe(utc);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('parses trade_TradePaid from the URL-encoded msg, pay_time read as Asia/Shanghai', () => {
    const signed = signYouzan(body(fixture('youzan-trade-paid')), YOUZAN);

    const order = orderOf(parse('youzan', signed));

    expect(order).toEqual({
      externalOrderId: 'E20240520131358012345678',
      total: '128.00',
      currency: 'CNY',
      paidAt: '2024-05-20T05:14:15.000Z',
      buyer: {
        match: [
          { kind: 'phone', value: '13800138000' },
          { kind: 'ext', value: 'youzan:Ub7fK2mQx9TzR4cA' },
        ],
        name: '小雨 Xiao Yu',
        phone: '13800138000',
        externalId: 'youzan:Ub7fK2mQx9TzR4cA',
      },
      refunds: [],
    });
  });

  it('parses trade_TradeSuccess of the same trade as the same order', () => {
    const paid = orderOf(parse('youzan', signYouzan(body(fixture('youzan-trade-paid')), YOUZAN)));

    const success = orderOf(parse('youzan', signYouzan(body(fixture('youzan-trade-success')), YOUZAN)));

    expect(success).toEqual(paid);
  });

  it('parses trade_refund_RefundSuccess as a CNY refund dated in Asia/Shanghai', () => {
    const event = parse('youzan', signYouzan(body(fixture('youzan-refund-success')), YOUZAN));

    expect(event).toEqual({
      kind: 'refund',
      currency: 'CNY',
      refund: {
        externalOrderId: 'E20240520131358012345678',
        refundId: '201905221000012345',
        amount: '30.00',
        refundedAt: '2024-05-22T01:00:00.000Z',
      },
    });
  });

  it('dedupes on msg_id and on (trade id, type)', () => {
    const signed = signYouzan(body(fixture('youzan-trade-paid')), YOUZAN);

    expect(platforms.youzan.deliveryIds(delivery(signed))).toEqual([
      '6dc15f0b-8682-4812-b635-ab66e199f330',
      'E20240520131358012345678:trade_TradePaid',
    ]);
  });

  it('dedupes a refund message on msg_id only, since two refunds of one trade share (trade id, type)', () => {
    const signed = signYouzan(body(fixture('youzan-refund-success')), YOUZAN);

    expect(platforms.youzan.deliveryIds(delivery(signed))).toEqual(['c2b8e5d1-4f7a-4e3b-9d2c-7a1f0e6b5d38']);
  });

  it('ignores a msg that is not URL-encoded JSON and a message type it does not count', () => {
    const garbled = { ...fixture('youzan-trade-paid'), msg: '%7B%22full_order_info' };
    const closed = youzanWith('youzan-trade-paid', () => {}, { type: 'trade_TradeClose' });

    expect(parse('youzan', signYouzan(body(garbled), YOUZAN))).toEqual({
      kind: 'ignored',
      reason: 'malformed payload',
    });
    expect(parse('youzan', signYouzan(body(closed), YOUZAN))).toEqual({
      kind: 'ignored',
      reason: 'unknown topic trade_TradeClose',
    });
  });
});

interface Scheme {
  platform: Platform;
  credentials: ShopCredentials;
  sign: (payload: Buffer, secret: string) => SignedDelivery;
  signatureHeader: string;
  /** What the scheme's signature header looks like with `value` as its bytes. */
  encode: (value: Buffer) => string;
}

const schemes: Scheme[] = [
  {
    platform: 'generic',
    credentials: { secrets: [SECRET] },
    sign: (payload, secret) => signGeneric(payload, secret, { timestamp: Math.floor(NOW / 1000) }),
    signatureHeader: 'siyu-signature',
    encode: (value) => `v1=${value.toString('hex')}`,
  },
  {
    platform: 'shopify',
    credentials: { secrets: [SECRET] },
    sign: (payload, secret) => signShopify(payload, secret, { topic: 'orders/paid' }),
    signatureHeader: 'x-shopify-hmac-sha256',
    encode: (value) => value.toString('base64'),
  },
  {
    platform: 'woocommerce',
    credentials: { secrets: [SECRET] },
    sign: (payload, secret) => signWooCommerce(payload, secret, { topic: 'order.created' }),
    signatureHeader: 'x-wc-webhook-signature',
    encode: (value) => value.toString('base64'),
  },
  {
    platform: 'youzan',
    credentials: { secrets: [YOUZAN.secret], clientId: YOUZAN.clientId },
    sign: (payload, secret) => signYouzan(payload, { clientId: YOUZAN.clientId, secret }),
    signatureHeader: 'event-sign',
    encode: (value) => value.toString('hex').slice(0, 32),
  },
];

const payloadOf: Record<Platform, () => Buffer> = {
  generic: () => body(fixture('generic-order-paid')),
  shopify: () => body(fixture('shopify-orders-paid')),
  woocommerce: () => body(fixture('woocommerce-order-created')),
  youzan: () => body(fixture('youzan-trade-paid')),
};

describe.each(schemes)('$platform signatures', (scheme) => {
  const adapter = platforms[scheme.platform];
  const secret = scheme.credentials.secrets[0]!;
  const verify = (signed: SignedDelivery, credentials = scheme.credentials, now = NOW) =>
    adapter.verify(delivery(signed, now), credentials);

  it('accepts a delivery signed with the shop secret', () => {
    expect(verify(scheme.sign(payloadOf[scheme.platform](), secret))).toBe(true);
  });

  it('accepts the previous secret during a rotation', () => {
    const signed = scheme.sign(payloadOf[scheme.platform](), secret);

    expect(verify(signed, { ...scheme.credentials, secrets: ['the-new-secret-value', secret] })).toBe(true);
  });

  it('refuses one flipped byte in the body', () => {
    const signed = scheme.sign(payloadOf[scheme.platform](), secret);
    const payload = signed.body;

    for (const index of [0, Math.floor(payload.length / 2), payload.length - 1]) {
      expect(verify({ ...signed, body: flipByte(payload, index) })).toBe(false);
    }
  });

  it('refuses one changed character in the signature header', () => {
    const signed = scheme.sign(payloadOf[scheme.platform](), secret);
    const header = signed.headers[scheme.signatureHeader]!;

    for (const index of [
      header.length - 2,
      Math.floor(header.length / 2),
      scheme.platform === 'generic' ? 3 : 0,
    ]) {
      const headers = { ...signed.headers, [scheme.signatureHeader]: flipChar(header, index) };
      expect(verify({ ...signed, headers })).toBe(false);
    }
  });

  it('refuses one flipped byte in the secret', () => {
    const forged = scheme.sign(payloadOf[scheme.platform](), flipChar(secret));

    expect(verify(forged)).toBe(false);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['short', 'q'],
    ['long', 'A'.repeat(8192)],
    ['not hex', 'v1=zz-not-hex'],
    ['not base64', '***not base64***'],
    ['truncated', 'cut'],
    ['padded only', '===='],
  ])('refuses a %s signature header without throwing', (kind, value) => {
    const signed = scheme.sign(payloadOf[scheme.platform](), secret);
    const headers = { ...signed.headers };
    if (value === undefined) delete headers[scheme.signatureHeader];
    else if (kind === 'truncated')
      headers[scheme.signatureHeader] = headers[scheme.signatureHeader]!.slice(0, -4);
    else headers[scheme.signatureHeader] = value;

    expect(() => verify({ ...signed, headers })).not.toThrow();
    expect(verify({ ...signed, headers })).toBe(false);
  });

  it('refuses a signature of the right length made of other bytes', () => {
    const signed = scheme.sign(payloadOf[scheme.platform](), secret);
    const headers = { ...signed.headers, [scheme.signatureHeader]: scheme.encode(Buffer.alloc(32, 7)) };

    expect(verify({ ...signed, headers })).toBe(false);
  });
});

describe('generic timestamps and Youzan client ids', () => {
  const payload = () => body(fixture('generic-order-paid'));
  const nowSeconds = Math.floor(NOW / 1000);

  it('accepts a timestamp up to 300 s away and refuses one 301 s old or ahead', () => {
    const at = (offset: number) =>
      platforms.generic.verify(delivery(signGeneric(payload(), SECRET, { timestamp: nowSeconds + offset })), {
        secrets: [SECRET],
      });

    expect(at(-GENERIC_TOLERANCE_SECONDS)).toBe(true);
    expect(at(GENERIC_TOLERANCE_SECONDS)).toBe(true);
    expect(at(-301)).toBe(false);
    expect(at(301)).toBe(false);
  });

  it('refuses a changed or missing timestamp header, since the signature covers it', () => {
    const signed = signGeneric(payload(), SECRET, { timestamp: nowSeconds });
    const withTimestamp = (value: string | undefined) => {
      const headers = { ...signed.headers };
      if (value === undefined) delete headers['siyu-timestamp'];
      else headers['siyu-timestamp'] = value;
      return platforms.generic.verify(delivery({ ...signed, headers }), { secrets: [SECRET] });
    };

    expect(withTimestamp(String(nowSeconds - 1))).toBe(false);
    expect(withTimestamp(undefined)).toBe(false);
    expect(withTimestamp('')).toBe(false);
    expect(withTimestamp('1e9')).toBe(false);
    expect(withTimestamp(`${nowSeconds}.5`)).toBe(false);
  });

  it('accepts any of several v1 signatures in the header', () => {
    const signed = signGeneric(payload(), SECRET, { timestamp: nowSeconds });
    const headers = {
      ...signed.headers,
      'siyu-signature': `v0=abc, v1=${'00'.repeat(32)}, ${signed.headers['siyu-signature']}`,
    };

    expect(platforms.generic.verify(delivery({ ...signed, headers }), { secrets: [SECRET] })).toBe(true);
  });

  it('refuses a Youzan delivery when the shop has no client id or another one', () => {
    const signed = signYouzan(body(fixture('youzan-trade-paid')), YOUZAN);

    expect(platforms.youzan.verify(delivery(signed), { secrets: [YOUZAN.secret] })).toBe(false);
    expect(
      platforms.youzan.verify(delivery(signed), {
        secrets: [YOUZAN.secret],
        clientId: flipChar(YOUZAN.clientId),
      }),
    ).toBe(false);
  });

  it('refuses every scheme when the shop has no secret at all', () => {
    for (const scheme of schemes) {
      const signed = scheme.sign(payloadOf[scheme.platform](), scheme.credentials.secrets[0]!);
      expect(
        platforms[scheme.platform].verify(delivery(signed), { ...scheme.credentials, secrets: [] }),
      ).toBe(false);
    }
  });
});
