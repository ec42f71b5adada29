import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import type { Deps } from '../app/deps.js';
import { keys } from '../db/keys.js';
import { queryAll } from '../db/query.js';
import type { UnitOfWork } from '../db/unit-of-work.js';
import { JobQueued } from '../events/catalog.js';
import { makeEvent } from '../events/outbox.js';
import type { JobRecord } from './job.js';

/**
 * Adds a new queued job to a unit of work: the job item (in its tenant's queue, gsi1), the
 * sweeper's pointer, and a `JobQueued` event that wakes the worker once committed.
 * Jobs of one tenant and queue run one at a time, in creation order.
 */
export function enqueueJob<P>(
  uow: UnitOfWork,
  deps: Pick<Deps, 'now'>,
  input: { tenantId: string; kind: string; params: P; queue?: string; total?: number; jobId?: string },
): JobRecord<P> {
  const createdAt = deps.now().toISOString();
  const job: JobRecord<P> = {
    tenantId: input.tenantId,
    jobId: input.jobId ?? `job_${ulid()}`,
    kind: input.kind,
    queue: input.queue ?? input.kind,
    status: 'queued',
    params: input.params,
    step: 0,
    progress: { done: 0, total: input.total ?? 0 },
    createdAt,
  };
  uow.put(
    {
      ...keys.job(job.tenantId, job.jobId),
      ...job,
      gsi1pk: keys.jobQueue(job.tenantId, job.queue),
      gsi1sk: `${createdAt}#${job.jobId}`,
    },
    { expression: 'attribute_not_exists(pk)' },
  );
  uow.put({ ...keys.activeJob(job.tenantId, job.jobId), tenantId: job.tenantId, jobId: job.jobId });
  uow.emit(makeEvent(JobQueued, job.tenantId, { jobId: job.jobId }));
  return job;
}

export async function getJob(
  deps: Pick<Deps, 'db' | 'tableName'>,
  tenantId: string,
  jobId: string,
  consistent = true,
): Promise<JobRecord | undefined> {
  const out = await deps.db.send(
    new GetCommand({ TableName: deps.tableName, Key: keys.job(tenantId, jobId), ConsistentRead: consistent }),
  );
  return out.Item as JobRecord | undefined;
}

/** Every unfinished job (the sweeper's list). */
export async function activeJobs(
  deps: Pick<Deps, 'db' | 'tableName'>,
): Promise<{ tenantId: string; jobId: string }[]> {
  const found: { tenantId: string; jobId: string }[] = [];
  for await (const item of queryAll<{ tenantId: string; jobId: string }>(deps, {
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': keys.activeJob('', '').pk },
  })) {
    found.push({ tenantId: item.tenantId, jobId: item.jobId });
  }
  return found;
}

/** The public view of a job (`GET /v1/jobs/{jobId}`). */
export function jobView(job: JobRecord) {
  return {
    jobId: job.jobId,
    kind: job.kind,
    status: job.status,
    progress: job.progress,
    createdAt: job.createdAt,
    startedAt: job.startedAt ?? null,
    ...(job.finishedAt ? { finishedAt: job.finishedAt } : {}),
    ...(job.result ? { result: job.result } : {}),
    ...(job.error ? { error: job.error } : {}),
  };
}
