import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Deps } from '../app/deps.js';
import { forEachWithinTime, type RemainingMs } from '../app/work-pool.js';
import { keys } from '../db/keys.js';
import { readSettings } from '../db/tenant-store.js';
import { UnitOfWork } from '../db/unit-of-work.js';
import type { ShopEvent } from '../domain/orders.js';
import { type Delivery, genericOrderEvent, platforms } from '../domain/webhooks/platforms.js';
import { UnauthorizedError } from '../errors.js';
import type { Caller } from '../http/auth.js';
import { logger } from '../logger.js';
import { type OrderOutcome, type OrderSource, recordOrderFacts } from './orders.js';
import { activeSecrets, deliveryLogItem, findShop, getShop } from './shops.js';

const SEEN_DAYS = 7;

export interface WebhookAnswer {
  status: number;
  body: unknown;
}

/**
 * One shop webhook delivery.
 *
 * Primary course:
 *  1. Find the shop by the path id; unknown or disabled shops and bad signatures are 401 and write
 *     nothing. (WooCommerce's unsigned creation ping gets a plain 200.)
 *  2. A delivery id already seen → `duplicate` at once.
 *  3. Parse the platform payload into one normalised event; an unusable one is `ignored`.
 *  4. Record it exactly once; the delivery-log entry and the seen delivery ids commit in the same
 *     transaction as the order, so a retry after any failure is recorded or answered `duplicate`.
 */
export async function receiveWebhook(
  deps: Deps,
  shopId: string,
  request: { headers: Record<string, string>; rawBody: Buffer },
): Promise<WebhookAnswer> {
  const shop = await findShop(deps, shopId);
  if (!shop) throw new UnauthorizedError('Unknown shop or bad signature.');
  const adapter = platforms[shop.platform];
  const now = deps.now();
  const delivery: Delivery = { ...request, now: now.getTime() };
  if (adapter.isPing(delivery)) return { status: 200, body: { status: 'ignored', reason: 'ping' } };
  const credentials = {
    secrets: activeSecrets(shop, now),
    ...(shop.clientId ? { clientId: shop.clientId } : {}),
  };
  if (!shop.enabled || !adapter.verify(delivery, credentials)) {
    throw new UnauthorizedError('Unknown shop or bad signature.');
  }

  // Unique: a platform may repeat one id in two headers, and one transaction writes each key once.
  const ids = [...new Set(adapter.deliveryIds(delivery))];
  const topic = adapter.topic(delivery);
  const extra = (uow: UnitOfWork, outcome: OrderOutcome) => {
    uow.put(
      deliveryLogItem(shop.tenantId, shop.id, {
        time: now.toISOString(),
        deliveryId: ids[0] ?? null,
        topic,
        status: outcome.status,
        ...(outcome.reason ? { reason: outcome.reason } : {}),
      }),
    );
    if (outcome.status === 'ignored') return;
    for (const id of ids) {
      uow.put({
        ...keys.deliverySeen(shop.tenantId, shop.id, id),
        ttl: Math.floor(now.getTime() / 1000) + SEEN_DAYS * 86400,
      });
    }
  };

  let outcome: OrderOutcome;
  if (await seenBefore(deps, shop.tenantId, shop.id, ids)) {
    outcome = { status: 'duplicate' };
    const uow = new UnitOfWork(deps.tableName);
    extra(uow, outcome);
    await uow.commit(deps.db);
  } else {
    const source: OrderSource = {
      tenantId: shop.tenantId,
      shopId: shop.id,
      ...(shop.defaultOwnerStaffId ? { defaultOwnerStaffId: shop.defaultOwnerStaffId } : {}),
    };
    outcome = await recordEvent(deps, source, adapter.parse(delivery), extra);
  }
  logger.info('webhook', { tenantId: shop.tenantId, shopId: shop.id, topic, status: outcome.status });
  return {
    status: 200,
    body: adapter.reply ?? { status: outcome.status, ...(outcome.reason ? { reason: outcome.reason } : {}) },
  };
}

async function seenBefore(deps: Deps, tenantId: string, shopId: string, ids: string[]): Promise<boolean> {
  for (const id of ids) {
    const out = await deps.db.send(
      new GetCommand({
        TableName: deps.tableName,
        Key: keys.deliverySeen(tenantId, shopId, id),
        ConsistentRead: true,
      }),
    );
    if (out.Item) return true;
  }
  return false;
}

async function recordEvent(
  deps: Deps,
  source: OrderSource,
  event: ShopEvent,
  extra: (uow: UnitOfWork, outcome: OrderOutcome) => void,
): Promise<OrderOutcome> {
  if (event.kind === 'ignored') {
    const outcome: OrderOutcome = { status: 'ignored', reason: event.reason };
    const uow = new UnitOfWork(deps.tableName);
    extra(uow, outcome);
    await uow.commit(deps.db);
    return outcome;
  }
  if (event.kind === 'order')
    return recordOrderFacts(deps, source, { order: event.order, refunds: event.refunds }, extra);
  return recordOrderFacts(
    deps,
    source,
    { refunds: [event.refund], ...(event.currency ? { currency: event.currency } : {}) },
    extra,
  );
}

export type ImportResult = { id: string; status: 'recorded' | 'duplicate' | 'error'; error?: string };

/**
 * History import (`POST /v1/orders/batch`): generic orders under the same rules as webhooks; with a
 * `shopId` they share that shop's order identities, so they dedupe against its webhooks.
 */
export async function importOrders(
  deps: Deps,
  caller: Caller,
  input: { shopId?: string; orders: unknown[] },
  remainingMs?: RemainingMs,
): Promise<ImportResult[]> {
  let source: OrderSource = { tenantId: caller.tenantId };
  if (input.shopId) {
    const shop = await getShop(deps, caller, input.shopId);
    source = {
      tenantId: caller.tenantId,
      shopId: shop.id,
      ...(shop.defaultOwnerStaffId ? { defaultOwnerStaffId: shop.defaultOwnerStaffId } : {}),
    };
  }
  // The orders of one call share one read of the tenant's settings.
  source.settings = { record: await readSettings(deps, caller.tenantId, true) };
  const results: ImportResult[] = new Array(input.orders.length);
  const one = async (index: number) => {
    const raw = input.orders[index] as { id?: unknown; refund?: unknown } | null;
    const id = typeof raw?.id === 'string' ? raw.id : '';
    const event = genericOrderEvent(raw?.refund ? 'order.refunded' : 'order.paid', raw);
    const outcome = await recordEvent(deps, source, event, () => {});
    results[index] =
      outcome.status === 'ignored'
        ? { id, status: 'error', error: outcome.reason ?? 'unusable order' }
        : { id, status: outcome.status };
  };
  await forEachWithinTime(
    input.orders.map((_, index) => index),
    4,
    one,
    remainingMs,
  );
  return results;
}
