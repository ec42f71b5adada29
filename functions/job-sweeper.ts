import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { createDeps } from '../shared/app/deps.js';
import { BusEnv, loadEnv } from '../shared/config.js';
import { JobQueued } from '../shared/events/catalog.js';
import { makeEvent } from '../shared/events/outbox.js';
import { activeJobs, getJob } from '../shared/jobs/store.js';
import { logger } from '../shared/logger.js';

const deps = createDeps();
const { EVENT_BUS_NAME } = loadEnv(BusEnv);
const eventBridge = new EventBridgeClient({});

/**
 * Wakes every unfinished job that no run holds (its lease expired: a crash or a timeout), so
 * no job stays stuck. The worker decides whether it may run (queue order, lease).
 */
export const handler = async () => {
  const now = deps.now().getTime();
  const wake: { tenantId: string; jobId: string }[] = [];
  for (const ref of await activeJobs(deps)) {
    const job = await getJob(deps, ref.tenantId, ref.jobId, false);
    if (!job || job.status === 'succeeded' || job.status === 'failed') continue;
    if (job.leaseUntil === undefined || job.leaseUntil < now) wake.push(ref);
  }
  for (let i = 0; i < wake.length; i += 10) {
    await eventBridge.send(
      new PutEventsCommand({
        Entries: wake.slice(i, i + 10).map((ref) => {
          const event = makeEvent(JobQueued, ref.tenantId, { jobId: ref.jobId });
          return {
            EventBusName: EVENT_BUS_NAME,
            Source: event.source,
            DetailType: event.detailType,
            Detail: JSON.stringify(event.detail),
          };
        }),
      }),
    );
  }
  logger.info('job sweep', { woken: wake.length });
  return { woken: wake.length };
};
