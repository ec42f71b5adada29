import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Deps } from '../app/deps.js';
import {
  type Category,
  defaultPlan,
  type Mix,
  type PostingPlan,
  type Slot,
  slotBuckets,
} from '../domain/posting.js';
import { ConflictError } from '../errors.js';
import { keys } from './keys.js';
import { batchGetAll, queryAll } from './query.js';
import { GSI1 } from './table-definition.js';
import { readSettings } from './tenant-store.js';
import type { Key, UnitOfWork } from './unit-of-work.js';

type Db = Pick<Deps, 'db' | 'tableName'>;

/** Index writes per atomic group: the UoW packs groups into transactions of ≤ 100 items. */
const INDEX_GROUP_ITEMS = 95;

export interface PlanRecord {
  plan: PostingPlan;
  version: number;
  /** Absent while the account is on the plan it was created with. */
  updatedAt?: string;
  /**
   * Entries an interrupted plan write may have left behind: set with the new plan and cleared
   * once its index writes are committed, so the next write deletes them.
   */
  staleKeys?: Key[];
}

/** An open-slot entry: what the reminder tick needs of an account slot, without reading the plan. */
export type SlotEntry = Key & {
  tenantId: string;
  accountId: string;
  zone: string;
  slot: Slot;
  dailyMin: number;
  dailyMax: number;
  mix: Mix;
};

/** The open-slot entries of a plan: one per 5-minute bucket each slot covers. */
export function slotEntryItems(tenantId: string, accountId: string, plan: PostingPlan): SlotEntry[] {
  return plan.slots.flatMap((slot) =>
    slotBuckets(slot).map((bucket) => ({
      ...keys.slotEntry(plan.timezone, bucket, tenantId, accountId, slot.start),
      tenantId,
      accountId,
      zone: plan.timezone,
      slot: { start: slot.start, end: slot.end },
      dailyMin: plan.dailyMin,
      dailyMax: plan.dailyMax,
      mix: plan.mix,
    })),
  );
}

/** Another write changed the plan since it was read. */
export class PlanChangedError extends ConflictError {
  constructor() {
    super('The posting plan changed concurrently; retry.');
  }
}

const keyId = (key: Key) => `${key.pk}\u0000${key.sk}`;

/**
 * Stages a plan and its open-slot index.
 *  1. First group: the plan item (conditioned on the version read, so concurrent writes cannot
 *     both win) carrying the entries to remove as `staleKeys`, and the zone in the registry.
 *  2. Then groups of deletes of the old entries (those of the previous plan and any left stale)
 *     and puts of the new ones; deletes and puts are idempotent.
 *  3. After the commit the caller clears `staleKeys` (`clearStaleKeys`); a crash before that leaves
 *     them for the next write to delete.
 */
export function stagePlanWrite(
  uow: UnitOfWork,
  input: { tenantId: string; accountId: string; plan: PostingPlan; previous?: PlanRecord; at?: string },
): PlanRecord {
  const { tenantId, accountId, plan, previous } = input;
  const entries = slotEntryItems(tenantId, accountId, plan);
  const fresh = new Set(entries.map(keyId));
  const stale = new Map<string, Key>();
  if (previous) {
    const old = [...slotEntryItems(tenantId, accountId, previous.plan), ...(previous.staleKeys ?? [])];
    for (const entry of old) {
      const key = { pk: entry.pk, sk: entry.sk };
      if (!fresh.has(keyId(key))) stale.set(keyId(key), key);
    }
  }
  const version = (previous?.version ?? 0) + 1;
  const record: PlanRecord = { plan, version, ...(input.at ? { updatedAt: input.at } : {}) };
  const planKey = keys.postingPlan(tenantId, accountId);

  uow.atomic();
  uow.put(
    {
      ...planKey,
      tenantId,
      accountId,
      ...record,
      ...(stale.size ? { staleKeys: [...stale.values()] } : {}),
    },
    previous
      ? { expression: 'version = :version', values: { ':version': previous.version } }
      : { expression: 'attribute_not_exists(pk)' },
    () => new PlanChangedError(),
  );
  uow.put({ ...keys.zoneInUse(plan.timezone), zone: plan.timezone });

  let inGroup = INDEX_GROUP_ITEMS;
  const nextWrite = () => {
    if (inGroup++ < INDEX_GROUP_ITEMS) return;
    uow.atomic();
    inGroup = 1;
  };
  for (const key of stale.values()) {
    nextWrite();
    uow.delete(key);
  }
  for (const entry of entries) {
    nextWrite();
    uow.put({ ...entry });
  }
  return { ...record, ...(stale.size ? { staleKeys: [...stale.values()] } : {}) };
}

/**
 * Step 3 of a plan write, once its unit of work is committed: clears `staleKeys`, unless a newer
 * write took over meanwhile (it deletes what it found stale itself).
 */
export async function clearStaleKeys(deps: Db, tenantId: string, accountId: string, version: number) {
  try {
    await deps.db.send(
      new UpdateCommand({
        TableName: deps.tableName,
        Key: keys.postingPlan(tenantId, accountId),
        UpdateExpression: 'REMOVE staleKeys',
        ConditionExpression: 'version = :written',
        ExpressionAttributeValues: { ':written': version },
      }),
    );
  } catch (error) {
    if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
  }
}

/**
 * Every account has the default plan from its creation: stages it, with the tenant zone of this
 * moment, in the account's own unit of work.
 */
export async function stageDefaultPostingPlan(
  deps: Db,
  uow: UnitOfWork,
  tenantId: string,
  accountId: string,
): Promise<void> {
  const { settings } = await readSettings(deps, tenantId);
  stagePlanWrite(uow, { tenantId, accountId, plan: defaultPlan(settings.timezone) });
}

export async function readPlanRecord(
  deps: Db,
  tenantId: string,
  accountId: string,
  consistent = false,
): Promise<PlanRecord | undefined> {
  const out = await deps.db.send(
    new GetCommand({
      TableName: deps.tableName,
      Key: keys.postingPlan(tenantId, accountId),
      ConsistentRead: consistent,
    }),
  );
  if (!out.Item) return undefined;
  const { plan, version, updatedAt, staleKeys } = out.Item as PlanRecord;
  return { plan, version, ...(updatedAt ? { updatedAt } : {}), ...(staleKeys ? { staleKeys } : {}) };
}

/** Zones some plan uses (the registry only grows; an unused zone costs the tick one empty query). */
export async function zonesInUse(deps: Db): Promise<string[]> {
  const zones: string[] = [];
  for await (const item of queryAll<{ sk: string }>(deps, {
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': keys.zoneInUse('').pk },
  })) {
    zones.push(item.sk);
  }
  return zones;
}

/** The open-slot entries of one zone's bucket, across tenants. */
export async function slotEntriesInBucket(deps: Db, zone: string, bucket: string): Promise<SlotEntry[]> {
  const entries: SlotEntry[] = [];
  for await (const entry of queryAll<SlotEntry>(deps, {
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': keys.slotBucket(zone, bucket) },
  })) {
    entries.push(entry);
  }
  return entries;
}

/** Which of these keys exist (eventually consistent: a miss is settled by the conditional put). */
export async function existingKeys(deps: Db, wanted: readonly Key[]): Promise<Set<string>> {
  const items = await batchGetAll<Key>(deps, wanted, { projection: 'pk, sk' });
  return new Set(items.map(keyId));
}

export const hasKey = (found: Set<string>, key: Key) => found.has(keyId(key));

export interface PostRecord {
  tenantId: string;
  id: string;
  accountId: string;
  category: Category;
  plannedAt?: string;
  publishedAt?: string;
  text?: string;
  likes: number;
  comments: number;
  /** `publishedAt ?? plannedAt` (also in gsi1sk). */
  time: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** The post item: gsi1 lists an account's posts by time. */
export function postItem(post: PostRecord) {
  return {
    ...keys.post(post.tenantId, post.id),
    ...post,
    gsi1pk: keys.postsOfAccount(post.tenantId, post.accountId),
    gsi1sk: `${post.time}#${post.id}`,
  };
}

export async function getPost(
  deps: Db,
  tenantId: string,
  postId: string,
  consistent = false,
): Promise<PostRecord | undefined> {
  const out = await deps.db.send(
    new GetCommand({
      TableName: deps.tableName,
      Key: keys.post(tenantId, postId),
      ConsistentRead: consistent,
    }),
  );
  if (!out.Item) return undefined;
  const { pk: _pk, sk: _sk, gsi1pk: _g, gsi1sk: _s, ...post } = out.Item;
  return post as PostRecord;
}

/** An account's posts with a time in `[from, to)` (whole pages; a handful of posts per day). */
export async function postsBetween(
  deps: Db,
  tenantId: string,
  accountId: string,
  from: Date,
  to: Date,
): Promise<PostRecord[]> {
  const posts: PostRecord[] = [];
  for await (const post of queryAll<PostRecord>(deps, {
    IndexName: GSI1,
    KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk BETWEEN :from AND :to',
    ExpressionAttributeValues: {
      ':pk': keys.postsOfAccount(tenantId, accountId),
      // `<time>#<id>` sorts after `<time>`: `from` is inclusive and `to` exclusive.
      ':from': from.toISOString(),
      ':to': to.toISOString(),
    },
  })) {
    posts.push(post);
  }
  return posts;
}
