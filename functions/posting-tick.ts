import { createDeps } from '../shared/app/deps.js';
import { logger } from '../shared/logger.js';
import { runPostingTick } from '../shared/usecases/posting.js';

const deps = createDeps();

/** What EventBridge Scheduler (and the local scheduler) send: the run's scheduled time. */
interface ScheduledRun {
  scheduledTime?: string;
  schedule?: string;
}

/**
 * The reminder job. "Now" is the run's scheduled time, so a late or retried delivery reminds the
 * slots that were open when it was due (and the same run twice creates nothing twice).
 */
export const handler = async (event: ScheduledRun = {}) => {
  const scheduled = event.scheduledTime ? new Date(event.scheduledTime) : undefined;
  const now = scheduled && !Number.isNaN(scheduled.getTime()) ? scheduled : deps.now();
  const result = await runPostingTick(deps, now);
  logger.info('posting tick', { now: now.toISOString(), ...result });
  return result;
};
