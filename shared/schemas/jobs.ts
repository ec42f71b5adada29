import * as z from 'zod/mini';
import '../zod.js';
import { Id } from './common.js';

export const JobParams = z.strictObject({ jobId: Id });

export const RfmRunInput = z.strictObject({ asOf: z.optional(z.iso.datetime({ offset: true })) });
