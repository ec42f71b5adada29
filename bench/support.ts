/**
 * Helpers the benchmarks share: a quiet local stack, a JSON client for its API, signed generic
 * `order.paid` deliveries, and the figures' percentiles and rounding.
 */
import type { LocalStack, LocalStackOptions } from '../infra/local/stack.js';
import { formatMoney } from '../shared/domain/money.js';
import { body, type SignedDelivery, signGeneric } from '../test/support/webhooks.js';

/** An order a benchmark sends (money in CNY minor units). */
export interface Order {
  id: string;
  totalMinor: number;
  buyer: number;
  paidAt: string;
}

/** The local stack on a free port, its own in-memory DynamoDB Local, schedules off, handlers quiet. */
export async function startQuietStack(
  tableName: string,
  options: Omit<LocalStackOptions, 'tableName'> = {},
): Promise<LocalStack> {
  // Handlers log every request at INFO; quiet them before they load.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  process.env.SIYU_LOCAL_LOG ??= 'warn';
  const { startLocalStack } = await import('../infra/local/stack.js');
  return startLocalStack({ port: 0, inMemory: true, schedules: false, tableName, ...options });
}

/** Calls the API at `baseUrl` with a bearer token; throws on a non-2xx answer, returns the parsed JSON. */
export function jsonCaller(baseUrl: string) {
  return async <T>(method: string, path: string, token: string, payload?: unknown): Promise<T> => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(payload !== undefined ? { body: JSON.stringify(payload) } : {}),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
}

/**
 * A generic `order.paid` delivery of `order`, signed with the shop's secret. Its buyer's external
 * id is `<buyerPrefix>-<buyer>`; `eventId` keeps an earlier delivery's id (a new one otherwise).
 */
export function signedOrder(
  order: Order,
  secret: string,
  options: { buyerPrefix: string; eventId?: string | undefined },
): SignedDelivery {
  return signGeneric(
    body({
      type: 'order.paid',
      order: {
        id: order.id,
        total: formatMoney(order.totalMinor, 'CNY'),
        currency: 'CNY',
        paidAt: order.paidAt,
        contact: { externalId: `${options.buyerPrefix}-${order.buyer}`, name: `Buyer ${order.buyer}` },
      },
    }),
    secret,
    options.eventId ? { eventId: options.eventId } : {},
  );
}

/** The `p`th percentile (0–100) of values sorted ascending; NaN when there are none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** `n` rounded to `decimals` decimal places. */
export const round = (n: number, decimals: number) => Math.round(n * 10 ** decimals) / 10 ** decimals;
