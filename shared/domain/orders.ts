/**
 * Orders and refunds as facts, and what they count for at an instant T (API.md "Counted and net"):
 * an order counts from its `paidAt`; net = total − min(total, refunds with refundedAt ≤ T); the
 * order is counted unless refunds by T sum to ≥ total (a zero order without refunds counts).
 */
export interface RefundFact {
  id: string;
  amountMinor: number;
  refundedAt: string;
}

export interface OrderFact {
  orderId: string;
  totalMinor: number;
  paidAt: string;
  refunds: RefundFact[];
}

export interface OrderStanding {
  counted: boolean;
  netMinor: number;
}

export function standingAt(order: OrderFact, at: number): OrderStanding {
  if (Date.parse(order.paidAt) > at) return { counted: false, netMinor: 0 };
  let refunded = 0;
  for (const refund of order.refunds) if (Date.parse(refund.refundedAt) <= at) refunded += refund.amountMinor;
  const hasRefund = order.refunds.some((r) => Date.parse(r.refundedAt) <= at);
  const counted = !(hasRefund && refunded >= order.totalMinor);
  return { counted, netMinor: order.totalMinor - Math.min(order.totalMinor, refunded) };
}

export interface PurchaseStats {
  orders: number;
  spentMinor: number;
  firstOrderAt?: string;
  lastOrderAt?: string;
}

/** A contact's `stats` at instant T: over its counted orders and their net. */
export function statsAt(orders: readonly OrderFact[], at: number): PurchaseStats {
  let count = 0;
  let spent = 0;
  let first: string | undefined;
  let last: string | undefined;
  for (const order of orders) {
    const standing = standingAt(order, at);
    if (!standing.counted) continue;
    count++;
    spent += standing.netMinor;
    if (first === undefined || Date.parse(order.paidAt) < Date.parse(first)) first = order.paidAt;
    if (last === undefined || Date.parse(order.paidAt) > Date.parse(last)) last = order.paidAt;
  }
  return {
    orders: count,
    spentMinor: spent,
    ...(first ? { firstOrderAt: first } : {}),
    ...(last ? { lastOrderAt: last } : {}),
  };
}

/** How far in the future a paid or refund time may lie (clock skew) before a delivery is ignored. */
export const FUTURE_TOLERANCE_MS = 5 * 60_000;

/** An order as a shop reports it, normalised from any platform. */
export interface IncomingOrder {
  externalOrderId: string;
  total: string;
  currency: string;
  paidAt: string;
  buyer: IncomingBuyer;
}

/** Buyer identifiers in matching order: the platform's order of preference. */
export interface IncomingBuyer {
  /** Tried in this order; the first that finds a contact wins. */
  match: { kind: 'ext' | 'phone' | 'email'; value: string }[];
  name?: string;
  externalId?: string;
  phone?: string;
  email?: string;
}

export interface IncomingRefund {
  externalOrderId: string;
  refundId: string;
  amount: string;
  refundedAt: string;
}

/** What one webhook delivery asks for, once parsed. */
export type ShopEvent =
  | { kind: 'order'; order: IncomingOrder; refunds: IncomingRefund[] }
  | { kind: 'refund'; refund: IncomingRefund; currency?: string }
  | { kind: 'ignored'; reason: string };
