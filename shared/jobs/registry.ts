import type { Deps } from '../app/deps.js';
import { handoverJob } from '../usecases/handover.js';
import { rfmJob } from '../usecases/rfm.js';
import type { JobRegistry } from './job.js';

/** Every job kind the worker runs. */
export const jobRegistry: JobRegistry<Deps> = {
  [handoverJob.kind]: handoverJob,
  [rfmJob.kind]: rfmJob,
};
