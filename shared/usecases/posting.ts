import { GetCommand, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import type * as z from 'zod/mini';
import type { Deps } from '../app/deps.js';
import { keys } from '../db/keys.js';
import {
  clearStaleKeys,
  existingKeys,
  getPost,
  hasKey,
  PlanChangedError,
  type PlanRecord,
  type PostRecord,
  postItem,
  postsBetween,
  readPlanRecord,
  type SlotEntry,
  slotEntriesInBucket,
  stagePlanWrite,
  zonesInUse,
} from '../db/posting-store.js';
import { queryAll } from '../db/query.js';
import { GSI1 } from '../db/table-definition.js';
import { readSettings } from '../db/tenant-store.js';
import { UnitOfWork } from '../db/unit-of-work.js';
import {
  bucketOf,
  type Category,
  countByCategory,
  defaultPlan,
  postingInsights as insightsOf,
  openSlotAt,
  type PostingPlan,
  planProblems,
  reminderDecision,
  sortSlots,
  suggestCategory,
} from '../domain/posting.js';
import { addDays, DAY_MS, dayWindow, localClock, localDateOf } from '../domain/zone.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { PostingSlotDue } from '../events/catalog.js';
import { makeEvent } from '../events/outbox.js';
import type { Caller } from '../http/auth.js';
import { type CursorBinding, decodeCursor, encodeCursor } from '../http/cursor.js';
import type {
  InsightsQuery,
  PostInput,
  PostingPlanInput,
  PostPatch,
  PostQuery,
  ReminderQuery,
} from '../schemas/posting.js';
import type { Account } from './staff.js';

const WRITE_ATTEMPTS = 4;
/** Accounts one tick handles at once (each: one Query, then maybe one transaction). */
const TICK_CONCURRENCY = 16;

/** An account the caller may see: another tenant's, or for staff one they do not operate, is a 404. */
async function visibleAccount(deps: Deps, caller: Caller, accountId: string): Promise<Account> {
  const out = await deps.db.send(
    new GetCommand({ TableName: deps.tableName, Key: keys.account(caller.tenantId, accountId) }),
  );
  const account = out.Item as Account | undefined;
  if (!account || (caller.role === 'staff' && account.operatorStaffId !== caller.staffId)) {
    throw new NotFoundError('No such account.');
  }
  return account;
}

/** The stored plan, or the defaults with the tenant zone for an account that has none stored. */
async function planOf(
  deps: Deps,
  tenantId: string,
  accountId: string,
  consistent = false,
): Promise<{ plan: PostingPlan; record?: PlanRecord }> {
  const record = await readPlanRecord(deps, tenantId, accountId, consistent);
  if (record) return { plan: record.plan, record };
  return { plan: defaultPlan((await readSettings(deps, tenantId)).settings.timezone) };
}

export function planView(accountId: string, plan: PostingPlan, updatedAt: string | undefined) {
  return {
    accountId,
    timezone: plan.timezone,
    slots: plan.slots.map((s) => ({ start: s.start, end: s.end })),
    dailyMin: plan.dailyMin,
    dailyMax: plan.dailyMax,
    mix: { ...plan.mix },
    updatedAt: updatedAt ?? null,
  };
}

export async function getPostingPlan(deps: Deps, caller: Caller, accountId: string) {
  await visibleAccount(deps, caller, accountId);
  const { plan, record } = await planOf(deps, caller.tenantId, accountId);
  return planView(accountId, plan, record?.updatedAt);
}

/**
 * Changes an account's posting plan.
 *  1. Merge the input over the current plan (fields left out keep their value) and check the
 *     whole: slots end after they start and do not overlap, dailyMin ≤ dailyMax, mix sums to 1.
 *  2. Write the plan and rewrite its open-slot entries (old ones deleted, new ones put) in one
 *     unit of work, conditioned on the plan version read; a concurrent write makes it start over.
 */
export async function putPostingPlan(
  deps: Deps,
  caller: Caller,
  accountId: string,
  input: z.output<typeof PostingPlanInput>,
) {
  await visibleAccount(deps, caller, accountId);
  for (let attempt = 1; ; attempt++) {
    const { plan: current, record } = await planOf(deps, caller.tenantId, accountId, true);
    const next: PostingPlan = {
      timezone: input.timezone ?? current.timezone,
      slots: sortSlots(input.slots ?? current.slots),
      dailyMin: input.dailyMin ?? current.dailyMin,
      dailyMax: input.dailyMax ?? current.dailyMax,
      mix: input.mix ?? current.mix,
    };
    const problems = planProblems(next);
    if (problems.length) {
      throw new ValidationError('The posting plan is invalid with the current values it keeps.', problems);
    }
    const now = deps.now().toISOString();
    const uow = new UnitOfWork(deps.tableName);
    const written = stagePlanWrite(uow, {
      tenantId: caller.tenantId,
      accountId,
      plan: next,
      ...(record ? { previous: record } : {}),
      at: now,
    });
    try {
      await uow.commit(deps.db);
    } catch (error) {
      if (error instanceof PlanChangedError && attempt < WRITE_ATTEMPTS) continue;
      throw error;
    }
    if (written.staleKeys) await clearStaleKeys(deps, caller.tenantId, accountId, written.version);
    return planView(accountId, next, now);
  }
}

// ---- Posts -----------------------------------------------------------------------------------

export function postView(post: PostRecord, zone: string) {
  return {
    id: post.id,
    accountId: post.accountId,
    category: post.category,
    ...(post.plannedAt ? { plannedAt: post.plannedAt } : {}),
    ...(post.publishedAt ? { publishedAt: post.publishedAt } : {}),
    ...(post.text !== undefined ? { text: post.text } : {}),
    likes: post.likes,
    comments: post.comments,
    time: post.time,
    date: localDateOf(new Date(post.time), zone),
    createdAt: post.createdAt,
    updatedAt: post.updatedAt,
  };
}

const iso = (instant: string) => new Date(instant).toISOString();

/** Staff write posts only while they operate the account: checked inside the transaction. */
function stageOperatorCheck(uow: UnitOfWork, caller: Caller, accountId: string) {
  uow.check(
    keys.account(caller.tenantId, accountId),
    caller.role === 'staff'
      ? { expression: 'operatorStaffId = :me', values: { ':me': caller.staffId } }
      : { expression: 'attribute_exists(pk)' },
    () => new NotFoundError('No such account.'),
  );
}

/**
 * Logs a post of an account (staff: one they operate).
 *  1. Its time is `publishedAt ?? plannedAt`; it is indexed by account and time.
 *  2. The post is written with a check that the caller still may post for the account.
 */
export async function createPost(deps: Deps, caller: Caller, input: z.output<typeof PostInput>) {
  await visibleAccount(deps, caller, input.accountId);
  const { plan } = await planOf(deps, caller.tenantId, input.accountId);
  const now = deps.now().toISOString();
  const plannedAt = input.plannedAt ? iso(input.plannedAt) : undefined;
  const publishedAt = input.publishedAt ? iso(input.publishedAt) : undefined;
  const post: PostRecord = {
    tenantId: caller.tenantId,
    id: `p_${ulid()}`,
    accountId: input.accountId,
    category: input.category,
    ...(plannedAt ? { plannedAt } : {}),
    ...(publishedAt ? { publishedAt } : {}),
    ...(input.text !== undefined ? { text: input.text } : {}),
    likes: 0,
    comments: 0,
    time: (publishedAt ?? plannedAt)!,
    version: 1,
    createdAt: now,
    updatedAt: now,
  };
  const uow = new UnitOfWork(deps.tableName);
  uow.put(postItem(post), { expression: 'attribute_not_exists(pk)' });
  stageOperatorCheck(uow, caller, post.accountId);
  await uow.commit(deps.db);
  return postView(post, plan.timezone);
}

class PostChangedError extends ConflictError {
  constructor() {
    super('The post changed concurrently; retry.');
  }
}

/** Changes a post's times or engagement; null clears a time, but one of them must remain. */
export async function patchPost(deps: Deps, caller: Caller, id: string, patch: z.output<typeof PostPatch>) {
  for (let attempt = 1; ; attempt++) {
    const post = await getPost(deps, caller.tenantId, id, true);
    if (!post) throw new NotFoundError('No such post.');
    try {
      await visibleAccount(deps, caller, post.accountId);
    } catch (error) {
      throw error instanceof NotFoundError ? new NotFoundError('No such post.') : error;
    }
    const next: PostRecord = { ...post };
    for (const name of ['plannedAt', 'publishedAt'] as const) {
      const value = patch[name];
      if (value === null) delete next[name];
      else if (value !== undefined) next[name] = iso(value);
    }
    if (patch.likes !== undefined) next.likes = patch.likes;
    if (patch.comments !== undefined) next.comments = patch.comments;
    const time = next.publishedAt ?? next.plannedAt;
    if (!time) {
      throw new ValidationError('A post keeps plannedAt or publishedAt.', [
        { path: 'plannedAt', message: 'plannedAt or publishedAt is required' },
      ]);
    }
    const now = deps.now().toISOString();
    Object.assign(next, { time, version: post.version + 1, updatedAt: now });
    const uow = new UnitOfWork(deps.tableName);
    uow.put(
      postItem(next),
      { expression: 'version = :v', values: { ':v': post.version } },
      () => new PostChangedError(),
    );
    stageOperatorCheck(uow, caller, post.accountId);
    try {
      await uow.commit(deps.db);
    } catch (error) {
      if (error instanceof PostChangedError && attempt < WRITE_ATTEMPTS) continue;
      throw error;
    }
    const { plan } = await planOf(deps, caller.tenantId, post.accountId);
    return postView(next, plan.timezone);
  }
}

const LOCAL_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Lists an account's posts by time, from its index (never a scan). `from` and `to` are instants
 * or whole calendar days in the plan zone, both ends inclusive.
 */
export async function listPosts(deps: Deps, caller: Caller, query: z.output<typeof PostQuery>) {
  await visibleAccount(deps, caller, query.accountId);
  const { plan } = await planOf(deps, caller.tenantId, query.accountId);
  const zone = plan.timezone;
  const lower = query.from
    ? LOCAL_DATE.test(query.from)
      ? dayWindow(query.from, zone).start.toISOString()
      : iso(query.from)
    : '0';
  // `<time>#<id>`: a day's exclusive end sorts before its posts; `~` sorts after every id.
  const upper = query.to
    ? LOCAL_DATE.test(query.to)
      ? dayWindow(query.to, zone).end.toISOString()
      : `${iso(query.to)}#~`
    : '~';
  if (query.from && query.to && lower > upper) {
    throw new ValidationError('from is after to.', [{ path: 'query.from', message: 'must not be after to' }]);
  }
  const partition = keys.postsOfAccount(caller.tenantId, query.accountId);
  const page = await queryPage<PostRecord>(deps, {
    input: {
      TableName: deps.tableName,
      IndexName: GSI1,
      KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':pk': partition, ':from': lower, ':to': upper },
    },
    limit: query.limit,
    cursor: query.cursor,
    binding: {
      tenantId: caller.tenantId,
      caller: caller.staffId,
      filter: ['posts', query.accountId, query.from, query.to],
    },
    partition: (key) => key.gsi1pk === partition,
  });
  return { items: page.items.map((post) => postView(post, zone)), nextCursor: page.nextCursor };
}

// ---- Reminders --------------------------------------------------------------------------------

interface ReminderRecord {
  id: string;
  tenantId: string;
  accountId: string;
  date: string;
  slot: { start: string; end: string };
  dueAt: string;
  postsToday: number;
  dailyMin: number;
  dailyMax: number;
  suggestedCategory: Category;
}

function reminderView(r: ReminderRecord) {
  return {
    id: r.id,
    accountId: r.accountId,
    date: r.date,
    slot: { start: r.slot.start, end: r.slot.end },
    dueAt: r.dueAt,
    postsToday: r.postsToday,
    dailyMin: r.dailyMin,
    dailyMax: r.dailyMax,
    suggestedCategory: r.suggestedCategory,
  };
}

/** Accounts a staff member operates (the tenant's account list, read with a filter). */
async function operatedAccounts(deps: Deps, caller: Caller): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const account of queryAll<{ id: string }>(deps, {
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    FilterExpression: 'operatorStaffId = :me',
    ExpressionAttributeValues: {
      ':pk': keys.account(caller.tenantId, '').pk,
      ':prefix': 'ACCOUNT#',
      ':me': caller.staffId,
    },
    ProjectionExpression: 'id',
  })) {
    ids.add(account.id);
  }
  return ids;
}

/**
 * Lists reminders with `dueAt` at or after `since`, oldest first: of one account from its own
 * partition, otherwise from the tenant's due-time index (staff: the accounts they operate).
 */
export async function listReminders(deps: Deps, caller: Caller, query: z.output<typeof ReminderQuery>) {
  const since = query.since ? iso(query.since) : undefined;
  const binding: CursorBinding = {
    tenantId: caller.tenantId,
    caller: caller.staffId,
    filter: ['reminders', query.accountId ?? null, since ?? null],
  };
  if (query.accountId) {
    await visibleAccount(deps, caller, query.accountId);
    const partition = keys.reminder(caller.tenantId, query.accountId, '', '').pk;
    // Local dates trail or lead UTC by at most 14 hours: two days back bounds the key range.
    const fromDate = since ? addDays(since.slice(0, 10), -2) : '0';
    const page = await queryPage<ReminderRecord>(deps, {
      input: {
        TableName: deps.tableName,
        KeyConditionExpression: 'pk = :pk AND sk >= :from',
        ...(since ? { FilterExpression: 'dueAt >= :since' } : {}),
        ExpressionAttributeValues: {
          ':pk': partition,
          ':from': fromDate,
          ...(since ? { ':since': since } : {}),
        },
      },
      limit: query.limit,
      cursor: query.cursor,
      binding,
      partition: (key) => key.pk === partition,
    });
    return { items: page.items.map(reminderView), nextCursor: page.nextCursor };
  }
  const visible = caller.role === 'staff' ? await operatedAccounts(deps, caller) : undefined;
  if (visible?.size === 0) return { items: [], nextCursor: null };
  const partition = keys.remindersByDue(caller.tenantId);
  const page = await queryPage<ReminderRecord>(deps, {
    input: {
      TableName: deps.tableName,
      IndexName: GSI1,
      KeyConditionExpression: since ? 'gsi1pk = :pk AND gsi1sk >= :since' : 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': partition, ...(since ? { ':since': since } : {}) },
    },
    limit: query.limit,
    cursor: query.cursor,
    binding,
    partition: (key) => key.gsi1pk === partition,
    ...(visible ? { keep: (r: ReminderRecord) => visible.has(r.accountId) } : {}),
  });
  return { items: page.items.map(reminderView), nextCursor: page.nextCursor };
}

/**
 * One page of a Query, optionally filtered in memory, with a cursor bound to the caller and the
 * filter. The cursor is the key of the last item returned, so no item is skipped or repeated.
 */
async function queryPage<T>(
  deps: Deps,
  options: {
    input: QueryCommandInput;
    limit: number;
    cursor: string | undefined;
    binding: CursorBinding;
    partition: (key: Record<string, unknown>) => boolean;
    keep?: (item: T) => boolean;
  },
): Promise<{ items: T[]; nextCursor: string | null }> {
  const indexed = options.input.IndexName !== undefined;
  const keyOf = (item: Record<string, unknown>) =>
    indexed
      ? { pk: item.pk, sk: item.sk, gsi1pk: item.gsi1pk, gsi1sk: item.gsi1sk }
      : { pk: item.pk, sk: item.sk };
  let start = decodeCursor(options.cursor, options.binding, options.partition);
  const items: T[] = [];
  let lastKey: Record<string, unknown> | undefined;
  for (;;) {
    const page = await deps.db.send(
      new QueryCommand({
        ...options.input,
        ExclusiveStartKey: start,
        Limit: Math.min(1000, options.limit - items.length + 1),
      }),
    );
    for (const item of page.Items ?? []) {
      if (options.keep && !options.keep(item as T)) {
        continue;
      }
      if (items.length === options.limit) {
        return { items, nextCursor: encodeCursor(lastKey, options.binding) };
      }
      items.push(item as T);
      lastKey = keyOf(item);
    }
    if (!page.LastEvaluatedKey) return { items, nextCursor: null };
    start = page.LastEvaluatedKey;
  }
}

// ---- Insights ---------------------------------------------------------------------------------

/**
 * Posting insights of an account over the last `days` × 24 h: engagement by slot and category,
 * recommended slots and the actual mix against the plan (rules in `domain/posting.ts`).
 */
export async function getPostingInsights(deps: Deps, caller: Caller, query: z.output<typeof InsightsQuery>) {
  await visibleAccount(deps, caller, query.accountId);
  const { plan } = await planOf(deps, caller.tenantId, query.accountId);
  const to = deps.now();
  const from = new Date(to.getTime() - query.days * DAY_MS);
  // The window is (from, to]; the index range is [from, to).
  const posts = await postsBetween(
    deps,
    caller.tenantId,
    query.accountId,
    new Date(from.getTime() + 1),
    new Date(to.getTime() + 1),
  );
  const insights = insightsOf(
    plan,
    posts.map((p) => ({
      time: new Date(p.time),
      category: p.category,
      published: p.publishedAt !== undefined,
      likes: p.likes,
      comments: p.comments,
    })),
  );
  return {
    accountId: query.accountId,
    timezone: plan.timezone,
    from: from.toISOString(),
    to: to.toISOString(),
    days: query.days,
    ...insights,
  };
}

// ---- The reminder tick -------------------------------------------------------------------------

export interface TickResult {
  zones: number;
  /** Account slots open at the tick. */
  open: number;
  reminded: number;
  alreadyReminded: number;
  suppressed: number;
  failed: number;
}

class AlreadyReminded extends Error {}

/**
 * The reminder job, run every 5 minutes with the scheduled time as `now`.
 *  1. For every zone in use: the local time at `now` names a 5-minute bucket; its open-slot
 *     entries are the account slots that may be open (never a scan of accounts).
 *  2. Keep the slots open at `now` (`[start, end)` today, DST rules of the domain) that have no
 *     reminder yet for today (one BatchGet per 100).
 *  3. For each: read the account's posts of the last 7 local dates and today (one Query); no
 *     reminder when a post falls in the slot today or today's posts reached dailyMax.
 *  4. Otherwise put the reminder — conditionally, keyed by account, local date and slot start, so
 *     retries and overlapping runs create one — with a `PostingSlotDue` event, in one transaction.
 * A failed account does not stop the others; the run then fails so the scheduler retries it.
 */
export async function runPostingTick(deps: Pick<Deps, 'db' | 'tableName'>, now: Date): Promise<TickResult> {
  const result: TickResult = { zones: 0, open: 0, reminded: 0, alreadyReminded: 0, suppressed: 0, failed: 0 };
  const zones = await zonesInUse(deps);
  result.zones = zones.length;
  const due: { entry: SlotEntry; date: string; start: Date; end: Date }[] = [];
  await forEachLimited(zones, 4, async (zone) => {
    const bucket = bucketOf(localClock(now, zone).minutes);
    for (const entry of await slotEntriesInBucket(deps, zone, bucket)) {
      const open = openSlotAt(entry.slot, zone, now);
      if (open) due.push({ entry, ...open });
    }
  });
  result.open = due.length;
  const reminderKey = (d: (typeof due)[number]) =>
    keys.reminder(d.entry.tenantId, d.entry.accountId, d.date, d.entry.slot.start);
  const existing = await existingKeys(deps, due.map(reminderKey));
  const pending = due.filter((d) => !hasKey(existing, reminderKey(d)));
  result.alreadyReminded = due.length - pending.length;

  let firstError: unknown;
  await forEachLimited(pending, TICK_CONCURRENCY, async (d) => {
    try {
      result[await remindSlot(deps, now, d)]++;
    } catch (error) {
      result.failed++;
      firstError ??= error;
    }
  });
  if (firstError) throw firstError;
  return result;
}

async function remindSlot(
  deps: Pick<Deps, 'db' | 'tableName'>,
  now: Date,
  due: { entry: SlotEntry; date: string; start: Date; end: Date },
): Promise<'reminded' | 'suppressed' | 'alreadyReminded'> {
  const { entry, date } = due;
  const today = dayWindow(date, entry.zone);
  const weekStart = dayWindow(addDays(date, -7), entry.zone).start;
  const posts = (await postsBetween(deps, entry.tenantId, entry.accountId, weekStart, today.end)).map(
    (p) => ({
      time: new Date(p.time),
      category: p.category,
    }),
  );
  const decision = reminderDecision({ slot: due, day: today, dailyMax: entry.dailyMax, posts });
  if (decision.suppressed) return 'suppressed';

  const before = posts.filter((p) => p.time.getTime() < today.start.getTime());
  const reminder: ReminderRecord = {
    id: `r_${ulid()}`,
    tenantId: entry.tenantId,
    accountId: entry.accountId,
    date,
    slot: { start: entry.slot.start, end: entry.slot.end },
    dueAt: due.start.toISOString(),
    postsToday: decision.postsToday,
    dailyMin: entry.dailyMin,
    dailyMax: entry.dailyMax,
    suggestedCategory: suggestCategory(entry.mix, countByCategory(before)),
  };
  const uow = new UnitOfWork(deps.tableName);
  uow.put(
    {
      ...keys.reminder(entry.tenantId, entry.accountId, date, entry.slot.start),
      gsi1pk: keys.remindersByDue(entry.tenantId),
      gsi1sk: `${reminder.dueAt}#${reminder.id}`,
      ...reminder,
      zone: entry.zone,
      createdAt: now.toISOString(),
    },
    { expression: 'attribute_not_exists(pk)' },
    () => new AlreadyReminded(),
  );
  uow.emit(
    makeEvent(
      PostingSlotDue,
      entry.tenantId,
      {
        reminderId: reminder.id,
        accountId: reminder.accountId,
        date,
        slot: reminder.slot,
        dueAt: reminder.dueAt,
        suggestedCategory: reminder.suggestedCategory,
      },
      now,
    ),
  );
  try {
    await uow.commit(deps.db);
    return 'reminded';
  } catch (error) {
    if (error instanceof AlreadyReminded) return 'alreadyReminded';
    throw error;
  }
}

async function forEachLimited<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await run(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
