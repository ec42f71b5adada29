import { setTimeout as sleep } from 'node:timers/promises';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Deps } from '../app/deps.js';
import { keys } from '../db/keys.js';
import { GSI1 } from '../db/table-definition.js';
import { UnitOfWork } from '../db/unit-of-work.js';
import { ConflictError, DomainError, isTransientAwsError, ServiceUnavailableError } from '../errors.js';
import { JobQueued } from '../events/catalog.js';
import { makeEvent } from '../events/outbox.js';
import { logger } from '../logger.js';
import type { JobRecord, JobRegistry } from './job.js';
import { getJob } from './store.js';

export interface RunOptions {
  /** Who holds the lease (the Lambda request id, or a process-unique id). */
  owner: string;
  /** How long a lease lasts without a checkpoint; a crashed run is resumable after it. */
  leaseMs: number;
  /** Time left to this invocation; the runner yields before it runs out. */
  remainingMs: () => number;
  /** Time kept in reserve for one more step and the hand-over. */
  reserveMs: number;
}

export type RunOutcome =
  | 'succeeded'
  | 'failed'
  | 'yielded'
  | 'busy'
  | 'waiting'
  | 'not_found'
  | 'finished_already';

class LeaseLost extends Error {}

const MAX_STEP_CONFLICTS = 5;
/** A busy step (503: throttled, or a contact held) is tried again this often, pausing longer each time. */
const MAX_STEP_BUSY = 5;
const BUSY_PAUSE_MS = 200;

/**
 * Runs one job under a lease, chunk by chunk, until it finishes or the invocation's time is short.
 *
 * Primary course:
 *  1. Only the oldest unfinished job of its tenant queue may run; the others wait.
 *  2. Take the lease with a conditional update (free, or expired): two concurrent starts → one runs.
 *  3. Begin once (first checkpoint), then repeat: run a step, commit its writes together with the
 *     next checkpoint, conditioned on still holding the lease at the expected step — so a step is
 *     committed at most once, and a resumed run continues from the last committed checkpoint.
 *  4. On finishing, mark the job, leave the queue and wake the next job of the queue; on a short
 *     deadline, release the lease and wake itself (a new invocation continues).
 */
export async function runJob<D extends Deps>(
  deps: D,
  registry: JobRegistry<D>,
  ref: { tenantId: string; jobId: string },
  options: RunOptions,
): Promise<RunOutcome> {
  let job = await getJob(deps, ref.tenantId, ref.jobId);
  if (!job) return 'not_found';
  if (job.status === 'succeeded' || job.status === 'failed') return 'finished_already';
  const queued = await queueHead(deps, job, 1);
  if (queued[0] !== job.jobId) return 'waiting';
  const definition = registry[job.kind];
  if (!definition) throw new Error(`No job definition for kind ${job.kind}`);

  if (!(await acquireLease(deps, job, options))) return 'busy';
  job = (await getJob(deps, ref.tenantId, ref.jobId)) as JobRecord;

  // What afterCommit left running: waited for before the finishing commit and on every way out.
  let background: Promise<void> | undefined;
  const settle = async (failOnError: boolean) => {
    const work = background;
    background = undefined;
    if (failOnError) await work;
    else await work?.catch(() => undefined);
  };
  try {
    if (job.checkpoint === undefined) {
      const begun = await definition.begin(job, deps);
      await updateUnderLease(deps, job, options, {
        expression: 'SET checkpoint = :c, progress = :p, leaseUntil = :until',
        values: { ':c': begun.checkpoint, ':p': { done: 0, total: begun.total } },
      });
      job = { ...job, checkpoint: begun.checkpoint, progress: { done: 0, total: begun.total } };
    }
    let conflicts = 0;
    let busy = 0;
    // Whether to yield before the next step: decided once per commit (and before the first step),
    // and told to afterCommit, so a job that keeps work back until a pause is never surprised by
    // one. A step retried after a conflict or a busy moment runs within the reserve.
    let pausing = options.remainingMs() < options.reserveMs;
    while (true) {
      if (pausing) {
        await settle(true);
        await yieldJob(deps, job, options);
        return 'yielded';
      }
      const uow = new UnitOfWork(deps.tableName);
      let outcome: Awaited<ReturnType<typeof definition.step>>;
      try {
        outcome = await definition.step(job as JobRecord & { checkpoint: unknown }, deps, uow);
      } catch (error) {
        // Something the step must write is busy for a moment (a contact a run holds): try again.
        if (error instanceof ServiceUnavailableError && ++busy <= MAX_STEP_BUSY) {
          await sleep(BUSY_PAUSE_MS * busy);
          continue;
        }
        throw error;
      }
      const now = deps.now();
      const finishing = outcome.finished;
      uow.update({
        key: keys.job(job.tenantId, job.jobId),
        expression: finishing
          ? 'SET checkpoint = :c, step = :next, progress = :p, #status = :done, finishedAt = :now, #result = :r REMOVE gsi1pk, gsi1sk, leaseOwner, leaseUntil'
          : 'SET checkpoint = :c, step = :next, progress = :p, leaseUntil = :until',
        names: finishing ? { '#status': 'status', '#result': 'result' } : {},
        values: {
          ':c': outcome.checkpoint,
          ':next': job.step + 1,
          ':p': outcome.progress,
          ...(finishing
            ? { ':done': 'succeeded', ':now': now.toISOString(), ':r': outcome.result ?? {} }
            : { ':until': now.getTime() + options.leaseMs }),
        },
        condition: {
          expression: 'leaseOwner = :me AND step = :step',
          values: { ':me': options.owner, ':step': job.step },
        },
        onConditionFailed: () => new LeaseLost(),
      });
      if (finishing) {
        uow.delete(keys.activeJob(job.tenantId, job.jobId));
        await wakeNext(deps, job, uow);
      }
      // A job is not marked done while work of its own is still running.
      if (finishing) await settle(true);
      try {
        await uow.commit(deps.db);
      } catch (error) {
        // The data the step read changed under it: run the step again from the same checkpoint.
        if (error instanceof ConflictError && ++conflicts <= MAX_STEP_CONFLICTS) continue;
        throw error;
      }
      conflicts = 0;
      busy = 0;
      job = { ...job, checkpoint: outcome.checkpoint, step: job.step + 1, progress: outcome.progress };
      if (finishing) return 'succeeded';
      pausing = options.remainingMs() < options.reserveMs;
      const after = await definition.afterCommit?.(job as JobRecord & { checkpoint: unknown }, deps, {
        pausing,
      });
      if (after?.background) {
        background = background ? settledAll([background, after.background]) : after.background;
        // Awaited later: a failure meanwhile is not an unhandled rejection.
        background.catch(() => undefined);
      }
    }
  } catch (error) {
    await settle(false);
    if (error instanceof LeaseLost) return 'busy';
    // The lease expires and the sweeper resumes the job.
    if (isTransientAwsError(error) || error instanceof ServiceUnavailableError) throw error;
    logger.error('job failed', { jobId: job.jobId, kind: job.kind, errorName: (error as Error).name });
    const failed = job as JobRecord & { checkpoint: unknown };
    if (definition.onFailure && failed.checkpoint !== undefined) {
      try {
        await definition.onFailure(failed, deps);
      } catch (cleanUp) {
        logger.error('job clean-up failed', {
          jobId: failed.jobId,
          kind: failed.kind,
          errorName: (cleanUp as Error).name,
        });
      }
    }
    await failJob(deps, job, options, error);
    return 'failed';
  }
}

/** Settles when all of `work` has settled; rejects then with the first failure, if any. */
async function settledAll(work: Promise<void>[]): Promise<void> {
  const failed = (await Promise.allSettled(work)).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

async function acquireLease(deps: Deps, job: JobRecord, options: RunOptions): Promise<boolean> {
  const now = deps.now();
  try {
    await deps.db.send(
      new UpdateCommand({
        TableName: deps.tableName,
        Key: keys.job(job.tenantId, job.jobId),
        UpdateExpression:
          'SET leaseOwner = :me, leaseUntil = :until, #status = :running, startedAt = if_not_exists(startedAt, :now)',
        ConditionExpression:
          '#status IN (:queued, :running) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :nowMs)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':me': options.owner,
          ':until': now.getTime() + options.leaseMs,
          ':running': 'running',
          ':queued': 'queued',
          ':now': now.toISOString(),
          ':nowMs': now.getTime(),
        },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

async function updateUnderLease(
  deps: Deps,
  job: JobRecord,
  options: RunOptions,
  update: { expression: string; values: Record<string, unknown>; names?: Record<string, string> },
): Promise<void> {
  try {
    await deps.db.send(
      new UpdateCommand({
        TableName: deps.tableName,
        Key: keys.job(job.tenantId, job.jobId),
        UpdateExpression: update.expression,
        ConditionExpression: 'leaseOwner = :me',
        ...(update.names ? { ExpressionAttributeNames: update.names } : {}),
        ExpressionAttributeValues: {
          ...update.values,
          ':me': options.owner,
          ':until': deps.now().getTime() + options.leaseMs,
        },
      }),
    );
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) throw new LeaseLost();
    throw error;
  }
}

/** Releases the lease and wakes the job again through the outbox, in one transaction. */
async function yieldJob(deps: Deps, job: JobRecord, options: RunOptions): Promise<void> {
  const uow = new UnitOfWork(deps.tableName);
  uow.update({
    key: keys.job(job.tenantId, job.jobId),
    expression: 'REMOVE leaseOwner, leaseUntil',
    condition: { expression: 'leaseOwner = :me', values: { ':me': options.owner } },
    onConditionFailed: () => new LeaseLost(),
  });
  uow.emit(makeEvent(JobQueued, job.tenantId, { jobId: job.jobId }));
  await uow.commit(deps.db);
}

async function failJob(deps: Deps, job: JobRecord, options: RunOptions, error: unknown): Promise<void> {
  const uow = new UnitOfWork(deps.tableName);
  uow.update({
    key: keys.job(job.tenantId, job.jobId),
    expression:
      'SET #status = :failed, finishedAt = :now, #error = :error REMOVE gsi1pk, gsi1sk, leaseOwner, leaseUntil',
    names: { '#status': 'status', '#error': 'error' },
    values: {
      ':failed': 'failed',
      ':now': deps.now().toISOString(),
      ':error': error instanceof DomainError ? error.message : 'The job failed; see the logs for its id.',
    },
    condition: { expression: 'leaseOwner = :me', values: { ':me': options.owner } },
    onConditionFailed: () => new LeaseLost(),
  });
  uow.delete(keys.activeJob(job.tenantId, job.jobId));
  await wakeNext(deps, job, uow);
  try {
    await uow.commit(deps.db);
  } catch (e) {
    if (!(e instanceof LeaseLost)) throw e;
  }
}

async function wakeNext(deps: Deps, job: JobRecord, uow: UnitOfWork): Promise<void> {
  const next = (await queueHead(deps, job, 2)).find((id) => id !== job.jobId);
  if (next) uow.emit(makeEvent(JobQueued, job.tenantId, { jobId: next }));
}

async function queueHead(deps: Deps, job: JobRecord, limit: number): Promise<string[]> {
  const out = await deps.db.send(
    new QueryCommand({
      TableName: deps.tableName,
      IndexName: GSI1,
      KeyConditionExpression: 'gsi1pk = :q',
      ExpressionAttributeValues: { ':q': keys.jobQueue(job.tenantId, job.queue) },
      Limit: limit,
    }),
  );
  return (out.Items ?? []).map((i) => i.jobId as string);
}
