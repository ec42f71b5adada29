import { createDeps } from '../shared/app/deps.js';
import { logger } from '../shared/logger.js';
import { dispatchNightlyRuns } from '../shared/usecases/rfm-dispatch.js';

const deps = createDeps();

/** EventBridge Scheduler (and the local scheduler) pass the tick's scheduled time. */
export const handler = async (event: { scheduledTime?: string }) => {
  const now = event.scheduledTime ? new Date(event.scheduledTime) : deps.now();
  const result = await dispatchNightlyRuns(deps, Number.isNaN(now.getTime()) ? deps.now() : now);
  logger.info('rfm dispatch', result);
  return result;
};
