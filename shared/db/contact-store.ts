import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Deps } from '../app/deps.js';
import {
  type Contact,
  type ContactRfm,
  entryFilterValues,
  FUNNEL_DIMS,
  type FunnelDim,
  type FunnelDims,
  type FunnelPlace,
  filterValues,
  funnelPlace,
  indexPostings,
  NONE,
  type Stage,
  searchTerms,
} from '../domain/contact.js';
import { ConflictError, NotFoundError, ServiceUnavailableError } from '../errors.js';
import type { Caller } from '../http/auth.js';
import { batchGetAll, batchWriteAll, type WriteRequest } from './query.js';
import type { Key, UnitOfWork } from './unit-of-work.js';

export type IdentityKind = 'phone' | 'email' | 'ext';

export const contactKeys = {
  profile: (tenantId: string, id: string): Key => ({ pk: `C#${tenantId}#${id}`, sk: 'PROFILE' }),
  identity: (tenantId: string, kind: IdentityKind, value: string): Key => ({
    pk: `ID#${tenantId}#${kind}#${value}`,
    sk: 'ID',
  }),
  index: (tenantId: string, dim: string, value: string) => `CX#${tenantId}#${dim}#${value}`,
  search: (tenantId: string) => `CQ#${tenantId}`,
};

/**
 * Funnel aggregates (ARCHITECTURE.md), sharded by contact: per month, day and month items of each
 * cell (`FA#<t>#<YYYY-MM>`); per year, the months' roll-ups of each dimension value
 * (`FR#<t>#<YYYY>`, `B#<dim>#<YYYY-MM>#<value>#<shard>`) and the same within each owner's
 * contacts (`B#owner=<owner>#<dim>#<YYYY-MM>#<value>#<shard>`), so whole months of a year are one
 * Query. Contact writes move the cells; the roll-ups follow the month cells through the table
 * stream (`shared/usecases/funnel-rollups.ts`).
 */
export const FUNNEL_SHARDS = 4;
const funnelPartition = (tenantId: string, month: string) => `FA#${tenantId}#${month}`;
const rollupPartition = (tenantId: string, year: string) => `FR#${tenantId}#${year}`;
/** The sort-key prefix of the roll-ups of `dim` (within one owner's contacts if given). */
const rollupPrefix = (dim: FunnelDim, owner?: string) =>
  owner === undefined ? `B#${dim}#` : `B#owner=${owner}#${dim}#`;
export const funnelKeys = {
  partition: funnelPartition,
  rollupPartition,
  day: (tenantId: string, day: string, cell: string, shard: number): Key => ({
    pk: funnelPartition(tenantId, day.slice(0, 7)),
    sk: `D#${day}#${cell}#${shard}`,
  }),
  month: (tenantId: string, day: string, cell: string, shard: number): Key => ({
    pk: funnelPartition(tenantId, day.slice(0, 7)),
    sk: `M#${cell}#${shard}`,
  }),
  /** The tenant, month and shard of a month cell's key; undefined for any other key. */
  parseMonth: (key: Key): { tenantId: string; month: string; shard: number } | undefined => {
    const pk = /^FA#([^#]+)#(\d{4}-\d{2})$/.exec(key.pk);
    const sk = /^M#[^#]+#(\d+)$/.exec(key.sk);
    return pk && sk ? { tenantId: pk[1]!, month: pk[2]!, shard: Number(sk[1]) } : undefined;
  },
  rollupPrefix,
  /** The roll-ups of `prefix` for the months `first`..`last` of one year, as a sort-key range. */
  rollupRange: (prefix: string, first: string, last: string) => ({
    from: `${prefix}${first}#`,
    // '$' follows '#': past every key of the last month, whatever its value holds.
    to: `${prefix}${last}$`,
  }),
  rollup: (
    tenantId: string,
    day: string,
    dim: FunnelDim,
    value: string,
    shard: number,
    owner?: string,
  ): Key => ({
    pk: rollupPartition(tenantId, day.slice(0, 4)),
    sk: `${rollupPrefix(dim, owner)}${day.slice(0, 7)}#${value}#${shard}`,
  }),
};

/**
 * A segmentation run's hold on a contact (`stageHeldChange`): the run's job, and the stage and
 * segment the contact had before the run changed them, from which `releaseHolds` derives the list
 * and search entries to replace. Only the run writes a held contact.
 */
export interface ContactHold {
  job: string;
  stage: Stage;
  /** The segment before (`none` when unscored): the one rfm value the entries carry. */
  segment: string;
}

/** The stored contact: the domain contact plus its erasure tombstone flag and a run's hold. */
export type StoredContact = Contact & { erased?: boolean; held?: ContactHold };
/** A contact as a run holds it (`stageHeldChange`). */
export type HeldContact = StoredContact & { held: ContactHold };

/**
 * The contact is held by a segmentation run for the moment between its change and the rewrite of
 * its list entries (under a second; until the run resumes if it crashed in between): 503, retry.
 */
export class ContactBusyError extends ServiceUnavailableError {
  constructor() {
    super('The contact is being updated by a segmentation run; retry shortly.');
  }
}

/** How long a writer waits out a run's hold on a contact (`ContactBusyError`) before answering 503. */
export const HOLD_WAIT_MS = 3_000;
const HOLD_POLL_MS = 50;

/**
 * Runs `attempt` again while it meets a held contact, for up to `HOLD_WAIT_MS`; then the
 * `ContactBusyError` goes to the caller (503 with Retry-After).
 */
export async function waitOutHolds<T>(attempt: () => Promise<T>): Promise<T> {
  for (let waited = 0; ; waited += HOLD_POLL_MS) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof ContactBusyError) || waited >= HOLD_WAIT_MS) throw error;
      await sleep(HOLD_POLL_MS);
    }
  }
}

/** True for an erased contact whose clean-up an earlier erasure did not finish. */
export async function erasureUnfinished(
  deps: Pick<Deps, 'db' | 'tableName'>,
  tenantId: string,
  id: string,
): Promise<boolean> {
  const out = await deps.db.send(
    new GetCommand({
      TableName: deps.tableName,
      Key: contactKeys.profile(tenantId, id),
      ConsistentRead: true,
      ProjectionExpression: 'erased, cleanupPending',
    }),
  );
  return Boolean(out.Item?.erased && out.Item.cleanupPending);
}

export async function getContact(
  deps: Pick<Deps, 'db' | 'tableName'>,
  tenantId: string,
  id: string,
  consistent = false,
): Promise<Contact | undefined> {
  const out = await deps.db.send(
    new GetCommand({
      TableName: deps.tableName,
      Key: contactKeys.profile(tenantId, id),
      ConsistentRead: consistent,
    }),
  );
  return contactFromItem(out.Item);
}

/** A contact the caller may see: another tenant's, or (for staff) another owner's, is a 404. */
export async function visibleContact(
  deps: Deps,
  caller: Caller,
  id: string,
  consistent = false,
): Promise<Contact> {
  const contact = await getContact(deps, caller.tenantId, id, consistent);
  if (!contact || (caller.role === 'staff' && contact.ownerStaffId !== caller.staffId)) {
    throw new NotFoundError('No such contact.');
  }
  return contact;
}

/** Reads many contacts by id, in the order given (erased and missing ones left out). */
export async function getContacts(
  deps: Pick<Deps, 'db' | 'tableName'>,
  tenantId: string,
  ids: readonly string[],
  consistent = false,
): Promise<Contact[]> {
  const found = new Map<string, Contact>();
  const unique = [...new Set(ids)].map((id) => contactKeys.profile(tenantId, id));
  for (const item of await batchGetAll(deps, unique, { consistent })) {
    const contact = contactFromItem(item);
    if (contact) found.set(contact.id, contact);
  }
  return ids.map((id) => found.get(id)).filter((c): c is Contact => c !== undefined);
}

/**
 * The contact a stored `PROFILE` item holds (with a run's `held`, if any; views never show it);
 * undefined for an erased one (or no item).
 */
export function contactFromItem(item: Record<string, unknown> | undefined): StoredContact | undefined {
  const stored = item as (StoredContact & { pk?: string; sk?: string }) | undefined;
  if (!stored || stored.erased) return undefined;
  const { pk: _pk, sk: _sk, ...rest } = stored;
  return { ...rest, tags: rest.tags ?? [] };
}

function identities(contact: Contact | undefined): Map<string, { kind: IdentityKind; value: string }> {
  const out = new Map<string, { kind: IdentityKind; value: string }>();
  if (!contact) return out;
  if (contact.phone) out.set(`phone:${contact.phone}`, { kind: 'phone', value: contact.phone });
  if (contact.email) out.set(`email:${contact.email}`, { kind: 'email', value: contact.email });
  if (contact.externalId) out.set(`ext:${contact.externalId}`, { kind: 'ext', value: contact.externalId });
  return out;
}

type Entry = Key & Record<string, unknown>;

function listEntries(contact: Contact | undefined): Map<string, Entry> {
  const out = new Map<string, Entry>();
  if (!contact) return out;
  const f = filterValues(contact);
  for (const { dim, value } of indexPostings(contact)) {
    const entry = {
      pk: contactKeys.index(contact.tenantId, dim, value),
      sk: `${contact.addedAt}#${contact.id}`,
      contactId: contact.id,
      f: entryFilterValues(f, dim),
    };
    out.set(`${entry.pk}\u0000${entry.sk}`, entry);
  }
  for (const term of searchTerms(contact)) {
    const entry = {
      pk: contactKeys.search(contact.tenantId),
      sk: `${term}#${contact.id}`,
      contactId: contact.id,
      f,
    };
    out.set(`${entry.pk}\u0000${entry.sk}`, entry);
  }
  return out;
}

/** A contact created with an id the tenant already has (a resent import item, say). */
export class ContactIdTakenError extends ConflictError {
  constructor(readonly existingId: string) {
    super(`Contact ${existingId} already exists.`);
  }
}

/** A phone, email or externalId that another contact of the tenant already has. */
export class IdentityTakenError extends ConflictError {
  constructor(
    readonly kind: IdentityKind,
    readonly value: string,
    readonly existingId?: string,
  ) {
    const field = kind === 'ext' ? 'externalId' : kind;
    super(
      existingId
        ? `A contact with this ${field} already exists: ${existingId}`
        : `A contact with this ${field} already exists.`,
    );
  }
}

/** The contact that holds an identity (phone, email or externalId), if any. */
export async function findByIdentity(
  deps: Pick<Deps, 'db' | 'tableName'>,
  tenantId: string,
  kind: IdentityKind,
  value: string,
): Promise<string | undefined> {
  const out = await deps.db.send(
    new GetCommand({
      TableName: deps.tableName,
      Key: contactKeys.identity(tenantId, kind, value),
      ConsistentRead: true,
    }),
  );
  return out.Item?.contactId as string | undefined;
}

/**
 * Adds one contact change to the current atomic group of `uow`: the profile (created with
 * `attribute_not_exists`, updated on its version), its identity items, list and search entries
 * (only what changed), and the move of its funnel contribution. `before` undefined = creation;
 * `after` undefined = erasure (a tombstone without personal data stays, so ids remain taken).
 * Every contact write in the product goes through here, so indexes and aggregates cannot drift.
 */
export function stageContactChange(
  uow: UnitOfWork,
  change: { before: Contact | undefined; after: Contact | undefined; timeZone: string; at: string },
): void {
  const { before, after, timeZone, at } = change;
  if ((before as StoredContact | undefined)?.held) throw new ContactBusyError();
  const tenantId = (after ?? before)!.tenantId;
  const id = (after ?? before)!.id;
  const profile = contactKeys.profile(tenantId, id);

  if (after) {
    uow.put(
      { ...profile, ...after, version: (before?.version ?? 0) + 1, updatedAt: at },
      before
        ? { expression: 'version = :v', values: { ':v': before.version } }
        : { expression: 'attribute_not_exists(pk)' },
      () =>
        before ? new ConflictError('The contact changed concurrently; retry.') : new ContactIdTakenError(id),
    );
  } else if (before) {
    uow.put(
      // `cleanupPending` until the erasure has also reached the contact's order copies and stored
      // responses (`finishErasure`): a repeated DELETE finishes what a failure interrupted.
      {
        ...profile,
        tenantId,
        id,
        erased: true,
        erasedAt: at,
        cleanupPending: true,
        version: before.version + 1,
      },
      { expression: 'version = :v', values: { ':v': before.version } },
      () => new ConflictError('The contact changed concurrently; retry.'),
    );
  }

  const oldIds = identities(before);
  const newIds = identities(after);
  for (const [k, { kind, value }] of oldIds) {
    if (!newIds.has(k)) uow.delete(contactKeys.identity(tenantId, kind, value));
  }
  for (const [k, { kind, value }] of newIds) {
    if (oldIds.has(k)) continue;
    uow.put(
      { ...contactKeys.identity(tenantId, kind, value), contactId: id },
      { expression: 'attribute_not_exists(pk)' },
      () => new IdentityTakenError(kind, value),
    );
  }

  const entries = entryChanges(before, after);
  for (const key of entries.deletes) uow.delete(key);
  for (const entry of entries.puts) uow.put(entry);

  moveFunnel(
    uow,
    tenantId,
    id,
    before && funnelPlace(before, timeZone),
    after && funnelPlace(after, timeZone),
  );
}

/** The list and search entries that take a contact from `before` to `after`: deletes, then puts. */
function entryChanges(before: Contact | undefined, after: Contact | undefined) {
  const oldEntries = listEntries(before);
  const newEntries = listEntries(after);
  const deletes: Key[] = [];
  const puts: Entry[] = [];
  for (const [k, entry] of oldEntries) {
    if (!newEntries.has(k)) deletes.push({ pk: entry.pk, sk: entry.sk });
  }
  for (const [k, entry] of newEntries) {
    const old = oldEntries.get(k);
    if (!old || JSON.stringify(old) !== JSON.stringify(entry)) puts.push(entry);
  }
  return { deletes, puts };
}

/**
 * A segmentation run's change of one contact (its rfm and stage), in two parts so the run writes
 * most items with idempotent batch writes:
 *  1. (here, in the run's unit of work) the profile's new values and a hold (`held`: the job,
 *     and the stage and segment before), conditioned on the version read, and the
 *     funnel move — so the counters move exactly once, with the version bump;
 *  2. (`releaseHolds`, BatchWrites after the commit) the list and search entries, and the
 *     profile without the hold.
 * Between the two, every other writer refuses the contact (`ContactBusyError`, waited out by
 * `waitOutHolds`), so the batch writes cannot overwrite anyone's change, and a crash between
 * them leaves a hold the run finds and releases when it resumes.
 * Returns the stored profile (with its hold), which `releaseHolds` takes.
 */
export function stageHeldChange(
  uow: UnitOfWork,
  change: { before: Contact; after: Contact; timeZone: string; at: string; job: string },
): HeldContact {
  const { before, after, timeZone, at, job } = change;
  if ((before as StoredContact).held) throw new ContactBusyError();
  const held: ContactHold = { job, stage: before.stage, segment: filterValues(before).segment };
  const stored = { ...after, version: before.version + 1, updatedAt: at, held };
  // Only what changes: the transaction carries a few hundred bytes per contact, not its profile.
  uow.update({
    key: contactKeys.profile(after.tenantId, after.id),
    expression: `SET stage = :stage, held = :held, version = :next, updatedAt = :at${after.rfm ? ', rfm = :rfm' : ''}`,
    values: {
      ':stage': after.stage,
      ':held': held,
      ':next': stored.version,
      ':at': at,
      ...(after.rfm ? { ':rfm': after.rfm } : {}),
    },
    condition: { expression: 'version = :v', values: { ':v': before.version } },
    onConditionFailed: () => new ConflictError('The contact changed concurrently; retry.'),
  });
  moveFunnel(uow, after.tenantId, after.id, funnelPlace(before, timeZone), funnelPlace(after, timeZone));
  return stored;
}

/**
 * BatchWrite calls of a release in flight at once: a run releases while its next steps read and
 * commit, and DynamoDB serves batch writes alongside reads well.
 */
const RELEASE_IN_FLIGHT = 8;

/**
 * What finishes held changes (`stageHeldChange`) and releases the contacts: each one's list and
 * search entries from the stage and rfm before to those now, and only once all of those are
 * written, the profiles without `held` (a released contact is open to other writers, whose entries
 * a late batch must not overwrite). Idempotent: nobody else writes a held contact, so a resumed
 * run sends the same writes again.
 */
export async function releaseHolds(
  deps: Pick<Deps, 'db' | 'tableName'>,
  held: readonly HeldContact[],
): Promise<void> {
  const entries: WriteRequest[] = [];
  const profiles: WriteRequest[] = [];
  for (const { held: hold, ...after } of held) {
    // The contact before, as far as its entries go: they carry its stage and segment.
    const { rfm, ...withoutRfm } = after;
    const before: Contact = {
      ...withoutRfm,
      stage: hold.stage,
      ...(rfm && hold.segment !== NONE
        ? { rfm: { ...rfm, segment: hold.segment as ContactRfm['segment'] } }
        : {}),
    };
    const { deletes, puts } = entryChanges(before, after);
    for (const Key of deletes) entries.push({ DeleteRequest: { Key } });
    for (const Item of puts) entries.push({ PutRequest: { Item } });
    profiles.push({ PutRequest: { Item: { ...contactKeys.profile(after.tenantId, after.id), ...after } } });
  }
  await batchWriteAll(deps, entries, RELEASE_IN_FLIGHT);
  await batchWriteAll(deps, profiles, RELEASE_IN_FLIGHT);
}

/**
 * Releases those of `ids` that are still held (by `job`, if given), read consistently: for a run
 * that does not have their held images at hand (resumed, or failing).
 */
export async function releaseStillHeld(
  deps: Pick<Deps, 'db' | 'tableName'>,
  tenantId: string,
  ids: readonly string[],
  job?: string,
): Promise<void> {
  if (ids.length === 0) return;
  const contacts = await getContacts(deps, tenantId, ids, true);
  await releaseHolds(
    deps,
    contacts.filter((c): c is HeldContact => {
      const { held } = c as StoredContact;
      return held !== undefined && (job === undefined || held.job === job);
    }),
  );
}

/**
 * Moves a contact's funnel contribution from one place to another (either may be absent) on its
 * day and month cell items (moves on one item net out when the unit of work merges them). The
 * roll-ups follow the month cells through the table stream (`applyFunnelRecords`), not in this
 * transaction.
 */
export function moveFunnel(
  uow: UnitOfWork,
  tenantId: string,
  contactId: string,
  from: FunnelPlace | undefined,
  to: FunnelPlace | undefined,
): void {
  const shard = shardOf(contactId);
  for (const [place, add] of placeMoves(from, to)) {
    const cell = cellId(place);
    const attrs = { ...place.dims, month: place.day.slice(0, 7) };
    uow.addCounters(funnelKeys.day(tenantId, place.day, cell, shard), add, {
      ...attrs,
      day: place.day,
      kind: 'day',
    });
    // A month cell holds contacts of many days: it carries no day of its own.
    uow.addCounters(funnelKeys.month(tenantId, place.day, cell, shard), add, { ...attrs, kind: 'month' });
  }
}

/** One roll-up's share of a month cell: its key, the counters to add, and its descriptive values. */
export interface RollupMove {
  key: Key;
  add: Record<string, number>;
  attrs: Record<string, string>;
}

/**
 * The roll-ups of one month cell's values: the month's roll-up of each dimension value, overall
 * and within the cell's owner's contacts (13 items, on the cell's shard), each moved by `add`.
 */
export function rollupMoves(
  cell: { tenantId: string; month: string; shard: number; dims: FunnelDims },
  add: Record<string, number>,
): RollupMove[] {
  const { tenantId, month, shard, dims } = cell;
  const day = `${month}-01`;
  const owner = dims.owner;
  const moves: RollupMove[] = [];
  for (const dim of FUNNEL_DIMS) {
    const value = dims[dim];
    moves.push({
      key: funnelKeys.rollup(tenantId, day, dim, value, shard),
      add,
      attrs: { [dim]: value, month, kind: 'rollup' },
    });
    if (dim === 'owner') continue;
    moves.push({
      key: funnelKeys.rollup(tenantId, day, dim, value, shard, owner),
      add,
      attrs: { owner, [dim]: value, month, kind: 'rollup' },
    });
  }
  return moves;
}

/** Moves counters on the roll-ups of one month cell's values (`rollupMoves`). */
export function moveRollups(
  uow: UnitOfWork,
  cell: { tenantId: string; month: string; shard: number; dims: FunnelDims },
  add: Record<string, number>,
): void {
  for (const move of rollupMoves(cell, add)) uow.addCounters(move.key, move.add, move.attrs);
}

/**
 * The roll-up moves the stream consumer makes for a contact moved from one place to another, for
 * seeding (benchmarks): what `moveFunnel`'s month cell moves become once the stream is applied.
 */
export function moveFunnelRollups(
  uow: UnitOfWork,
  tenantId: string,
  contactId: string,
  from: FunnelPlace | undefined,
  to: FunnelPlace | undefined,
): void {
  const shard = shardOf(contactId);
  for (const [place, add] of placeMoves(from, to)) {
    moveRollups(uow, { tenantId, month: place.day.slice(0, 7), shard, dims: place.dims }, add);
  }
}

/** A move from one place to another: the place left, its counters negated; the place entered, as is. */
function* placeMoves(
  from: FunnelPlace | undefined,
  to: FunnelPlace | undefined,
): Generator<[FunnelPlace, Record<string, number>]> {
  for (const [place, sign] of [
    [from, -1],
    [to, 1],
  ] as const) {
    if (place)
      yield [place, Object.fromEntries(Object.entries(place.counters).map(([k, v]) => [k, sign * v]))];
  }
}

export function cellId(place: Pick<FunnelPlace, 'dims'>): string {
  const d = place.dims;
  return createHash('sha1')
    .update(JSON.stringify([d.channel, d.channelDetail, d.hook, d.owner, d.account, d.segment, d.stage]))
    .digest('base64url')
    .slice(0, 16);
}

export function shardOf(contactId: string): number {
  return createHash('sha1').update(contactId).digest()[0]! % FUNNEL_SHARDS;
}
