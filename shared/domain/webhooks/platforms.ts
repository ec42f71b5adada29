import * as z from 'zod/mini';
import '../../zod.js';
import type { IncomingBuyer, IncomingRefund, ShopEvent } from '../orders.js';
import { decodeBase64, decodeHex, hmacSha256, md5Hex, safeEqual } from './signature.js';

export type Platform = 'generic' | 'shopify' | 'woocommerce' | 'youzan';

/** A delivery as received: lower-cased headers and the raw body bytes. */
export interface Delivery {
  headers: Record<string, string>;
  rawBody: Buffer;
  /** Receive time, ms. */
  now: number;
}

/** The secrets a shop accepts now (the current one, and the previous one during a rotation). */
export interface ShopCredentials {
  secrets: readonly string[];
  clientId?: string;
}

export interface PlatformAdapter {
  /** An unsigned request the platform sends that only needs a 200 (WooCommerce's creation ping). */
  isPing(delivery: Delivery): boolean;
  verify(delivery: Delivery, credentials: ShopCredentials): boolean;
  /** Delivery ids to dedupe on, the first being the one the delivery log shows. */
  deliveryIds(delivery: Delivery): string[];
  topic(delivery: Delivery): string;
  parse(delivery: Delivery): ShopEvent;
  /** The body a successful answer carries, where the platform expects its own. */
  reply?: unknown;
}

/** The generic scheme's timestamp tolerance. */
export const GENERIC_TOLERANCE_SECONDS = 300;

const Money = z.pipe(
  z.union([z.string(), z.number()]),
  z.transform((v: string | number) => (typeof v === 'number' ? v.toFixed(2) : v.trim())),
);
const Instant = z.iso.datetime({ offset: true });
/** Absent, null or a value (the chained API's `.nullish()`). */
const nullish = <T extends z.core.SomeType>(schema: T) => z.optional(z.nullable(schema));
const IdValue = () => z.union([z.number(), z.string()]);

/**
 * Platform ids can exceed 2^53 (Shopify's are 64-bit): an integer of 16+ digits under a key ending
 * in `id` is read as a string, so two orders never collapse into one rounded number.
 */
const LARGE_ID = /("[A-Za-z_]*id"\s*:\s*)(-?\d{16,})(?=\s*[,}\]])/g;

function json(delivery: Delivery): unknown {
  try {
    return JSON.parse(delivery.rawBody.toString('utf8').replace(LARGE_ID, '$1"$2"'));
  } catch {
    return undefined;
  }
}

const malformed = (error?: z.core.$ZodError): ShopEvent => ({
  kind: 'ignored',
  reason: `malformed payload${error ? `: ${error.issues.map((i) => i.path.join('.') || '(body)').join(', ')}` : ''}`,
});

function buyer(
  order: (IncomingBuyer['match'][number] | undefined)[],
  details: Omit<IncomingBuyer, 'match'>,
): IncomingBuyer {
  return { match: order.filter((m): m is IncomingBuyer['match'][number] => Boolean(m?.value)), ...details };
}

// ─── generic ────────────────────────────────────────────────────────────────

const GenericContact = z.object({
  externalId: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
  phone: z.optional(z.string().check(z.maxLength(32))),
  email: z.optional(z.string().check(z.maxLength(254))),
  name: z.optional(z.string().check(z.maxLength(200))),
});
const GenericRefund = z.object({
  id: z.string().check(z.minLength(1), z.maxLength(128)),
  amount: Money,
  refundedAt: Instant,
});
export const GenericOrder = z.object({
  id: z.string().check(z.minLength(1), z.maxLength(128)),
  total: Money,
  currency: z.string().check(z.length(3)),
  paidAt: Instant,
  contact: z._default(GenericContact, {}),
  refund: z.optional(GenericRefund),
});
const GenericBody = z.object({ type: z.string(), order: z.unknown() });

/** Turns a generic order (webhook or history import) into a shop event. */
export function genericOrderEvent(type: string, rawOrder: unknown): ShopEvent {
  if (type !== 'order.paid' && type !== 'order.refunded')
    return { kind: 'ignored', reason: `unknown topic ${type}` };
  const parsed = GenericOrder.safeParse(rawOrder);
  if (!parsed.success) return malformed(parsed.error);
  const o = parsed.data;
  if (type === 'order.refunded' && !o.refund)
    return { kind: 'ignored', reason: 'order.refunded without refund' };
  const contact = o.contact;
  return {
    kind: 'order',
    order: {
      externalOrderId: o.id,
      total: o.total,
      currency: o.currency,
      paidAt: o.paidAt,
      buyer: buyer(
        [
          contact.externalId ? { kind: 'ext', value: contact.externalId } : undefined,
          contact.phone ? { kind: 'phone', value: contact.phone } : undefined,
          contact.email ? { kind: 'email', value: contact.email } : undefined,
        ],
        { ...contact },
      ),
    },
    refunds: o.refund
      ? [
          {
            externalOrderId: o.id,
            refundId: o.refund.id,
            amount: o.refund.amount,
            refundedAt: o.refund.refundedAt,
          },
        ]
      : [],
  };
}

const generic: PlatformAdapter = {
  isPing: () => false,
  verify({ headers, rawBody, now }, { secrets }) {
    const timestamp = headers['siyu-timestamp'];
    if (!timestamp || !/^\d{1,12}$/.test(timestamp)) return false;
    if (Math.abs(now / 1000 - Number(timestamp)) > GENERIC_TOLERANCE_SECONDS) return false;
    const given = (headers['siyu-signature'] ?? '')
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part.startsWith('v1='))
      .map((part) => decodeHex(part.slice(3)))
      .filter((b): b is Buffer => b !== undefined);
    if (!given.length) return false;
    const signed = Buffer.concat([Buffer.from(`${timestamp}.`), rawBody]);
    return secrets.some((secret) => {
      const expected = hmacSha256(secret, signed);
      return given.some((g) => safeEqual(g, expected));
    });
  },
  deliveryIds: ({ headers }) => [headers['siyu-event-id'] ?? ''].filter(Boolean),
  topic(delivery) {
    const body = GenericBody.safeParse(json(delivery));
    return body.success ? body.data.type : 'unknown';
  },
  parse(delivery) {
    const body = GenericBody.safeParse(json(delivery));
    if (!body.success) return malformed(body.error);
    return genericOrderEvent(body.data.type, body.data.order);
  },
};

// ─── Shopify ────────────────────────────────────────────────────────────────

const ShopifyMoneySet = z.object({ shop_money: z.object({ amount: Money, currency_code: z.string() }) });
const ShopifyCustomer = nullish(
  z.object({
    id: nullish(IdValue()),
    email: nullish(z.string()),
    phone: nullish(z.string()),
    first_name: nullish(z.string()),
    last_name: nullish(z.string()),
  }),
);
const ShopifyOrder = z.object({
  id: IdValue(),
  financial_status: nullish(z.string()),
  processed_at: Instant,
  total_price: z.optional(Money),
  currency: z.optional(z.string()),
  total_price_set: z.optional(ShopifyMoneySet),
  email: nullish(z.string()),
  phone: nullish(z.string()),
  customer: ShopifyCustomer,
});
const ShopifyRefund = z.object({
  id: IdValue(),
  order_id: IdValue(),
  created_at: Instant,
  processed_at: nullish(Instant),
  transactions: z._default(
    // Shopify sends `currency: null` on refund transactions (its own sample payload does).
    z.array(z.object({ kind: z.string(), status: z.string(), amount: Money, currency: nullish(z.string()) })),
    [],
  ),
});

const shopify: PlatformAdapter = {
  isPing: () => false,
  verify({ headers, rawBody }, { secrets }) {
    const given = decodeBase64(headers['x-shopify-hmac-sha256']);
    return given !== undefined && secrets.some((secret) => safeEqual(given, hmacSha256(secret, rawBody)));
  },
  deliveryIds: ({ headers }) =>
    [headers['x-shopify-event-id'], headers['x-shopify-webhook-id']].filter((id): id is string =>
      Boolean(id),
    ),
  topic: ({ headers }) => headers['x-shopify-topic'] ?? 'unknown',
  parse(delivery) {
    const topic = this.topic(delivery);
    const body = json(delivery);
    if (topic === 'orders/paid' || topic === 'orders/create') {
      const parsed = ShopifyOrder.safeParse(body);
      if (!parsed.success) return malformed(parsed.error);
      const o = parsed.data;
      if (topic === 'orders/create' && o.financial_status !== 'paid') {
        return {
          kind: 'ignored',
          reason: `order not paid (financial_status ${o.financial_status ?? 'missing'})`,
        };
      }
      const total = o.total_price_set?.shop_money.amount ?? o.total_price;
      const currency = o.total_price_set?.shop_money.currency_code ?? o.currency;
      if (!total || !currency) return malformed();
      const c = o.customer;
      const phone = c?.phone ?? o.phone ?? undefined;
      const email = c?.email ?? o.email ?? undefined;
      const externalId = c?.id !== undefined && c?.id !== null ? `shopify:${c.id}` : undefined;
      const name = [c?.first_name, c?.last_name].filter(Boolean).join(' ') || undefined;
      return {
        kind: 'order',
        order: {
          externalOrderId: String(o.id),
          total,
          currency,
          paidAt: o.processed_at,
          buyer: buyer(
            [
              phone ? { kind: 'phone', value: phone } : undefined,
              email ? { kind: 'email', value: email } : undefined,
              externalId ? { kind: 'ext', value: externalId } : undefined,
            ],
            {
              ...(name ? { name } : {}),
              ...(phone ? { phone } : {}),
              ...(email ? { email } : {}),
              ...(externalId ? { externalId } : {}),
            },
          ),
        },
        refunds: [],
      };
    }
    if (topic === 'refunds/create') {
      const parsed = ShopifyRefund.safeParse(body);
      if (!parsed.success) return malformed(parsed.error);
      const r = parsed.data;
      const successful = r.transactions.filter((t) => t.kind === 'refund' && t.status === 'success');
      if (!successful.length)
        return { kind: 'ignored', reason: 'refund without a successful refund transaction' };
      const amount = sumDecimals(successful.map((t) => t.amount));
      if (!amount) return malformed();
      const currency = successful.find((t) => t.currency)?.currency;
      return {
        kind: 'refund',
        refund: {
          externalOrderId: String(r.order_id),
          refundId: String(r.id),
          amount,
          refundedAt: r.processed_at ?? r.created_at,
        },
        ...(currency ? { currency } : {}),
      };
    }
    return { kind: 'ignored', reason: `unknown topic ${topic}` };
  },
};

/** Adds decimal strings exactly (as scaled integers), keeping the widest scale. */
export function sumDecimals(values: readonly string[]): string | undefined {
  let scale = 0;
  for (const v of values) {
    if (!/^-?\d+(\.\d+)?$/.test(v)) return undefined;
    scale = Math.max(scale, v.split('.')[1]?.length ?? 0);
  }
  let total = 0n;
  for (const v of values) {
    const [whole, fraction = ''] = v.replace('-', '').split('.');
    const n = BigInt(whole!) * 10n ** BigInt(scale) + BigInt(fraction.padEnd(scale, '0') || '0');
    total += v.startsWith('-') ? -n : n;
  }
  const negative = total < 0n;
  const abs = negative ? -total : total;
  const s = abs.toString().padStart(scale + 1, '0');
  const out = scale ? `${s.slice(0, -scale)}.${s.slice(-scale)}` : s;
  return negative ? `-${out}` : out;
}

// ─── WooCommerce ────────────────────────────────────────────────────────────

const WooOrder = z.object({
  id: IdValue(),
  status: z.string(),
  currency: z.string(),
  total: Money,
  date_paid_gmt: nullish(z.string()),
  date_modified_gmt: nullish(z.string()),
  customer_id: nullish(IdValue()),
  billing: nullish(
    z.object({
      first_name: nullish(z.string()),
      last_name: nullish(z.string()),
      email: nullish(z.string()),
      phone: nullish(z.string()),
    }),
  ),
  refunds: z._default(z.array(z.object({ id: IdValue(), total: Money })), []),
});

/** WooCommerce `*_gmt` fields are UTC without an offset. */
function wooUtc(value: string | null | undefined): string | undefined {
  if (!value || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(value)) return undefined;
  return `${value}Z`;
}

const woocommerce: PlatformAdapter = {
  isPing({ headers, rawBody }) {
    return (
      !headers['x-wc-webhook-signature'] &&
      (headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded') &&
      /^webhook_id=\d+$/.test(rawBody.toString('utf8').trim())
    );
  },
  verify({ headers, rawBody }, { secrets }) {
    const given = decodeBase64(headers['x-wc-webhook-signature']);
    return given !== undefined && secrets.some((secret) => safeEqual(given, hmacSha256(secret, rawBody)));
  },
  deliveryIds: ({ headers }) => [headers['x-wc-webhook-delivery-id'] ?? ''].filter(Boolean),
  topic: ({ headers }) => headers['x-wc-webhook-topic'] ?? 'unknown',
  parse(delivery) {
    const topic = this.topic(delivery);
    if (topic !== 'order.created' && topic !== 'order.updated')
      return { kind: 'ignored', reason: `unknown topic ${topic}` };
    const parsed = WooOrder.safeParse(json(delivery));
    if (!parsed.success) return malformed(parsed.error);
    const o = parsed.data;
    const paidAt = wooUtc(o.date_paid_gmt);
    const counted = o.status === 'processing' || o.status === 'completed' || o.status === 'refunded';
    if (!counted || !paidAt) return { kind: 'ignored', reason: `order not paid (status ${o.status})` };
    const refundedAt = wooUtc(o.date_modified_gmt) ?? paidAt;
    const id = String(o.id);
    const refunds: IncomingRefund[] = o.refunds.map((r) => ({
      externalOrderId: id,
      refundId: String(r.id),
      amount: r.total.replace(/^-/, ''),
      refundedAt,
    }));
    if (o.status === 'refunded' && refunds.length === 0) {
      refunds.push({ externalOrderId: id, refundId: 'full', amount: o.total, refundedAt });
    }
    const b = o.billing;
    const customerId = o.customer_id !== undefined && o.customer_id !== null && String(o.customer_id) !== '0';
    const externalId = customerId ? `woocommerce:${o.customer_id}` : undefined;
    const phone = b?.phone || undefined;
    const email = b?.email || undefined;
    const name = [b?.first_name, b?.last_name].filter(Boolean).join(' ') || undefined;
    return {
      kind: 'order',
      order: {
        externalOrderId: id,
        total: o.total,
        currency: o.currency,
        paidAt,
        buyer: buyer(
          [
            phone ? { kind: 'phone', value: phone } : undefined,
            email ? { kind: 'email', value: email } : undefined,
            externalId ? { kind: 'ext', value: externalId } : undefined,
          ],
          {
            ...(name ? { name } : {}),
            ...(phone ? { phone } : {}),
            ...(email ? { email } : {}),
            ...(externalId ? { externalId } : {}),
          },
        ),
      },
      refunds,
    };
  },
};

// ─── Youzan ─────────────────────────────────────────────────────────────────

const YouzanEnvelope = z.object({
  type: z.string(),
  msg: z.string(),
  msg_id: z.optional(z.string()),
  id: z.optional(z.string()),
});
const YouzanTrade = z.object({
  full_order_info: z.object({
    order_info: z.object({ tid: z.string(), pay_time: z.string() }),
    buyer_info: nullish(
      z.object({
        buyer_phone: nullish(z.string()),
        yz_open_id: nullish(z.string()),
        fans_id: nullish(IdValue()),
        fans_nickname: nullish(z.string()),
      }),
    ),
    pay_info: z.object({ payment: Money }),
  }),
});
const YouzanRefund = z.object({
  tid: z.string(),
  refund_id: z.string(),
  refunded_fee: Money,
  update_time: z.string(),
});

/**
 * Youzan times carry no offset: they are Asia/Shanghai wall-clock times (`yyyy-MM-dd HH:mm:ss`).
 * China has kept UTC+8 without daylight saving since 1991, so the offset is fixed (no time-zone
 * library needed here); a date or time that does not exist (Feb 30, 24:00) is refused.
 */
export function shanghai(value: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(value);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const wall = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  const exists =
    wall.getUTCFullYear() === y &&
    wall.getUTCMonth() === mo - 1 &&
    wall.getUTCDate() === d &&
    wall.getUTCHours() === h &&
    wall.getUTCMinutes() === mi &&
    wall.getUTCSeconds() === s;
  return exists ? new Date(wall.getTime() - 8 * 3_600_000).toISOString() : undefined;
}

function youzanMessage(
  delivery: Delivery,
): { envelope: z.infer<typeof YouzanEnvelope>; msg: unknown } | undefined {
  const envelope = YouzanEnvelope.safeParse(json(delivery));
  if (!envelope.success) return undefined;
  try {
    return {
      envelope: envelope.data,
      msg: JSON.parse(decodeURIComponent(envelope.data.msg.replace(/\+/g, ' '))),
    };
  } catch {
    return undefined;
  }
}

const YOUZAN_TRADE_TYPES = new Set(['trade_TradePaid', 'trade_TradeSuccess']);
const YOUZAN_REFUND_TYPES = new Set(['trade_refund_RefundSuccess']);

const youzan: PlatformAdapter = {
  isPing: () => false,
  verify({ headers, rawBody }, { secrets, clientId }) {
    const given = decodeHex(headers['event-sign']);
    if (!given || !clientId) return false;
    return secrets.some((secret) =>
      safeEqual(
        given,
        Buffer.from(md5Hex(Buffer.concat([Buffer.from(clientId), rawBody, Buffer.from(secret)])), 'hex'),
      ),
    );
  },
  deliveryIds(delivery) {
    const envelope = YouzanEnvelope.safeParse(json(delivery));
    if (!envelope.success) return [];
    // (trade id, type) names one trade message; two refunds of one trade share it, so refund
    // messages dedupe on msg_id here and on their refund id when recorded.
    const tradeKey =
      envelope.data.id && !YOUZAN_REFUND_TYPES.has(envelope.data.type)
        ? `${envelope.data.id}:${envelope.data.type}`
        : undefined;
    return [envelope.data.msg_id, tradeKey].filter((id): id is string => Boolean(id));
  },
  topic(delivery) {
    const envelope = YouzanEnvelope.safeParse(json(delivery));
    return envelope.success ? envelope.data.type : 'unknown';
  },
  parse(delivery) {
    const message = youzanMessage(delivery);
    if (!message) return malformed();
    const { envelope, msg } = message;
    if (YOUZAN_TRADE_TYPES.has(envelope.type)) {
      const parsed = YouzanTrade.safeParse(msg);
      if (!parsed.success) return malformed(parsed.error);
      const info = parsed.data.full_order_info;
      const paidAt = shanghai(info.order_info.pay_time);
      if (!paidAt) return malformed();
      const b = info.buyer_info;
      const fan =
        b?.yz_open_id ?? (b?.fans_id !== undefined && b?.fans_id !== null ? String(b.fans_id) : undefined);
      const externalId = fan ? `youzan:${fan}` : undefined;
      const phone = b?.buyer_phone || undefined;
      return {
        kind: 'order',
        order: {
          externalOrderId: info.order_info.tid,
          total: info.pay_info.payment,
          currency: 'CNY',
          paidAt,
          buyer: buyer(
            [
              phone ? { kind: 'phone', value: phone } : undefined,
              externalId ? { kind: 'ext', value: externalId } : undefined,
            ],
            {
              ...(b?.fans_nickname ? { name: b.fans_nickname } : {}),
              ...(phone ? { phone } : {}),
              ...(externalId ? { externalId } : {}),
            },
          ),
        },
        refunds: [],
      };
    }
    if (YOUZAN_REFUND_TYPES.has(envelope.type)) {
      const parsed = YouzanRefund.safeParse(msg);
      if (!parsed.success) return malformed(parsed.error);
      const refundedAt = shanghai(parsed.data.update_time);
      if (!refundedAt) return malformed();
      return {
        kind: 'refund',
        currency: 'CNY',
        refund: {
          externalOrderId: parsed.data.tid,
          refundId: parsed.data.refund_id,
          amount: parsed.data.refunded_fee,
          refundedAt,
        },
      };
    }
    return { kind: 'ignored', reason: `unknown topic ${envelope.type}` };
  },
  reply: { code: 0, msg: 'success' },
};

export const platforms: Record<Platform, PlatformAdapter> = { generic, shopify, woocommerce, youzan };
