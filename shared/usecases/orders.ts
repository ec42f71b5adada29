import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import type { Deps } from '../app/deps.js';
import {
  findByIdentity,
  getContact,
  type IdentityKind,
  stageContactChange,
  waitOutHolds,
} from '../db/contact-store.js';
import { keys, PAID_SHARDS } from '../db/keys.js';
import { queryAll } from '../db/query.js';
import { readSettings, type SettingsRecord, stageTenantHasData } from '../db/tenant-store.js';
import { UnitOfWork } from '../db/unit-of-work.js';
import { type Contact, stageOf } from '../domain/contact.js';
import { formatMoney, parseMoney } from '../domain/money.js';
import {
  FUTURE_TOLERANCE_MS,
  type IncomingBuyer,
  type IncomingOrder,
  type IncomingRefund,
  type OrderFact,
  type RefundFact,
  standingAt,
  statsAt,
} from '../domain/orders.js';
import { normaliseEmail, normalisePhone } from '../domain/phone.js';
import { ConflictError, NotFoundError, ServiceUnavailableError } from '../errors.js';
import { ContactCreated, OrderRecorded, OrderRefunded, StageChanged } from '../events/catalog.js';
import { makeEvent } from '../events/outbox.js';
import type { Caller } from '../http/auth.js';

/** Where orders come from: a shop, or history imported without one. */
export interface OrderSource {
  tenantId: string;
  /** The shop id, or undefined for a shop-less import. */
  shopId?: string;
  defaultOwnerStaffId?: string;
  /**
   * The tenant's settings as last read, shared by the orders of one import call: a first attempt
   * uses them, a retry after a conflict reads them again (and refreshes them for the others).
   */
  settings?: { record: SettingsRecord };
}

export interface OrderOutcome {
  status: 'recorded' | 'duplicate' | 'ignored';
  reason?: string;
  orderId?: string;
}

/** What a caller adds to the same transaction (the webhook's delivery log and seen ids). */
export type Extra = (uow: UnitOfWork, outcome: OrderOutcome) => void;

const ATTEMPTS = 8;

/** siyu's order id: derived from (source, platform order id), so every duplicate hits one key. */
export function orderIdOf(source: OrderSource, externalOrderId: string): string {
  const digest = createHash('sha256')
    .update(`${source.shopId ?? 'import'}\u0000${externalOrderId}`)
    .digest('base64url')
    .replace(/[-_]/g, '')
    .slice(0, 24);
  return `o_${digest}`;
}

interface OrderHeader {
  tenantId: string;
  orderId: string;
  shopId?: string;
  externalOrderId: string;
  currency?: string;
  totalMinor?: number;
  paidAt?: string;
  contactId?: string;
  rev: number;
}

interface ContactOrderCopy extends OrderFact {
  tenantId: string;
  contactId: string;
  shopId?: string;
  externalOrderId: string;
  currency: string;
  recordedAt: string;
  refunds: (RefundFact & { recordedAt: string })[];
}

/**
 * Records what a shop says about one order — the order itself, refunds, or both — exactly once.
 *
 * Primary course:
 *  1. Check currency, amounts and times (a delivery that cannot be used is `ignored`, with its
 *     reason, and writes only what `extra` adds: the delivery log).
 *  2. Read the order header and the refunds already stored for the order; keep only new facts.
 *     Nothing new → `duplicate` (a different total for a known order → `ignored`: the first paid
 *     total stands).
 *  3. For a new order, find the buyer (the platform's identifier order) or create a commerce
 *     contact; recompute the contact's stats and stage from all its order copies.
 *  4. Commit in one transaction: header (conditioned on its revision), refund items, the
 *     contact's order copy, the contact change (version-checked; list entries and funnel cells
 *     move with it), events, and `extra`. A concurrent writer makes a condition fail → start over,
 *     so duplicates, retries and reorderings can never count twice.
 */
export async function recordOrderFacts(
  deps: Deps,
  source: OrderSource,
  input: { order?: IncomingOrder; refunds: IncomingRefund[]; currency?: string },
  extra: Extra = () => {},
): Promise<OrderOutcome> {
  for (let attempt = 1; ; attempt++) {
    try {
      // A contact held by a segmentation run is released within about a second: wait it out.
      return await waitOutHolds(() => attemptRecord(deps, source, input, extra, attempt > 1));
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= ATTEMPTS) {
        if (error instanceof ConflictError)
          throw new ServiceUnavailableError('The order is busy; retry shortly.');
        throw error;
      }
      await sleep(Math.random() * 20 * attempt);
    }
  }
}

async function attemptRecord(
  deps: Deps,
  source: OrderSource,
  input: { order?: IncomingOrder; refunds: IncomingRefund[]; currency?: string },
  extra: Extra,
  retry: boolean,
): Promise<OrderOutcome> {
  const tenantId = source.tenantId;
  const now = deps.now();
  const nowIso = now.toISOString();
  let settingsRecord = source.settings?.record;
  if (!settingsRecord || retry) {
    settingsRecord = await readSettings(deps, tenantId, true);
    if (source.settings) source.settings.record = settingsRecord;
  }
  const { currency, timezone, lifecycle } = settingsRecord.settings;

  const ignore = async (reason: string, orderId?: string): Promise<OrderOutcome> => {
    const outcome: OrderOutcome = { status: 'ignored', reason, ...(orderId ? { orderId } : {}) };
    const uow = new UnitOfWork(deps.tableName);
    extra(uow, outcome);
    if (!uow.isEmpty) await uow.commit(deps.db);
    return outcome;
  };

  // 1. Validate.
  const { order } = input;
  const externalOrderId = order?.externalOrderId ?? input.refunds[0]?.externalOrderId;
  if (!externalOrderId) return ignore('nothing to record');
  const incomingCurrency = order?.currency ?? input.currency;
  if (incomingCurrency !== undefined && incomingCurrency.toUpperCase() !== currency) {
    return ignore(`currency ${incomingCurrency} is not the tenant currency ${currency}`);
  }
  let totalMinor: number | undefined;
  let paidAt: string | undefined;
  if (order) {
    totalMinor = parseMoney(order.total, currency);
    if (totalMinor === undefined)
      return ignore(`order total ${order.total} is not a valid ${currency} amount`);
    paidAt = new Date(order.paidAt).toISOString();
    if (Date.parse(paidAt) > now.getTime() + FUTURE_TOLERANCE_MS) return ignore('paidAt is in the future');
  }
  const refunds: RefundFact[] = [];
  for (const refund of input.refunds) {
    const amountMinor = parseMoney(refund.amount, currency);
    if (amountMinor === undefined || amountMinor <= 0) {
      return ignore(`refund amount ${refund.amount} is not a valid ${currency} amount`);
    }
    const refundedAt = new Date(refund.refundedAt).toISOString();
    if (Date.parse(refundedAt) > now.getTime() + FUTURE_TOLERANCE_MS)
      return ignore('refundedAt is in the future');
    refunds.push({ id: refund.refundId, amountMinor, refundedAt });
  }

  // 2. What is new?
  const orderId = orderIdOf(source, externalOrderId);
  const orderKey = keys.order(tenantId, orderId);
  const header = (
    await deps.db.send(new GetCommand({ TableName: deps.tableName, Key: orderKey, ConsistentRead: true }))
  ).Item as OrderHeader | undefined;
  // Refund items are written with the header (under its revision): no header, no refunds.
  const storedOut = header
    ? await deps.db.send(
        new QueryCommand({
          TableName: deps.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :r)',
          ExpressionAttributeValues: { ':pk': orderKey.pk, ':r': 'R#' },
          ConsistentRead: true,
        }),
      )
    : { Items: [] };
  const stored = (storedOut.Items ?? []).map((i) => ({
    id: i.refundId as string,
    amountMinor: i.amountMinor as number,
    refundedAt: i.refundedAt as string,
    recordedAt: i.recordedAt as string,
  }));
  const storedIds = new Set(stored.map((r) => r.id));
  const newRefunds = dedupeById(refunds).filter((r) => !storedIds.has(r.id));
  const orderIsNew = order !== undefined && header?.paidAt === undefined;
  const orderRecorded = header?.paidAt !== undefined || orderIsNew;

  if (!orderIsNew && newRefunds.length === 0) {
    if (order && header?.totalMinor !== undefined && header.totalMinor !== totalMinor) {
      return ignore('order already recorded with another total; the first paid total stands', orderId);
    }
    const outcome: OrderOutcome = { status: 'duplicate', orderId };
    const uow = new UnitOfWork(deps.tableName);
    extra(uow, outcome);
    if (!uow.isEmpty) await uow.commit(deps.db);
    return outcome;
  }

  const uow = new UnitOfWork(deps.tableName);
  const outcome: OrderOutcome = { status: 'recorded', orderId };
  const allRefunds = [...stored, ...newRefunds.map((r) => ({ ...r, recordedAt: nowIso }))];

  // 3. The buyer and their stats.
  let contact: Contact | undefined;
  let created = false;
  if (orderIsNew) {
    const found = await matchBuyer(deps, tenantId, order!.buyer);
    if (found === 'unidentifiable') return ignore('no way to identify the buyer');
    contact = found;
    if (!contact) {
      contact = newCommerceContact(tenantId, source, order!.buyer, paidAt!, nowIso);
      created = true;
    }
  } else if (orderRecorded && header?.contactId) {
    contact = await getContact(deps, tenantId, header.contactId, true); // undefined once erased
  }

  const contactId = contact?.id ?? header?.contactId;
  if (orderRecorded && contactId) {
    const existing = orderIsNew ? undefined : await readCopy(deps, tenantId, contactId, orderId);
    const copy: ContactOrderCopy = existing
      ? { ...existing, refunds: allRefunds }
      : {
          tenantId,
          contactId,
          orderId,
          ...(source.shopId ? { shopId: source.shopId } : {}),
          externalOrderId,
          currency,
          totalMinor: orderIsNew ? totalMinor! : header!.totalMinor!,
          paidAt: orderIsNew ? paidAt! : header!.paidAt!,
          refunds: allRefunds,
          recordedAt: nowIso,
        };
    uow.put({
      ...keys.contactOrder(tenantId, contactId, orderId),
      ...copy,
      gsi1pk: keys.paidShard(tenantId, paidShardOf(orderId)),
      gsi1sk: `${copy.paidAt}#${orderId}`,
    });

    if (contact) {
      const others = created ? [] : await contactOrders(deps, tenantId, contact.id, orderId);
      const stats = statsAt([...others, copy], now.getTime());
      const stage = stageOf(stats, lifecycle, now);
      const after: Contact = { ...contact, stats, stage };
      if (contact.fromOrders) {
        // ISO instants in UTC compare as strings.
        for (const o of [...others, copy]) if (o.paidAt < after.addedAt) after.addedAt = o.paidAt;
      }
      stageContactChange(uow, {
        before: created ? undefined : contact,
        after,
        timeZone: timezone,
        at: nowIso,
      });
      if (created) {
        stageTenantHasData(uow, tenantId, settingsRecord);
        uow.emit(
          makeEvent(ContactCreated, tenantId, {
            contactId: after.id,
            channel: after.channel,
            accountId: null,
            ownerStaffId: after.ownerStaffId ?? null,
            addedAt: after.addedAt,
          }),
        );
      }
      if (stage !== contact.stage) {
        uow.emit(
          makeEvent(StageChanged, tenantId, {
            contactId: after.id,
            from: contact.stage,
            to: stage,
            asOf: nowIso,
          }),
        );
      }
    }

    const applied = orderIsNew ? allRefunds : newRefunds;
    if (orderIsNew) {
      uow.emit(
        makeEvent(OrderRecorded, tenantId, {
          orderId,
          contactId,
          shopId: source.shopId ?? null,
          total: formatMoney(copy.totalMinor, currency),
          currency,
          paidAt: copy.paidAt,
        }),
      );
    }
    for (const refund of applied) {
      const net = standingAt(copy, Math.max(now.getTime(), Date.parse(refund.refundedAt))).netMinor;
      uow.emit(
        makeEvent(OrderRefunded, tenantId, {
          orderId,
          contactId,
          refundId: refund.id,
          amount: formatMoney(refund.amountMinor, currency),
          refundedAt: refund.refundedAt,
          net: formatMoney(net, currency),
        }),
      );
    }
  }

  // 4. Header and refund items, conditioned so a concurrent writer makes us start over.
  const nextHeader: OrderHeader = {
    tenantId,
    orderId,
    ...(source.shopId ? { shopId: source.shopId } : {}),
    externalOrderId,
    ...(orderRecorded
      ? {
          currency,
          totalMinor: orderIsNew ? totalMinor! : header!.totalMinor!,
          paidAt: orderIsNew ? paidAt! : header!.paidAt!,
          ...(contactId ? { contactId } : {}),
        }
      : {}),
    rev: (header?.rev ?? 0) + 1,
  };
  uow.put(
    { ...orderKey, ...nextHeader, ...(orderIsNew ? { recordedAt: nowIso } : {}) },
    header
      ? { expression: 'rev = :rev', values: { ':rev': header.rev } }
      : { expression: 'attribute_not_exists(pk)' },
    () => new ConflictError('The order changed concurrently.'),
  );
  for (const refund of newRefunds) {
    uow.put(
      {
        ...keys.refund(tenantId, orderId, refund.id),
        orderId,
        refundId: refund.id,
        ...refund,
        recordedAt: nowIso,
      },
      { expression: 'attribute_not_exists(pk)' },
      () => new ConflictError('The refund was recorded concurrently.'),
    );
  }
  extra(uow, outcome);
  await uow.commit(deps.db);
  return outcome;
}

function dedupeById(refunds: RefundFact[]): RefundFact[] {
  const seen = new Map<string, RefundFact>();
  for (const r of refunds) if (!seen.has(r.id)) seen.set(r.id, r);
  return [...seen.values()];
}

export function paidShardOf(orderId: string): number {
  return createHash('sha1').update(orderId).digest()[0]! % PAID_SHARDS;
}

/** Normalised identifiers in the platform's order; none usable → the buyer cannot be identified. */
export function buyerIdentities(buyer: IncomingBuyer): { kind: IdentityKind; value: string }[] {
  const out: { kind: IdentityKind; value: string }[] = [];
  for (const { kind, value } of buyer.match) {
    const normalised =
      kind === 'phone'
        ? normalisePhone(value)
        : kind === 'email'
          ? validEmail(value)
          : value.trim() || undefined;
    if (normalised) out.push({ kind, value: normalised });
  }
  return out;
}

function validEmail(value: string): string | undefined {
  const email = normaliseEmail(value);
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email) ? email : undefined;
}

async function matchBuyer(
  deps: Deps,
  tenantId: string,
  buyer: IncomingBuyer,
): Promise<Contact | undefined | 'unidentifiable'> {
  const identities = buyerIdentities(buyer);
  if (!identities.length) return 'unidentifiable';
  for (const { kind, value } of identities) {
    const id = await findByIdentity(deps, tenantId, kind, value);
    if (id) {
      const contact = await getContact(deps, tenantId, id, true);
      if (contact) return contact;
    }
  }
  return undefined;
}

function newCommerceContact(
  tenantId: string,
  source: OrderSource,
  buyer: IncomingBuyer,
  paidAt: string,
  now: string,
): Contact {
  const ids = buyerIdentities(buyer);
  const get = (kind: IdentityKind) => ids.find((i) => i.kind === kind)?.value;
  const phone = get('phone') ?? (buyer.phone ? normalisePhone(buyer.phone) : undefined);
  const email = get('email') ?? (buyer.email ? validEmail(buyer.email) : undefined);
  const externalId = get('ext') ?? buyer.externalId;
  return {
    tenantId,
    id: `c_${ulid()}`,
    name: buyer.name?.trim() || email || phone || externalId || 'Customer',
    ...(phone ? { phone } : {}),
    ...(email ? { email } : {}),
    ...(externalId ? { externalId } : {}),
    ...(source.defaultOwnerStaffId ? { ownerStaffId: source.defaultOwnerStaffId } : {}),
    channel: 'commerce',
    tags: [],
    status: 'active',
    addedAt: paidAt,
    stage: 'prospect',
    stats: { orders: 0, spentMinor: 0 },
    version: 0,
    createdAt: now,
    updatedAt: now,
    fromOrders: true,
  };
}

async function readCopy(deps: Deps, tenantId: string, contactId: string, orderId: string) {
  const out = await deps.db.send(
    new GetCommand({
      TableName: deps.tableName,
      Key: keys.contactOrder(tenantId, contactId, orderId),
      ConsistentRead: true,
    }),
  );
  return out.Item as ContactOrderCopy | undefined;
}

/** A contact's order copies, except `exceptOrderId`. */
async function contactOrders(
  deps: Pick<Deps, 'db' | 'tableName'>,
  tenantId: string,
  contactId: string,
  exceptOrderId?: string,
): Promise<ContactOrderCopy[]> {
  const out: ContactOrderCopy[] = [];
  for await (const item of queryAll<ContactOrderCopy>(deps, {
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :o)',
    ExpressionAttributeValues: { ':pk': keys.contactOrder(tenantId, contactId, '').pk, ':o': 'O#' },
    ConsistentRead: true,
  })) {
    if (item.orderId !== exceptOrderId) out.push(item);
  }
  return out;
}

/** The API view of an order at `now`. */
export function orderView(
  copy: Pick<
    ContactOrderCopy,
    'orderId' | 'shopId' | 'externalOrderId' | 'totalMinor' | 'paidAt' | 'refunds'
  >,
  currency: string,
  now: Date,
) {
  const standing = standingAt(copy, now.getTime());
  return {
    id: copy.orderId,
    ...(copy.shopId ? { shopId: copy.shopId } : {}),
    externalOrderId: copy.externalOrderId,
    total: formatMoney(copy.totalMinor, currency),
    currency,
    paidAt: copy.paidAt,
    refunds: [...copy.refunds]
      .sort((a, b) => a.refundedAt.localeCompare(b.refundedAt))
      .map((r) => ({ id: r.id, amount: formatMoney(r.amountMinor, currency), refundedAt: r.refundedAt })),
    net: formatMoney(standing.netMinor, currency),
    counted: standing.counted,
  };
}

/** `GET /v1/orders/{orderId}`: staff see orders of their own contacts only. */
export async function getOrder(deps: Deps, caller: Caller, orderId: string) {
  const header = (
    await deps.db.send(
      new GetCommand({ TableName: deps.tableName, Key: keys.order(caller.tenantId, orderId) }),
    )
  ).Item as OrderHeader | undefined;
  if (!header?.paidAt || !header.contactId) throw new NotFoundError('No such order.');
  if (caller.role === 'staff') {
    const contact = await getContact(deps, caller.tenantId, header.contactId);
    if (contact?.ownerStaffId !== caller.staffId) throw new NotFoundError('No such order.');
  }
  const copy = await readCopy(deps, caller.tenantId, header.contactId, orderId);
  if (!copy) throw new NotFoundError('No such order.');
  return orderView(copy, header.currency ?? copy.currency, deps.now());
}

/** `GET /v1/contacts/{id}/orders`, newest first. */
export async function listContactOrders(deps: Deps, contact: Contact, currency: string) {
  const copies = await contactOrders(deps, contact.tenantId, contact.id);
  copies.sort((a, b) => b.paidAt.localeCompare(a.paidAt));
  const now = deps.now();
  return { items: copies.map((c) => orderView(c, currency, now)), nextCursor: null };
}
