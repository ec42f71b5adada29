import * as z from 'zod';
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

export const RfmRunInput = z.strictObject({ asOf: z.iso.datetime({ offset: true }).optional() });

const Counts = z.record(z.string(), z.number().int());
export const SegmentsView = z
  .object({
    asOf: InstantOut,
    windowDays: z.number().int(),
    means: z.object({
      recencyDays: z.number().nullable(),
      frequency: z.number().nullable(),
      monetary: z.number().nullable().describe('in currency units'),
    }),
    rfm: Counts,
    stages: Counts,
  })
  .meta({ id: 'Segments' });
