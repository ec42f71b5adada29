import { createHash, createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TestResponse, TestStack } from './local-stack.js';

/**
 * Webhook fixtures (`test/fixtures/webhooks/*.json`, sample payloads shaped like each
 * platform's documented ones) and the signatures each scheme puts on them. Header names are
 * lower-case, as HTTP/2 and the function adapter see them.
 */
export type FixtureName =
  | 'generic-order-paid'
  | 'generic-order-refunded'
  | 'shopify-orders-paid'
  | 'shopify-orders-create'
  | 'shopify-refunds-create'
  | 'woocommerce-order-created'
  | 'woocommerce-order-updated'
  | 'woocommerce-order-refunded'
  | 'woocommerce-ping'
  | 'youzan-trade-paid'
  | 'youzan-trade-success'
  | 'youzan-refund-success';

const FIXTURES = new URL('../fixtures/webhooks/', import.meta.url);

/** A fixture as parsed JSON (a fresh copy each time, free to change). */
export function fixture<T = Record<string, unknown>>(name: FixtureName): T {
  return JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8')) as T;
}

/** The bytes a platform would send: compact JSON. */
export function body(payload: unknown): Buffer {
  return Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload), 'utf8');
}

export interface SignedDelivery {
  headers: Record<string, string>;
  body: Buffer;
}

const hmac = (secret: string, data: Buffer) => createHmac('sha256', secret).update(data);

/** Generic: `Siyu-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. */
export function signGeneric(
  payload: Buffer,
  secret: string,
  options: { timestamp?: number; eventId?: string } = {},
): SignedDelivery {
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const signature = hmac(secret, Buffer.concat([Buffer.from(`${timestamp}.`), payload])).digest('hex');
  return {
    headers: {
      'content-type': 'application/json',
      'siyu-event-id': options.eventId ?? `evt_${randomUUID()}`,
      'siyu-timestamp': timestamp,
      'siyu-signature': `v1=${signature}`,
    },
    body: payload,
  };
}

/** Shopify: base64 HMAC-SHA256 of the raw body with the app's client secret. */
export function signShopify(
  payload: Buffer,
  secret: string,
  options: { topic: string; eventId?: string; webhookId?: string },
): SignedDelivery {
  return {
    headers: {
      'content-type': 'application/json',
      'x-shopify-topic': options.topic,
      'x-shopify-hmac-sha256': hmac(secret, payload).digest('base64'),
      'x-shopify-shop-domain': 'example-outfitters.myshopify.com',
      'x-shopify-api-version': '2024-10',
      'x-shopify-webhook-id': options.webhookId ?? randomUUID(),
      'x-shopify-event-id': options.eventId ?? randomUUID(),
      'x-shopify-triggered-at': new Date().toISOString(),
    },
    body: payload,
  };
}

/** WooCommerce: base64 HMAC-SHA256 of the raw body with the webhook's secret. */
export function signWooCommerce(
  payload: Buffer,
  secret: string,
  options: { topic: string; deliveryId?: string },
): SignedDelivery {
  const [resource, event] = options.topic.split('.') as [string, string];
  return {
    headers: {
      'content-type': 'application/json',
      'x-wc-webhook-source': 'https://shop.example.com/',
      'x-wc-webhook-topic': options.topic,
      'x-wc-webhook-resource': resource,
      'x-wc-webhook-event': event,
      'x-wc-webhook-signature': hmac(secret, payload).digest('base64'),
      'x-wc-webhook-id': '17',
      'x-wc-webhook-delivery-id': options.deliveryId ?? String(Math.floor(Math.random() * 1e9)),
    },
    body: payload,
  };
}

/** Youzan: `Event-Sign` = hex MD5(client_id + raw body + client_secret). */
export function signYouzan(
  payload: Buffer,
  credentials: { clientId: string; secret: string },
): SignedDelivery {
  const envelope = JSON.parse(payload.toString('utf8')) as { type?: string };
  const sign = createHash('md5')
    .update(Buffer.concat([Buffer.from(credentials.clientId), payload, Buffer.from(credentials.secret)]))
    .digest('hex');
  return {
    headers: {
      'content-type': 'application/json',
      'event-sign': sign,
      'event-type': envelope.type ?? '',
      'client-id': credentials.clientId,
    },
    body: payload,
  };
}

/** Youzan's `msg`: URL-encoded JSON (form encoding: a space is `+`). */
export function decodeYouzanMsg<T = Record<string, unknown>>(msg: string): T {
  return JSON.parse(decodeURIComponent(msg.replace(/\+/g, ' '))) as T;
}

export function encodeYouzanMsg(value: unknown): string {
  return encodeURIComponent(JSON.stringify(value)).replace(/%20/g, '+');
}

/** A Youzan envelope with its `msg` changed by `change` (and re-encoded). */
export function youzanWith<M = Record<string, unknown>>(
  name: 'youzan-trade-paid' | 'youzan-trade-success' | 'youzan-refund-success',
  change: (msg: M) => void,
  envelope: Record<string, unknown> = {},
): Record<string, unknown> {
  const base = fixture<{ msg: string } & Record<string, unknown>>(name);
  const msg = decodeYouzanMsg<M>(base.msg);
  change(msg);
  return { ...base, msg: encodeYouzanMsg(msg), msg_id: randomUUID(), ...envelope };
}

/** The same bytes with one bit of one byte flipped (by default a byte in the middle). */
export function flipByte(value: Buffer, index = Math.floor(value.length / 2)): Buffer {
  const copy = Buffer.from(value);
  copy[index] = copy[index]! ^ 0x01;
  return copy;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * One character changed so that the bytes it stands for change too: a hex digit by its high
 * bit, a base64 character by its high bit (a low bit of the last one may be padding only).
 */
export function flipChar(value: string, index = Math.floor(value.length / 2)): string {
  const c = value[index]!;
  let replacement: string;
  if (/^(v1=)?[0-9a-f]+$/i.test(value) && /[0-9a-f]/i.test(c)) {
    replacement = (Number.parseInt(c, 16) ^ 8).toString(16);
  } else if (BASE64.includes(c)) {
    replacement = BASE64[BASE64.indexOf(c) ^ 32]!;
  } else {
    replacement = c === 'a' ? 'b' : 'a';
  }
  return `${value.slice(0, index)}${replacement}${value.slice(index + 1)}`;
}

/** POSTs a delivery to the shop's webhook URL. */
export function deliver<T = Record<string, unknown>>(
  stack: TestStack,
  shopId: string,
  delivery: SignedDelivery,
): Promise<TestResponse<T>> {
  return stack.request<T>('POST', `/v1/webhooks/shops/${encodeURIComponent(shopId)}`, {
    body: delivery.body,
    headers: delivery.headers,
  });
}
