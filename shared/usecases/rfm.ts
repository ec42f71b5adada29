import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Deps } from '../app/deps.js';
import { forEachWithinTime } from '../app/work-pool.js';
import {
  cellId,
  contactFromItem,
  contactKeys,
  type HeldContact,
  releaseHolds,
  releaseStillHeld,
  type StoredContact,
  shardOf,
  stageHeldChange,
} from '../db/contact-store.js';
import { keys, PAID_SHARDS } from '../db/keys.js';
import { batchWriteAll, countAll, queryAll } from '../db/query.js';
import { GSI1 } from '../db/table-definition.js';
import { readSettings } from '../db/tenant-store.js';
import { UnitOfWork } from '../db/unit-of-work.js';
import {
  type Contact,
  type ContactRfm,
  funnelPlace,
  NONE,
  SEGMENTS,
  type Segment,
  STAGES,
} from '../domain/contact.js';
import { minorUnits } from '../domain/locale.js';
import {
  DAY_MS,
  lifecycleStage,
  type RfmContact,
  type RfmMeans,
  type RfmOrder,
  type RfmScore,
  scoreRfm,
  UNSCORED,
} from '../domain/rfm.js';
import { localDateOf } from '../domain/zone.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { SegmentChanged, StageChanged } from '../events/catalog.js';
import { makeEvent } from '../events/outbox.js';
import type { Caller } from '../http/auth.js';
import type { JobDefinition, JobRecord } from '../jobs/job.js';
import { enqueueJob } from '../jobs/store.js';
import { logger } from '../logger.js';
import type { Settings } from '../schemas/settings.js';

export const RFM_KIND = 'rfm';

export interface RfmParams {
  /** The run's instant (ms), kept across resumptions. */
  asOf: string;
  windowDays: number;
  /** Only facts recorded up to this instant count: the run's creation. */
  recordedBefore: string;
}

interface RfmCheckpoint {
  /** Position, in the plan's order, of the next contact to look at. */
  next: number;
  /** How many items hold the plan's order (`keys.rfmPlanPart`). */
  parts: number;
  /** The contacts the last committed step holds until their entries are written (`releaseHolds`). */
  held: string[];
  written: number;
  events: number;
}

/** How a run cuts its work (`rfmJob` runs with `DEFAULT_TUNING`). */
export interface RfmTuning {
  /** Contacts one step reads and (where changed) writes. */
  chunk: number;
  /** Held contacts that accumulate before they are released together (`afterCommit`). */
  releaseAt: number;
  /** Chunks read ahead of the step that needs them (`readAhead`). */
  readAhead: number;
}

const DEFAULT_TUNING: RfmTuning = { chunk: 50, releaseAt: 200, readAhead: 4 };
const READ_CONCURRENCY = 16;
/** Transactions of a step in flight at once (see `UnitOfWork.independentGroups`). */
const COMMIT_CONCURRENCY = 4;
/** Contact ids per stored part of a plan's order (≈ 30 bytes each, well under the 400 KB item limit). */
const PLAN_PART_IDS = 5_000;
/** A stored plan outlives any run (the sweeper resumes a run within minutes). */
const PLAN_TTL_SECONDS = 7 * 24 * 3600;

interface Plan {
  /** Every contact the run must look at, in the order it does (`workOrder`). */
  work: string[];
  /** The tenant's settings, read once per run (its zone, currency and lifecycle rules). */
  settings: Settings;
  scores: Map<string, RfmScore>;
  scored: number;
  means: RfmMeans;
  counts: Record<Segment, number>;
}

interface OrderCopy {
  contactId: string;
  orderId: string;
  totalMinor: number;
  paidAt: string;
  recordedAt: string;
  refunds: { id: string; amountMinor: number; refundedAt: string; recordedAt?: string }[];
  contactErased?: boolean;
}

/** An order as the run sees it: only refunds recorded before the run count. */
function toRfmOrder(copy: OrderCopy, recordedBefore: string): RfmOrder {
  return {
    paidAtMs: Date.parse(copy.paidAt),
    totalMinor: copy.totalMinor,
    refunds: copy.refunds
      .filter((r) => (r.recordedAt ?? copy.recordedAt) <= recordedBefore)
      .map((r) => ({ amountMinor: r.amountMinor, refundedAtMs: Date.parse(r.refundedAt) })),
  };
}

interface Scores {
  /** Every contact the run must look at, in no order. */
  ids: Set<string>;
  scores: Plan['scores'];
  scored: number;
  means: RfmMeans;
  counts: Record<Segment, number>;
}

/**
 * Scores the tenant: the same data and asOf give the same scores, so a resumed run computes them
 * again.
 *  1. Read the orders paid in the window through the time-ordered index (per shard, never a scan
 *     of all orders), keep those recorded before the run, and score every contact that has any
 *     (the pure core: scores, segments, means).
 *  2. Add the contacts that hold a segment now (they may fall to "none") and the loyal ones
 *     (loyalty decays): listed from their indexes.
 */
async function score(job: JobRecord<RfmParams>, deps: Deps): Promise<Scores> {
  const { asOf, windowDays, recordedBefore } = job.params;
  const asOfMs = Date.parse(asOf);
  const from = new Date(asOfMs - windowDays * DAY_MS).toISOString();
  const byContact = new Map<string, RfmOrder[]>();
  await Promise.all(
    Array.from({ length: PAID_SHARDS }, async (_, shard) => {
      for await (const item of queryAll(deps, {
        IndexName: GSI1,
        // (from, asOf]: sort keys are `<paidAt>#<orderId>`, so `>` from…`#~` and `<=` asOf…`#~`.
        KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': keys.paidShard(job.tenantId, shard),
          ':from': `${from}#~`,
          ':to': `${asOf}#~`,
        },
        ProjectionExpression: 'contactId, orderId, totalMinor, paidAt, recordedAt, refunds, contactErased',
      })) {
        const copy = item as unknown as OrderCopy;
        if (copy.contactErased || copy.recordedAt > recordedBefore) continue;
        const list = byContact.get(copy.contactId) ?? [];
        list.push(toRfmOrder(copy, recordedBefore));
        byContact.set(copy.contactId, list);
      }
    }),
  );
  const facts: RfmContact[] = [...byContact.entries()].map(([contactId, orders]) => ({ contactId, orders }));
  const run = scoreRfm(facts, { asOf: asOfMs, windowDays });
  const ids = new Set(byContact.keys());
  const indexes = [...SEGMENTS.map((s) => contactKeys.index(job.tenantId, 'segment', s))];
  indexes.push(contactKeys.index(job.tenantId, 'stage', 'loyal'));
  for (const pk of indexes) for (const id of await listIndex(deps, pk)) ids.add(id);
  return {
    ids,
    scores: new Map(run.contacts.map(({ contactId, ...score }) => [contactId, score])),
    scored: run.scored,
    means: run.means,
    counts: run.counts,
  };
}

/**
 * The order a run looks at its contacts in: by funnel shard, then the day they were added (from
 * the `all` list index, whose sort keys begin with it), then id. Contacts of one step then share
 * their funnel cells, whose moves merge into one write per cell. `addedAt` can move (an earlier
 * order of a commerce contact), so the order is computed once, when the run begins, and stored.
 */
async function workOrder(deps: Deps, tenantId: string, ids: ReadonlySet<string>): Promise<string[]> {
  const added = new Map<string, string>();
  for await (const item of queryAll(deps, {
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': contactKeys.index(tenantId, 'all', '*') },
    ProjectionExpression: 'contactId, sk',
  })) {
    const id = item.contactId as string;
    if (ids.has(id)) added.set(id, String(item.sk).slice(0, 10));
  }
  const key = (id: string) => `${shardOf(id)}|${added.get(id) ?? ''}|${id}`;
  return [...ids]
    .map((id) => [key(id), id] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, id]) => id);
}

/** Stores a run's order of work in parts (idempotent puts); returns how many parts. */
async function storeOrder(deps: Deps, job: JobRecord<RfmParams>, work: readonly string[]): Promise<number> {
  const ttl = Math.floor(deps.now().getTime() / 1000) + PLAN_TTL_SECONDS;
  const parts: Record<string, unknown>[] = [];
  for (let i = 0; i < work.length; i += PLAN_PART_IDS) {
    const part = parts.length;
    parts.push({
      ...keys.rfmPlanPart(job.tenantId, job.jobId, part),
      ids: work.slice(i, i + PLAN_PART_IDS),
      ttl,
    });
  }
  await batchWriteAll(
    deps,
    parts.map((Item) => ({ PutRequest: { Item } })),
  );
  return parts.length;
}

async function readOrder(deps: Deps, job: JobRecord<RfmParams>, parts: number): Promise<string[]> {
  const work: string[] = [];
  for await (const item of queryAll(deps, {
    KeyConditionExpression: 'pk = :pk AND sk < :end',
    ExpressionAttributeValues: {
      ':pk': keys.rfmPlanPart(job.tenantId, job.jobId, 0).pk,
      ':end': keys.rfmPlanPart(job.tenantId, job.jobId, parts).sk,
    },
    ConsistentRead: true,
  })) {
    work.push(...(item.ids as string[]));
  }
  return work;
}

/**
 * What this process keeps of a run between its steps. It goes with the process: a resumed run
 * scores again, reads its stored order, and releases every id its checkpoint lists (`heldNow`).
 */
interface RunState {
  plan: Plan;
  /** Reads started ahead, by the position of their chunk (`readAhead`). */
  ahead: Map<number, Promise<ContactFacts[] | undefined>>;
  /** What is held after the commit of step `step`, with the stored profiles (`heldNow`). */
  holding?: { step: number; held: HeldContact[] };
  /** What step `step` staged, kept until its commit (`afterCommit`). */
  staged?: { step: number; held: HeldContact[] };
  /** The release `afterCommit` left running (or that failed). */
  release?: Release;
}
const runs = new Map<string, RunState>();

/** This process's state of a run: kept, or built again (scores and the stored order). */
async function runState(job: JobRecord<RfmParams, RfmCheckpoint>, deps: Deps): Promise<RunState> {
  const kept = runs.get(job.jobId);
  if (kept) return kept;
  const { ids: _ids, ...scores } = await score(job, deps);
  return keepRun(job, deps, scores, await readOrder(deps, job, job.checkpoint?.parts ?? 0));
}

/** A run's state from its scores and order of work, with the settings it runs by. */
async function keepRun(
  job: JobRecord<RfmParams>,
  deps: Deps,
  scores: Omit<Scores, 'ids'>,
  work: string[],
): Promise<RunState> {
  const plan: Plan = { ...scores, work, settings: (await readSettings(deps, job.tenantId)).settings };
  const run: RunState = { plan, ahead: new Map() };
  runs.set(job.jobId, run);
  return run;
}

async function listIndex(deps: Deps, pk: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const item of queryAll(deps, {
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': pk },
    ProjectionExpression: 'contactId',
  })) {
    ids.push(item.contactId as string);
  }
  return ids;
}

const countIndex = (deps: Deps, pk: string) =>
  countAll(deps, {
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': pk },
    ConsistentRead: true,
  });

interface ContactFacts {
  contact: StoredContact;
  orders: RfmOrder[];
}

/**
 * One contact's partition in one Query: its profile and its order copies (only those recorded
 * before the run count). Undefined for an erased or missing contact.
 */
async function readContact(
  deps: Deps,
  tenantId: string,
  contactId: string,
  recordedBefore: string,
): Promise<ContactFacts | undefined> {
  let contact: StoredContact | undefined;
  const orders: RfmOrder[] = [];
  for await (const item of queryAll(deps, {
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': contactKeys.profile(tenantId, contactId).pk },
  })) {
    if (item.sk === 'PROFILE') contact = contactFromItem(item);
    else if (String(item.sk).startsWith('O#')) {
      const copy = item as unknown as OrderCopy;
      if (copy.recordedAt <= recordedBefore) orders.push(toRfmOrder(copy, recordedBefore));
    }
  }
  return contact && { contact, orders };
}

/** The partitions of a chunk's contacts, in id order, `READ_CONCURRENCY` Queries in flight. */
async function readChunk(deps: Deps, job: JobRecord<RfmParams>, ids: readonly string[]) {
  const read = new Map<string, ContactFacts>();
  await forEachWithinTime(ids, READ_CONCURRENCY, async (id) => {
    const facts = await readContact(deps, job.tenantId, id, job.params.recordedBefore);
    if (facts) read.set(id, facts);
  });
  return ids.map((id) => read.get(id)).filter((f): f is ContactFacts => f !== undefined);
}

/**
 * Reads ahead: the next `readAhead` chunks' reads, one chunk after the other, started while the
 * runner commits the current step and releases held contacts (batch writes, which DynamoDB serves
 * alongside reads far better than alongside transactions). The chunks hold different contacts. A
 * read can be old (a warm process resuming the run after a pause): a contact changed since fails its
 * step's version condition and the step runs again with fresh reads, and a contact read as held is
 * read again before it is released. Each read is used once, by the step that starts at its position.
 */
function chunkReads(
  deps: Deps,
  job: JobRecord<RfmParams>,
  run: RunState,
  next: number,
  ids: readonly string[],
) {
  const reads = run.ahead.get(next);
  run.ahead.delete(next);
  return reads ? reads.then((facts) => facts ?? readChunk(deps, job, ids)) : readChunk(deps, job, ids);
}

/** Starts the reads of the chunks after position `next` that are not read yet, each after the one before. */
function readAhead(
  deps: Deps,
  job: JobRecord<RfmParams>,
  { ahead, plan }: RunState,
  next: number,
  { chunk, readAhead: depth }: RfmTuning,
) {
  const { work } = plan;
  for (const position of ahead.keys()) if (position < next) ahead.delete(position);
  let before: Promise<unknown> = Promise.resolve();
  for (let i = 0, at = next; i < depth && at < work.length; i++, at += chunk) {
    const started = ahead.get(at);
    if (started) {
      before = started;
      continue;
    }
    const ids = work.slice(at, at + chunk);
    // A failed read is read again by the step that needs it.
    const reads = before.then(() => readChunk(deps, job, ids)).catch(() => undefined);
    ahead.set(at, reads);
    before = reads;
  }
}

/**
 * A release of held contacts `afterCommit` left running: its ids stay in the checkpoints (still
 * held, as far as a resumed run knows) until it has landed. `done` never rejects: it tells whether
 * the release landed. A failed one is kept until a step has released the checkpoint's ids instead.
 */
interface Release {
  ids: string[];
  failed: boolean;
  done: Promise<boolean>;
}

/**
 * What is held after the last committed step. Held contacts are released together once
 * `releaseAt` of them have accumulated (fewer, fuller batch writes; a hold lasts a few steps, well
 * within what writers wait). Known to this process, or — a new process, a step whose number does
 * not match (an `afterCommit` that did not finish), or a release that failed — read back and
 * released: every id the checkpoint lists, which covers any release started after it or still
 * running when it was made.
 */
async function heldNow(
  deps: Deps,
  job: JobRecord<RfmParams, RfmCheckpoint> & { checkpoint: RfmCheckpoint },
  run: RunState,
): Promise<HeldContact[]> {
  if (run.holding?.step === job.step && !run.release?.failed) return run.holding.held;
  await run.release?.done;
  await releaseStillHeld(deps, job.tenantId, job.checkpoint.held);
  run.release = undefined;
  run.holding = { step: job.step, held: [] };
  return [];
}

/**
 * Where a changed contact goes when a step packs its transactions: by the funnel cells it leaves
 * and enters (shard, day and values: the month cell follows from the day), so contacts sharing
 * cells commit together.
 */
function packingOrder(before: Contact, after: Contact, timeZone: string): string {
  const [from, to] = [funnelPlace(before, timeZone), funnelPlace(after, timeZone)];
  return `${shardOf(before.id)}|${from.day}|${cellId(from)}|${cellId(to)}|${before.id}`;
}

const sameRfm = (a: ContactRfm | undefined, b: ContactRfm) =>
  a !== undefined &&
  a.r === b.r &&
  a.f === b.f &&
  a.m === b.m &&
  a.segment === b.segment &&
  a.frequency === b.frequency &&
  a.monetaryMinor === b.monetaryMinor;

/**
 * The RFM and lifecycle run of a tenant at `asOf`, in bounded chunks.
 *
 * Primary course:
 *  1. Begin: score everyone with orders in the window and list who else must be looked at
 *     (`score`); order them by funnel shard and added day (`workOrder`) and store that order.
 *  2. Each step takes the next contacts in that order, reads their profiles and orders, and
 *     computes the rfm and the stage at asOf; only a contact whose r, f, m, segment, frequency,
 *     monetary or stage changed is written. Its profile (holding the contact, `stageHeldChange`),
 *     funnel cells and `SegmentChanged` / `StageChanged` events go in one atomic group each,
 *     committed with the checkpoint; then, once enough are held, their list and search entries and
 *     the release of the holds are batch writes behind the next steps (`afterCommit`, or the next
 *     step after a crash).
 *     A rerun of the same asOf therefore writes nothing; a resumed run skips what is done.
 *  3. A last step of its own, once every contact write is done, records the counts and means
 *     `GET /v1/segments` serves.
 */
export const rfmJob = /* @__PURE__ */ rfmJobWith(DEFAULT_TUNING);

/** The run with its work cut another way (tests reach every path on a few contacts with small ones). */
export function rfmJobWith(tuning: RfmTuning): JobDefinition<RfmParams, RfmCheckpoint, Deps> {
  return {
    kind: RFM_KIND,

    async begin(job, deps) {
      const { ids, ...scores } = await score(job, deps);
      const work = await workOrder(deps, job.tenantId, ids);
      const parts = await storeOrder(deps, job, work);
      await keepRun(job, deps, scores, work);
      return { checkpoint: { next: 0, parts, held: [], written: 0, events: 0 }, total: work.length };
    },

    async step(job, deps, uow) {
      const run = await runState(job, deps);
      const p = run.plan;
      const cp = job.checkpoint;
      const stillHeld = await heldNow(deps, job, run);
      const { asOf, windowDays } = job.params;
      const total = Math.max(job.progress.total, p.work.length);
      if (cp.next >= p.work.length) {
        // A step of its own: the stage counts read the indexes, so every contact write is done.
        if ((await run.release?.done) === false) await releaseStillHeld(deps, job.tenantId, cp.held);
        await releaseHolds(deps, stillHeld);
        await stageSummary(uow, job, deps, p, p.settings.currency, windowDays);
        runs.delete(job.jobId);
        return {
          checkpoint: { ...cp, held: [] },
          progress: { done: p.work.length, total },
          finished: true,
          result: { scored: p.scored, written: cp.written, events: cp.events },
        };
      }
      const ids = p.work.slice(cp.next, cp.next + tuning.chunk);
      const next = cp.next + ids.length;
      const asOfMs = Date.parse(asOf);
      const chunk = await chunkReads(deps, job, run, cp.next, ids);
      readAhead(deps, job, run, next, tuning);

      // A contact still held (this step ran before and some of its transactions committed, or a run
      // that failed left it) is released first: its change is committed, only its entries are due.
      // It is read again for that, consistently: a read ahead may be older than its release.
      const stale = chunk.filter((f) => f.contact.held !== undefined).map((f) => f.contact.id);
      if (stale.length) await releaseStillHeld(deps, job.tenantId, stale);

      // Each changed contact is a group of its own, conditioned on its version: the groups may commit
      // side by side, and the checkpoint, in the last transaction, only after all of them.
      uow.independentGroups(COMMIT_CONCURRENCY);
      let written = 0;
      let events = 0;
      const now = deps.now().toISOString();
      const { timezone, lifecycle } = p.settings;
      const changes: { before: Contact; after: Contact; order: string }[] = [];
      for (const { contact: read, orders } of chunk) {
        const { held: _held, ...before } = read;
        // A contact scored before and without orders in the window now falls to "none".
        const score = p.scores.get(before.id) ?? (before.rfm ? UNSCORED : undefined);
        const rfm: ContactRfm | undefined = score && { ...score, computedAt: asOf };
        const stage = lifecycleStage(orders, asOfMs, lifecycle);
        const rfmChanged = rfm !== undefined && !sameRfm(before.rfm, rfm);
        if (!rfmChanged && stage === before.stage) continue;
        const after: Contact = { ...before, stage, ...(rfm && rfmChanged ? { rfm } : {}) };
        changes.push({ before, after, order: packingOrder(before, after, timezone) });
      }
      // Contacts that move between the same funnel cells go into the same transaction, where their
      // moves on a cell merge into one write (the cells are shared; the profiles are not).
      changes.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
      const held: HeldContact[] = [];
      for (const { before, after } of changes) {
        const { stage, rfm } = after;
        uow.atomic();
        held.push(stageHeldChange(uow, { before, after, timeZone: timezone, at: now, job: job.jobId }));
        written++;
        const fromSegment = before.rfm?.segment ?? null;
        if (rfm && rfm.segment !== fromSegment) {
          uow.emit(
            makeEvent(SegmentChanged, job.tenantId, {
              contactId: before.id,
              from: fromSegment,
              to: rfm.segment,
              asOf,
            }),
          );
          events++;
        }
        if (stage !== before.stage) {
          uow.emit(
            makeEvent(StageChanged, job.tenantId, {
              contactId: before.id,
              from: before.stage,
              to: stage,
              asOf,
            }),
          );
          events++;
        }
      }
      const holds = [...stillHeld, ...held];
      run.staged = { step: job.step + 1, held: holds };

      return {
        checkpoint: {
          next,
          parts: cp.parts,
          held: [...(run.release?.ids ?? []), ...holds.map((c) => c.id)],
          written: cp.written + written,
          events: cp.events + events,
        },
        progress: { done: next, total },
        finished: false,
      };
    },

    /**
     * A failed run leaves no contact held: those its checkpoint lists, and those its failing step may
     * have committed, are read and released if this job still holds them.
     */
    async onFailure(job, deps) {
      const staged = runs.get(job.jobId)?.staged?.held ?? [];
      const ids = new Set([...job.checkpoint.held, ...staged.map((c) => c.id)]);
      await releaseStillHeld(deps, job.tenantId, [...ids], job.jobId);
      runs.delete(job.jobId);
    },

    /**
     * Releases the held contacts once enough have accumulated, in the background: the batch writes
     * overlap the next steps' reads and commits. One release runs at a time (a release point waits
     * for the one before); the summary waits for it (it counts the entries), and the runner before
     * it stops. Before a pause the release is written at once. Until a release has landed, the
     * checkpoints list its ids; if it fails, it is logged and this process forgets what it holds:
     * the next step reads back and releases every id its checkpoint lists.
     */
    async afterCommit(job, deps, { pausing }) {
      const run = runs.get(job.jobId);
      const committed = run?.staged;
      if (!run || committed?.step !== job.step) return undefined;
      run.staged = undefined;
      const due = committed.held.length >= tuning.releaseAt || pausing;
      const previous = run.release;
      if (due && previous) await previous.done;
      if (previous?.failed) {
        run.holding = undefined;
        return undefined;
      }
      if (!due) {
        run.holding = committed;
        return undefined;
      }
      run.holding = { step: job.step, held: [] };
      const release: Release = {
        ids: committed.held.map((c) => c.id),
        failed: false,
        done: Promise.resolve(true),
      };
      release.done = releaseHolds(deps, committed.held).then(
        () => {
          if (run.release === release) run.release = undefined;
          return true;
        },
        (error: unknown) => {
          release.failed = true;
          logger.warn('release of held contacts failed; the next step releases them', {
            jobId: job.jobId,
            errorName: (error as Error).name,
          });
          return false;
        },
      );
      run.release = release;
      if (pausing) {
        await release.done;
        return undefined;
      }
      return { background: release.done.then(() => undefined) };
    },
  };
}

async function stageSummary(
  uow: UnitOfWork,
  job: JobRecord<RfmParams>,
  deps: Deps,
  p: Plan,
  currency: string,
  windowDays: number,
) {
  const all = await countIndex(deps, contactKeys.index(job.tenantId, 'all', '*'));
  const stages = Object.fromEntries(
    await Promise.all(
      STAGES.map(async (s) => [s, await countIndex(deps, contactKeys.index(job.tenantId, 'stage', s))]),
    ),
  ) as Record<string, number>;
  const scale = 10 ** minorUnits(currency);
  const rfm: Record<string, number> = {};
  for (const s of SEGMENTS) rfm[s] = p.counts[s] ?? 0;
  rfm[NONE] = Math.max(0, all - p.scored);
  uow.atomic();
  uow.put({
    ...keys.segments(job.tenantId),
    asOf: job.params.asOf,
    windowDays,
    means: {
      recencyDays: p.means.recencyDays,
      frequency: p.means.frequency,
      monetary: p.means.monetary === null ? null : p.means.monetary / scale,
    },
    rfm,
    stages,
    jobId: job.jobId,
  });
}

/**
 * Requests a run (`POST /v1/jobs/rfm`). An `asOf` in the future is 400; one earlier than the
 * latest succeeded run's is 409. Runs of a tenant queue one behind the other.
 */
export async function requestRfmRun(deps: Deps, caller: Caller, asOfInput?: string) {
  const now = deps.now();
  const asOf = asOfInput ? new Date(asOfInput) : now;
  if (asOf.getTime() > now.getTime()) {
    throw new ValidationError('asOf is in the future.', [
      { path: 'asOf', message: 'must not be in the future' },
    ]);
  }
  const summary = await readSegments(deps, caller.tenantId);
  if (summary && asOf.toISOString() < summary.asOf) {
    throw new ConflictError(`asOf is earlier than the latest run's (${summary.asOf}).`);
  }
  const settings = await readSettings(deps, caller.tenantId);
  const uow = new UnitOfWork(deps.tableName);
  const local = localDateOf(now, settings.settings.timezone);
  uow.put({ ...keys.rfmRunMarker(caller.tenantId, local), tenantId: caller.tenantId });
  const job = enqueueJob<RfmParams>(uow, deps, {
    tenantId: caller.tenantId,
    kind: RFM_KIND,
    queue: RFM_KIND,
    params: {
      asOf: asOf.toISOString(),
      windowDays: settings.settings.rfm.windowDays,
      recordedBefore: now.toISOString(),
    },
  });
  await uow.commit(deps.db);
  return { jobId: job.jobId };
}

interface SegmentsSummary {
  asOf: string;
  windowDays: number;
  means: { recencyDays: number | null; frequency: number | null; monetary: number | null };
  rfm: Record<string, number>;
  stages: Record<string, number>;
}

async function readSegments(deps: Deps, tenantId: string): Promise<SegmentsSummary | undefined> {
  const out = await deps.db.send(
    new GetCommand({ TableName: deps.tableName, Key: keys.segments(tenantId), ConsistentRead: true }),
  );
  return out.Item as SegmentsSummary | undefined;
}

/** `GET /v1/segments`: the latest run's counts and means (staff: over their own contacts). */
export async function getSegments(deps: Deps, caller: Caller) {
  const summary = await readSegments(deps, caller.tenantId);
  if (!summary) throw new NotFoundError('No segmentation run has finished yet.');
  if (caller.role === 'admin') {
    return {
      asOf: summary.asOf,
      windowDays: summary.windowDays,
      means: summary.means,
      rfm: summary.rfm,
      stages: summary.stages,
    };
  }
  // Staff: counts over their own contacts, from the owner index (means stay the tenant's).
  const rfm: Record<string, number> = Object.fromEntries([...SEGMENTS, NONE].map((s) => [s, 0]));
  const stages: Record<string, number> = Object.fromEntries(STAGES.map((s) => [s, 0]));
  for await (const item of queryAll(deps, {
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': contactKeys.index(caller.tenantId, 'owner', caller.staffId) },
    ProjectionExpression: 'f',
  })) {
    const f = item.f as { segment: string; stage: string };
    rfm[f.segment] = (rfm[f.segment] ?? 0) + 1;
    stages[f.stage] = (stages[f.stage] ?? 0) + 1;
  }
  return { asOf: summary.asOf, windowDays: summary.windowDays, means: summary.means, rfm, stages };
}
