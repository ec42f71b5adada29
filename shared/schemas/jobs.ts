import { z } from 'zod';
import { Id, InstantOut } from './common.js';

export const JobStatus = z.enum(['queued', 'running', 'succeeded', 'failed']);

export const Job = z
  .object({
    jobId: Id,
    kind: z.string(),
    status: JobStatus,
    progress: z.object({ done: z.number().int(), total: z.number().int() }),
    createdAt: InstantOut,
    startedAt: InstantOut.nullable(),
    finishedAt: InstantOut.optional(),
    result: z.record(z.string(), z.unknown()).optional(),
    error: z.string().optional(),
  })
  .meta({ id: 'Job' });

export const JobAccepted = z.object({ jobId: Id }).meta({ id: 'JobAccepted' });
export const JobParams = z.strictObject({ jobId: Id });
