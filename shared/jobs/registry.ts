import type { Deps } from '../app/deps.js';
import type { JobRegistry } from './job.js';

/** Every job kind the worker runs. Capabilities add their definitions here. */
export const jobRegistry: JobRegistry<Deps> = {};
