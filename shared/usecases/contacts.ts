import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import type * as z from 'zod/mini';
import type { Deps } from '../app/deps.js';
import { forEachWithinTime, type RemainingMs } from '../app/work-pool.js';
import {
  ContactIdTakenError,
  contactKeys,
  erasureUnfinished,
  findByIdentity,
  getContact,
  getContacts,
  IdentityTakenError,
  stageContactChange,
  visibleContact,
  waitOutHolds,
} from '../db/contact-store.js';
import { keys } from '../db/keys.js';
import { queryAll } from '../db/query.js';
import { GSI1 } from '../db/table-definition.js';
import { readSettings, type SettingsRecord, stageTenantHasData } from '../db/tenant-store.js';
import { UnitOfWork } from '../db/unit-of-work.js';
import { type Contact, FILTER_PRIORITY, type FilterName, stageOf } from '../domain/contact.js';
import { formatMoney } from '../domain/money.js';
import {
  ConflictError,
  DomainError,
  ForbiddenError,
  isTransientAwsError,
  NotFoundError,
  ServiceUnavailableError,
  ValidationError,
} from '../errors.js';
import { ContactCreated, ContactErased, ContactLost } from '../events/catalog.js';
import { makeEvent } from '../events/outbox.js';
import type { Caller } from '../http/auth.js';
import { decodeCursor, encodeCursor } from '../http/cursor.js';
import { zodFieldErrors } from '../http/problem.js';
import { ContactInput, type ContactPatch, type ContactQuery } from '../schemas/contacts.js';

type CreateInput = z.output<typeof ContactInput>;
type PatchInput = z.output<typeof ContactPatch>;
type ListQuery = z.output<typeof ContactQuery>;

const PATCH_ATTEMPTS = 4;

/** The API view of a contact: money as a decimal string in the tenant currency. */
export function contactView(contact: Contact, currency: string) {
  const { stats, rfm } = contact;
  return {
    id: contact.id,
    name: contact.name,
    ...optional(contact, ['phone', 'email', 'wechatId', 'externalId', 'accountId', 'ownerStaffId']),
    channel: contact.channel,
    ...optional(contact, ['channelDetail', 'hook']),
    tags: contact.tags,
    status: contact.status,
    addedAt: contact.addedAt,
    ...(contact.lostAt ? { lostAt: contact.lostAt } : {}),
    stage: contact.stage,
    stats: {
      orders: stats.orders,
      spent: formatMoney(stats.spentMinor, currency),
      ...(stats.firstOrderAt ? { firstOrderAt: stats.firstOrderAt } : {}),
      ...(stats.lastOrderAt ? { lastOrderAt: stats.lastOrderAt } : {}),
    },
    ...(rfm
      ? {
          rfm: {
            r: rfm.r,
            f: rfm.f,
            m: rfm.m,
            recencyDays: rfm.recencyDays,
            frequency: rfm.frequency,
            monetary: rfm.monetaryMinor === null ? null : formatMoney(rfm.monetaryMinor, currency),
            segment: rfm.segment,
            computedAt: rfm.computedAt,
          },
        }
      : {}),
  };
}

function optional<K extends keyof Contact>(contact: Contact, names: K[]): Partial<Pick<Contact, K>> {
  const out: Partial<Pick<Contact, K>> = {};
  for (const name of names) if (contact[name] !== undefined) out[name] = contact[name];
  return out;
}

/** Checks, inside the transaction, that referenced staff and accounts exist. */
function stageReferences(
  uow: UnitOfWork,
  tenantId: string,
  refs: { accountId?: string; ownerStaffId?: string },
) {
  if (refs.accountId) {
    uow.check(
      keys.account(tenantId, refs.accountId),
      { expression: 'attribute_exists(pk)' },
      () => new ValidationError('Unknown account.', [{ path: 'accountId', message: 'no such account' }]),
    );
  }
  if (refs.ownerStaffId) {
    uow.check(
      keys.staff(tenantId, refs.ownerStaffId),
      { expression: 'attribute_exists(pk)' },
      () =>
        new ValidationError('Unknown staff member.', [
          { path: 'ownerStaffId', message: 'no such staff member' },
        ]),
    );
  }
}

/** Turns a taken identity into a 409 that names the existing contact. */
async function withExistingId<T>(deps: Deps, tenantId: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof IdentityTakenError && !error.existingId) {
      const existing = await findByIdentity(deps, tenantId, error.kind, error.value);
      throw new IdentityTakenError(error.kind, error.value, existing);
    }
    throw error;
  }
}

/**
 * Creates a contact.
 *  1. Staff create contacts they own; admins may name any owner.
 *  2. phone, email and externalId are claimed by identity items in the same transaction as the
 *     contact, its list entries and its funnel cell: concurrent creates with one phone → one wins,
 *     the others get 409 with the winner's id.
 *  3. A `ContactCreated` event is committed to the outbox with them.
 */
export async function createContact(deps: Deps, caller: Caller, input: CreateInput): Promise<Contact> {
  const settings = await readSettings(deps, caller.tenantId, true);
  const now = deps.now().toISOString();
  const contact = newContact(caller, input, now);
  const uow = new UnitOfWork(deps.tableName);
  stageCreate(uow, contact, settings, now);
  stageTenantHasData(uow, caller.tenantId, settings);
  try {
    await withExistingId(deps, caller.tenantId, () => uow.commit(deps.db));
  } catch (error) {
    // An id made by this request, found taken: a resend of this very transaction after its first
    // answer was lost (the retry not recognised as the same) met what the first attempt stored.
    const taken = error instanceof IdentityTakenError || error instanceof ContactIdTakenError;
    if (!(taken && input.id === undefined && error.existingId === contact.id)) throw error;
    const stored = await getContact(deps, caller.tenantId, contact.id, true);
    if (!stored) throw error;
    return stored;
  }
  return { ...contact, version: 1 };
}

function newContact(caller: Caller, input: CreateInput, now: string): Contact {
  if (caller.role === 'staff' && input.ownerStaffId !== undefined && input.ownerStaffId !== caller.staffId) {
    throw new ForbiddenError('Staff create contacts they own.');
  }
  const ownerStaffId = caller.role === 'staff' ? caller.staffId : input.ownerStaffId;
  const status = input.status ?? 'active';
  return {
    tenantId: caller.tenantId,
    id: input.id ?? `c_${ulid()}`,
    name: input.name,
    ...(input.phone ? { phone: input.phone } : {}),
    ...(input.email ? { email: input.email } : {}),
    ...(input.wechatId ? { wechatId: input.wechatId } : {}),
    ...(input.externalId ? { externalId: input.externalId } : {}),
    ...(input.accountId ? { accountId: input.accountId } : {}),
    ...(ownerStaffId ? { ownerStaffId } : {}),
    channel: input.channel,
    ...(input.channelDetail ? { channelDetail: input.channelDetail } : {}),
    ...(input.hook ? { hook: input.hook } : {}),
    tags: [...new Set(input.tags ?? [])],
    status,
    addedAt: input.addedAt ? new Date(input.addedAt).toISOString() : now,
    ...(status === 'lost' ? { lostAt: now } : {}),
    stage: 'prospect',
    stats: { orders: 0, spentMinor: 0 },
    version: 0,
    createdAt: now,
    updatedAt: now,
  };
}

/** One contact's creation as an atomic group: references, identities, entries, funnel cell, event. */
function stageCreate(uow: UnitOfWork, contact: Contact, settings: SettingsRecord, now: string): void {
  uow.atomic();
  stageReferences(uow, contact.tenantId, contact);
  stageContactChange(uow, {
    before: undefined,
    after: contact,
    timeZone: settings.settings.timezone,
    at: now,
  });
  uow.emit(
    makeEvent(ContactCreated, contact.tenantId, {
      contactId: contact.id,
      channel: contact.channel,
      accountId: contact.accountId ?? null,
      ownerStaffId: contact.ownerStaffId ?? null,
      addedAt: contact.addedAt,
    }),
  );
}

/**
 * Applies a change to a contact with optimistic locking, retried on a concurrent change
 * (order writes also move a contact's version). `change` returns the new contact or undefined
 * for no change.
 */
export function changeContact(
  deps: Deps,
  caller: Caller,
  id: string,
  change: (contact: Contact, settings: SettingsRecord, now: string) => Contact | undefined,
): Promise<Contact> {
  // A contact held by a segmentation run is released within about a second: wait it out.
  return waitOutHolds(() => changeOnce(deps, caller, id, change));
}

async function changeOnce(
  deps: Deps,
  caller: Caller,
  id: string,
  change: (contact: Contact, settings: SettingsRecord, now: string) => Contact | undefined,
): Promise<Contact> {
  for (let attempt = 1; ; attempt++) {
    const before = await visibleContact(deps, caller, id, true);
    const settings = await readSettings(deps, caller.tenantId);
    const now = deps.now().toISOString();
    const after = change(before, settings, now);
    if (!after) return before;
    const uow = new UnitOfWork(deps.tableName);
    stageReferences(uow, caller.tenantId, {
      ...(after.accountId !== before.accountId && after.accountId ? { accountId: after.accountId } : {}),
      ...(after.ownerStaffId !== before.ownerStaffId && after.ownerStaffId
        ? { ownerStaffId: after.ownerStaffId }
        : {}),
    });
    stageContactChange(uow, { before, after, timeZone: settings.settings.timezone, at: now });
    if (before.status !== 'lost' && after.status === 'lost') {
      uow.emit(makeEvent(ContactLost, caller.tenantId, { contactId: id, lostAt: after.lostAt ?? now }));
    }
    try {
      await withExistingId(deps, caller.tenantId, () => uow.commit(deps.db));
      return { ...after, version: before.version + 1, updatedAt: now };
    } catch (error) {
      const concurrent = error instanceof ConflictError && !(error instanceof IdentityTakenError);
      if (!concurrent || attempt >= PATCH_ATTEMPTS) throw error;
    }
  }
}

export async function patchContact(
  deps: Deps,
  caller: Caller,
  id: string,
  patch: PatchInput,
): Promise<Contact> {
  if (caller.role === 'staff' && patch.ownerStaffId !== undefined) {
    throw new ForbiddenError('Staff cannot change the owner of a contact.');
  }
  return changeContact(deps, caller, id, (contact, settings, now) => {
    const next: Contact = { ...contact };
    const assign = <K extends keyof PatchInput & keyof Contact>(name: K) => {
      const value = patch[name];
      if (value === undefined) return;
      if (value === null) delete next[name];
      else (next as unknown as Record<string, unknown>)[name] = value;
    };
    for (const name of [
      'name',
      'phone',
      'email',
      'wechatId',
      'accountId',
      'ownerStaffId',
      'channel',
      'channelDetail',
      'hook',
    ] as const) {
      assign(name);
    }
    if (patch.tags) next.tags = [...new Set(patch.tags)];
    if (patch.status && patch.status !== contact.status) {
      next.status = patch.status;
      if (patch.status === 'lost') next.lostAt = now;
      else delete next.lostAt;
    }
    next.stage = stageOf(next.stats, settings.settings.lifecycle, new Date(now));
    return next;
  });
}

export async function addTags(deps: Deps, caller: Caller, id: string, tags: string[]): Promise<Contact> {
  return changeContact(deps, caller, id, (contact) => {
    const merged = [...new Set([...contact.tags, ...tags])];
    if (merged.length > 50) {
      throw new ValidationError('A contact has at most 50 tags.', [
        { path: 'tags', message: 'at most 50 tags' },
      ]);
    }
    return merged.length === contact.tags.length ? undefined : { ...contact, tags: merged };
  });
}

export async function removeTag(deps: Deps, caller: Caller, id: string, tag: string): Promise<Contact> {
  return changeContact(deps, caller, id, (contact) =>
    contact.tags.includes(tag) ? { ...contact, tags: contact.tags.filter((t) => t !== tag) } : undefined,
  );
}

/**
 * Erases a contact's personal data.
 *  1. In one transaction: the profile becomes a tombstone without personal data; identity items,
 *     list and search entries are deleted; its funnel contribution leaves the aggregates;
 *     `ContactErased` goes to the outbox.
 *  2. Stored idempotent responses about the contact are cut down to its id.
 * Orders keep the contact id only, so order and shop totals do not change.
 */
export async function eraseContact(deps: Deps, caller: Caller, id: string): Promise<void> {
  // A contact held by a segmentation run is released within about a second: wait it out.
  await waitOutHolds(() => eraseOnce(deps, caller, id));
  await finishErasure(deps, caller.tenantId, id);
}

async function eraseOnce(deps: Deps, caller: Caller, id: string): Promise<void> {
  let before: Contact;
  try {
    before = await visibleContact(deps, caller, id, true);
  } catch (error) {
    // Already erased: a repeated DELETE finishes a clean-up that a failure interrupted (its steps
    // only remove more), and the answer stays 404.
    if (error instanceof NotFoundError && (await erasureUnfinished(deps, caller.tenantId, id)))
      await finishErasure(deps, caller.tenantId, id);
    throw error;
  }
  const settings = await readSettings(deps, caller.tenantId);
  const now = deps.now().toISOString();
  const uow = new UnitOfWork(deps.tableName);
  stageContactChange(uow, { before, after: undefined, timeZone: settings.settings.timezone, at: now });
  uow.emit(makeEvent(ContactErased, caller.tenantId, { contactId: id, erasedAt: now }));
  await uow.commit(deps.db);
}

/**
 * The part of an erasure outside its transaction, idempotent: the order copies are marked, stored
 * responses about the contact are cut down to its id, and last the tombstone's `cleanupPending`
 * goes.
 */
async function finishErasure(deps: Deps, tenantId: string, id: string): Promise<void> {
  // Its orders stay (totals do not change) but no longer count for anyone's segmentation.
  for await (const copy of queryAll(deps, {
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :o)',
    ExpressionAttributeValues: { ':pk': contactKeys.profile(tenantId, id).pk, ':o': 'O#' },
    ProjectionExpression: 'pk, sk',
  })) {
    await deps.db.send(
      new UpdateCommand({
        TableName: deps.tableName,
        Key: { pk: copy.pk, sk: copy.sk },
        UpdateExpression: 'SET contactErased = :erased',
        ExpressionAttributeValues: { ':erased': true },
      }),
    );
  }
  for await (const record of queryAll(deps, {
    IndexName: GSI1,
    KeyConditionExpression: 'gsi1pk = :about',
    ExpressionAttributeValues: { ':about': keys.idempotencyAbout(tenantId, id) },
  })) {
    await deps.db.send(
      new UpdateCommand({
        TableName: deps.tableName,
        Key: { pk: record.pk, sk: record.sk },
        UpdateExpression: 'SET #response.#body = :body',
        ExpressionAttributeNames: { '#response': 'response', '#body': 'body' },
        ExpressionAttributeValues: { ':body': JSON.stringify({ id }) },
      }),
    );
  }
  await deps.db.send(
    new UpdateCommand({
      TableName: deps.tableName,
      Key: contactKeys.profile(tenantId, id),
      UpdateExpression: 'REMOVE cleanupPending',
    }),
  );
}

/**
 * Lists contacts from the list index, never a scan: the most selective filter picks the index
 * partition, the others are a FilterExpression on the entries (each carries the filter values).
 * Staff always list their own contacts.
 */
export async function listContacts(deps: Deps, caller: Caller, query: ListQuery) {
  const filters: Partial<Record<FilterName, string>> = {};
  for (const name of FILTER_PRIORITY) {
    const value = query[name];
    if (value !== undefined) filters[name] = value;
  }
  if (caller.role === 'staff') {
    if (filters.owner !== undefined && filters.owner !== caller.staffId)
      return { items: [], nextCursor: null };
    filters.owner = caller.staffId;
  }
  const filterKey = { ...filters, ...(query.q ? { q: query.q } : {}) };
  const binding = { tenantId: caller.tenantId, caller: caller.staffId, filter: filterKey };

  let pk: string;
  let skPrefix: string | undefined;
  const rest: Partial<Record<FilterName, string>> = { ...filters };
  if (query.q) {
    pk = contactKeys.search(caller.tenantId);
    skPrefix = query.q.toLowerCase();
  } else {
    const primary = FILTER_PRIORITY.find((name) => filters[name] !== undefined);
    if (primary) {
      pk = contactKeys.index(caller.tenantId, primary, filters[primary]!);
      delete rest[primary];
    } else {
      pk = contactKeys.index(caller.tenantId, 'all', '*');
    }
  }

  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ':pk': pk };
  const conditions: string[] = [];
  for (const [name, value] of Object.entries(rest)) {
    names[`#${name}`] = name === 'tag' ? 'tags' : name;
    values[`:${name}`] = value;
    conditions.push(name === 'tag' ? `contains(f.#${name}, :${name})` : `f.#${name} = :${name}`);
  }
  if (skPrefix !== undefined) values[':prefix'] = skPrefix;

  let start = decodeCursor(query.cursor, binding, (key) => key.pk === pk);
  const ids: string[] = [];
  let lastKey: Record<string, unknown> | undefined;
  let hasMore = false;
  paging: while (true) {
    const page = await deps.db.send(
      new QueryCommand({
        TableName: deps.tableName,
        KeyConditionExpression: skPrefix !== undefined ? 'pk = :pk AND begins_with(sk, :prefix)' : 'pk = :pk',
        ...(conditions.length ? { FilterExpression: conditions.join(' AND ') } : {}),
        ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
        ExpressionAttributeValues: values,
        ExclusiveStartKey: start,
        ScanIndexForward: skPrefix !== undefined,
        Limit: Math.min(1000, (query.limit - ids.length) * 2 + 10),
      }),
    );
    for (const item of page.Items ?? []) {
      if (ids.length >= query.limit) {
        hasMore = true;
        break paging;
      }
      if (!ids.includes(item.contactId)) ids.push(item.contactId);
      lastKey = { pk: item.pk, sk: item.sk };
    }
    if (!page.LastEvaluatedKey) break;
    start = page.LastEvaluatedKey;
    if (ids.length >= query.limit) {
      hasMore = true;
      break;
    }
  }
  const contacts = await getContacts(deps, caller.tenantId, ids);
  const settings = await readSettings(deps, caller.tenantId);
  return {
    items: contacts.map((c) => contactView(c, settings.settings.currency)),
    nextCursor: hasMore ? encodeCursor(lastKey, binding) : null,
  };
}

export type BatchResult = {
  index: number;
  id?: string;
  status: 'created' | 'exists' | 'error';
  error?: string;
};

/** Contacts committed together: whole contacts packed into ≤ 100-item transactions. */
const BATCH_SLICE = 25;

/**
 * Bulk import: each contact succeeds or fails on its own. Valid contacts are committed in slices
 * (each contact an atomic group, packed into few transactions); when a slice is refused — a taken
 * phone, a missing owner — its contacts are created one by one, so the refusal is theirs alone.
 */
export async function createContactsBatch(
  deps: Deps,
  caller: Caller,
  contacts: unknown[],
  remainingMs?: RemainingMs,
): Promise<BatchResult[]> {
  const results: BatchResult[] = new Array(contacts.length);
  const valid: { index: number; input: CreateInput }[] = [];
  contacts.forEach((raw, index) => {
    const parsed = ContactInput.safeParse(raw);
    // Ids are given up front: after a fault the import can tell what it stored, and a client retry
    // with the id reported cannot create the contact twice.
    if (parsed.success) valid.push({ index, input: { ...parsed.data, id: parsed.data.id ?? `c_${ulid()}` } });
    else {
      const problems = zodFieldErrors(parsed.error).map((e) => `${e.path}: ${e.message}`);
      results[index] = { index, status: 'error', error: problems.join('; ') };
    }
  });
  // Throttling or a timeout stops new work; what is not known stored is reported busy, with its id.
  let stop = false;
  const busy = (index: number, id: string): BatchResult => ({ index, id, status: 'error', error: BUSY });
  /** The contacts of `ids` this import stored since `since` (undefined: the read failed too). */
  const storedSince = async (ids: string[], since: string): Promise<Set<string> | undefined> => {
    try {
      const found = await getContacts(deps, caller.tenantId, ids, true);
      return new Set(found.filter((c) => c.createdAt >= since).map((c) => c.id));
    } catch (error) {
      if (isOverload(error)) return undefined;
      throw error;
    }
  };
  const one = async ({ index, input }: { index: number; input: CreateInput }) => {
    const since = deps.now().toISOString();
    try {
      const contact = await createContact(deps, caller, input);
      results[index] = { index, id: contact.id, status: 'created' };
    } catch (error) {
      if (error instanceof IdentityTakenError || error instanceof ContactIdTakenError) {
        results[index] = { index, ...(error.existingId ? { id: error.existingId } : {}), status: 'exists' };
      } else if (isOverload(error)) {
        stop = true;
        const stored = await storedSince([input.id!], since);
        results[index] = stored?.has(input.id!)
          ? { index, id: input.id!, status: 'created' }
          : busy(index, input.id!);
      } else if (error instanceof DomainError) {
        results[index] = { index, status: 'error', error: error.message };
      } else {
        throw error;
      }
    }
  };
  const slices: (typeof valid)[] = [];
  for (let i = 0; i < valid.length; i += BATCH_SLICE) slices.push(valid.slice(i, i + BATCH_SLICE));
  const runSlice = async (slice: typeof valid) => {
    if (stop) return; // left for the end: reported busy
    const settings = await readSettings(deps, caller.tenantId, true);
    if (!settings.hasData) {
      // The first contacts also fix the tenant's currency.
      for (const item of slice) if (!stop) await one(item);
      return;
    }
    const now = deps.now().toISOString();
    const uow = new UnitOfWork(deps.tableName);
    const built: { index: number; contact: Contact }[] = [];
    for (const { index, input } of slice) {
      try {
        const contact = newContact(caller, input, now);
        stageCreate(uow, contact, settings, now);
        built.push({ index, contact });
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        results[index] = { index, status: 'error', error: error.message };
      }
    }
    try {
      await uow.commit(deps.db);
      for (const { index, contact } of built) results[index] = { index, id: contact.id, status: 'created' };
    } catch (error) {
      if (!(error instanceof DomainError) && !isOverload(error)) throw error;
      // Packed transactions commit in order: those of a committed one are stored, the rest are not
      // (or, after a timeout, may be): read back which.
      const stored = await storedSince(
        built.map((b) => b.contact.id),
        now,
      );
      const rest = slice.filter(({ index, input }) => {
        if (!stored?.has(input.id!)) return results[index] === undefined;
        results[index] = { index, id: input.id!, status: 'created' };
        return false;
      });
      if (isOverload(error) || !stored) stop = true;
      // A refused slice (a taken phone, a missing owner): the others are created one by one.
      for (const item of rest) if (!stop) await one(item);
    }
  };
  try {
    await forEachWithinTime(
      slices,
      4,
      async (slice) => {
        try {
          await runSlice(slice);
        } catch (error) {
          stop = true;
          if (!isOverload(error)) throw error;
        }
      },
      remainingMs,
    );
  } catch (error) {
    // Out of time: the slices in flight finished; the ones not started are reported busy.
    if (!(error instanceof ServiceUnavailableError)) throw error;
    stop = true;
  }
  for (const { index, input } of valid) results[index] ??= busy(index, input.id!);
  // Nothing stored: a clean 503, the whole request can be retried.
  if (stop && !results.some((r) => r.status === 'created')) throw new ServiceUnavailableError();
  return results;
}

const BUSY = 'The service is busy; retry this contact (with this id, a retry cannot create it twice).';

/** Throttling, timeouts and the like: the write may be retried shortly. */
function isOverload(error: unknown): boolean {
  return (
    error instanceof ServiceUnavailableError ||
    (!(error instanceof DomainError) && isTransientAwsError(error))
  );
}
