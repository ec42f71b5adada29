import { describe, expect, it } from 'vitest';
import { platforms } from '../../shared/domain/webhooks/platforms.js';

describe('platform ids beyond 2^53', () => {
  it('keeps every digit of a 64-bit Shopify order and customer id', () => {
    const body = `{"id": 820982911946154509, "financial_status": "paid", "processed_at": "2026-01-01T10:00:00+08:00", "total_price": "9.90", "currency": "CNY", "customer": {"id": 115310627314723955, "email": "a@example.com"}}`;

    const event = platforms.shopify.parse({
      headers: { 'x-shopify-topic': 'orders/paid' },
      rawBody: Buffer.from(body),
      now: Date.now(),
    });

    expect(event.kind).toBe('order');
    if (event.kind !== 'order') return;
    expect(event.order.externalOrderId).toBe('820982911946154509');
    expect(event.order.buyer.externalId).toBe('shopify:115310627314723955');
  });
});
