import { randomBytes } from 'node:crypto';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import type * as z from 'zod/mini';
import type { Deps } from '../app/deps.js';
import { keys } from '../db/keys.js';
import { GSI1 } from '../db/table-definition.js';
import { UnitOfWork } from '../db/unit-of-work.js';
import type { Platform } from '../domain/webhooks/platforms.js';
import { NotFoundError, ValidationError } from '../errors.js';
import type { Caller } from '../http/auth.js';
import { decodeCursor, encodeCursor } from '../http/cursor.js';
import type { RotateSecretInput, ShopInput, ShopPatch } from '../schemas/shops.js';

/** How long a rotated-out secret keeps working. */
export const SECRET_OVERLAP_MS = 24 * 3600 * 1000;

interface StoredSecret {
  value: string;
  /** Unset for the current secret. */
  validUntil?: string;
}

export interface Shop {
  tenantId: string;
  id: string;
  name: string;
  platform: Platform;
  enabled: boolean;
  clientId?: string;
  defaultOwnerStaffId?: string;
  secrets: StoredSecret[];
  createdAt: string;
  updatedAt: string;
}

/** The API view: never the secrets. */
export function shopView(shop: Shop, origin: string) {
  return {
    id: shop.id,
    name: shop.name,
    platform: shop.platform,
    enabled: shop.enabled,
    ...(shop.clientId ? { clientId: shop.clientId } : {}),
    ...(shop.defaultOwnerStaffId ? { defaultOwnerStaffId: shop.defaultOwnerStaffId } : {}),
    webhookUrl: `${origin}/v1/webhooks/shops/${shop.id}`,
    createdAt: shop.createdAt,
    updatedAt: shop.updatedAt,
  };
}

/** The secrets a shop accepts at `now`. */
export function activeSecrets(shop: Shop, now: Date): string[] {
  return shop.secrets
    .filter((s) => !s.validUntil || Date.parse(s.validUntil) > now.getTime())
    .map((s) => s.value);
}

const generateSecret = () => `whsec_${randomBytes(32).toString('base64url')}`;

function staffCheck(uow: UnitOfWork, tenantId: string, staffId: string | undefined) {
  if (!staffId) return;
  uow.check(
    keys.staff(tenantId, staffId),
    { expression: 'attribute_exists(pk)' },
    () =>
      new ValidationError('Unknown staff member.', [
        { path: 'defaultOwnerStaffId', message: 'no such staff member' },
      ]),
  );
}

function shopItem(shop: Shop) {
  return {
    ...keys.shop(shop.id),
    ...shop,
    gsi1pk: keys.shopsOf(shop.tenantId),
    gsi1sk: `${shop.createdAt}#${shop.id}`,
  };
}

export async function createShop(deps: Deps, caller: Caller, input: z.output<typeof ShopInput>) {
  const now = deps.now().toISOString();
  const secret = input.platform === 'generic' ? generateSecret() : input.secret!;
  const shop: Shop = {
    tenantId: caller.tenantId,
    id: `s_${ulid().toLowerCase()}`,
    name: input.name,
    platform: input.platform,
    enabled: true,
    ...(input.clientId ? { clientId: input.clientId } : {}),
    ...(input.defaultOwnerStaffId ? { defaultOwnerStaffId: input.defaultOwnerStaffId } : {}),
    secrets: [{ value: secret }],
    createdAt: now,
    updatedAt: now,
  };
  const uow = new UnitOfWork(deps.tableName).put(shopItem(shop), { expression: 'attribute_not_exists(pk)' });
  staffCheck(uow, caller.tenantId, shop.defaultOwnerStaffId);
  await uow.commit(deps.db);
  return { shop, secret: input.platform === 'generic' ? secret : undefined };
}

/** Any shop by id (the webhook knows no tenant until it finds the shop). */
export async function findShop(
  deps: Pick<Deps, 'db' | 'tableName'>,
  shopId: string,
): Promise<Shop | undefined> {
  const out = await deps.db.send(new GetCommand({ TableName: deps.tableName, Key: keys.shop(shopId) }));
  return out.Item as Shop | undefined;
}

export async function getShop(deps: Deps, caller: Caller, shopId: string): Promise<Shop> {
  const shop = await findShop(deps, shopId);
  if (!shop || shop.tenantId !== caller.tenantId) throw new NotFoundError('No such shop.');
  return shop;
}

export async function listShops(deps: Deps, caller: Caller, page: { limit: number; cursor?: string }) {
  const binding = { tenantId: caller.tenantId, caller: caller.staffId, filter: 'shops' };
  const pk = keys.shopsOf(caller.tenantId);
  const start = decodeCursor(page.cursor, binding, (key) => key.gsi1pk === pk);
  const out = await deps.db.send(
    new QueryCommand({
      TableName: deps.tableName,
      IndexName: GSI1,
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': pk },
      ExclusiveStartKey: start,
      Limit: page.limit,
    }),
  );
  return { items: (out.Items ?? []) as Shop[], nextCursor: encodeCursor(out.LastEvaluatedKey, binding) };
}

export async function patchShop(
  deps: Deps,
  caller: Caller,
  shopId: string,
  patch: z.output<typeof ShopPatch>,
) {
  const current = await getShop(deps, caller, shopId);
  const next: Shop = { ...current, updatedAt: deps.now().toISOString() };
  if (patch.name !== undefined) next.name = patch.name;
  if (patch.enabled !== undefined) next.enabled = patch.enabled;
  if (patch.defaultOwnerStaffId === null) delete next.defaultOwnerStaffId;
  else if (patch.defaultOwnerStaffId !== undefined) next.defaultOwnerStaffId = patch.defaultOwnerStaffId;
  const uow = new UnitOfWork(deps.tableName).put(shopItem(next), {
    expression: 'updatedAt = :seen',
    values: { ':seen': current.updatedAt },
  });
  if (patch.defaultOwnerStaffId) staffCheck(uow, caller.tenantId, patch.defaultOwnerStaffId);
  await uow.commit(deps.db);
  return next;
}

/**
 * Rotates a shop's secret: the new one (generated for `generic`, given for the others) is current
 * at once; the previous current one keeps working for 24 h; older ones are dropped.
 */
export async function rotateSecret(
  deps: Deps,
  caller: Caller,
  shopId: string,
  input: z.output<typeof RotateSecretInput>,
) {
  const shop = await getShop(deps, caller, shopId);
  if (shop.platform === 'generic' && input.secret) {
    throw new ValidationError('Generic shops get a generated secret.', [
      { path: 'secret', message: 'generated for generic shops' },
    ]);
  }
  if (shop.platform !== 'generic' && !input.secret) {
    throw new ValidationError('Give the new secret the platform signs with.', [
      { path: 'secret', message: 'required' },
    ]);
  }
  const now = deps.now();
  const secret = input.secret ?? generateSecret();
  const current = shop.secrets.find((s) => !s.validUntil);
  const validUntil = new Date(now.getTime() + SECRET_OVERLAP_MS).toISOString();
  const next: Shop = {
    ...shop,
    secrets: [{ value: secret }, ...(current ? [{ value: current.value, validUntil }] : [])],
    updatedAt: now.toISOString(),
  };
  await new UnitOfWork(deps.tableName)
    .put(shopItem(next), { expression: 'updatedAt = :seen', values: { ':seen': shop.updatedAt } })
    .commit(deps.db);
  return { secret, previousValidUntil: current ? validUntil : null };
}

export interface DeliveryLogEntry {
  time: string;
  deliveryId: string | null;
  topic: string;
  status: 'recorded' | 'duplicate' | 'ignored';
  reason?: string;
}

const DELIVERY_LOG_DAYS = 30;

/** The delivery-log item of one delivery (newest first when listed). */
export function deliveryLogItem(tenantId: string, shopId: string, entry: DeliveryLogEntry) {
  return {
    pk: keys.deliveryLog(tenantId, shopId),
    sk: `${entry.time}#${entry.deliveryId ?? ulid()}#${ulid()}`,
    ...entry,
    ttl: Math.floor(Date.parse(entry.time) / 1000) + DELIVERY_LOG_DAYS * 86400,
  };
}

export async function listDeliveries(
  deps: Deps,
  caller: Caller,
  shopId: string,
  page: { limit: number; cursor?: string },
) {
  await getShop(deps, caller, shopId);
  const binding = { tenantId: caller.tenantId, caller: caller.staffId, filter: `deliveries:${shopId}` };
  const pk = keys.deliveryLog(caller.tenantId, shopId);
  const start = decodeCursor(page.cursor, binding, (key) => key.pk === pk);
  const out = await deps.db.send(
    new QueryCommand({
      TableName: deps.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': pk },
      ExclusiveStartKey: start,
      ScanIndexForward: false,
      Limit: page.limit,
    }),
  );
  return {
    items: (out.Items ?? []).map((i) => ({
      time: i.time as string,
      deliveryId: (i.deliveryId as string | null) ?? null,
      topic: i.topic as string,
      status: i.status as DeliveryLogEntry['status'],
      ...(i.reason ? { reason: i.reason as string } : {}),
    })),
    nextCursor: encodeCursor(out.LastEvaluatedKey, binding),
  };
}
