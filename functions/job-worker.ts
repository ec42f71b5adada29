import type { Context, EventBridgeEvent } from 'aws-lambda';
import { createDeps } from '../shared/app/deps.js';
import type { EventEnvelope } from '../shared/events/outbox.js';
import { jobRegistry } from '../shared/jobs/registry.js';
import { runJob } from '../shared/jobs/runner.js';
import { logger } from '../shared/logger.js';

const deps = createDeps();
/** Without a checkpoint for this long, a run is taken as dead and another may resume it. */
const LEASE_MS = 90_000;
/** Stop starting steps with less than this left; a new invocation continues. */
const RESERVE_MS = 120_000;

export const handler = async (
  event: EventBridgeEvent<'JobQueued', EventEnvelope<{ jobId: string }>>,
  context: Context,
) => {
  const tenantId = event.detail.metadata.tenantId;
  const jobId = event.detail.data.jobId;
  const outcome = await runJob(
    deps,
    jobRegistry,
    { tenantId, jobId },
    {
      owner: context.awsRequestId,
      leaseMs: LEASE_MS,
      remainingMs: () => context.getRemainingTimeInMillis(),
      reserveMs: RESERVE_MS,
    },
  );
  logger.info('job run', { tenantId, jobId, outcome });
  return { outcome };
};
