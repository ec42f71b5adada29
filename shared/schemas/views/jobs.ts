import * as z from 'zod/mini';
import { int } from '../../zod.js';
import { Id } from '../common.js';
import { InstantOut } from './common.js';

/** Answers of the jobs routes and of the segments summary (OpenAPI only: see `./common.ts`). */

const JobStatus = z.enum(['queued', 'running', 'succeeded', 'failed']);

export const Job = z
  .object({
    jobId: Id,
    kind: z.string(),
    status: JobStatus,
    progress: z.object({ done: int(), total: int() }),
    createdAt: InstantOut,
    startedAt: z.nullable(InstantOut),
    finishedAt: z.optional(InstantOut),
    result: z.optional(z.record(z.string(), z.unknown())),
    error: z.optional(z.string()),
  })
  .register(z.globalRegistry, { id: 'Job' });

export const JobAccepted = z.object({ jobId: Id }).register(z.globalRegistry, { id: 'JobAccepted' });

const Counts = z.record(z.string(), int());
export const SegmentsView = z
  .object({
    asOf: InstantOut,
    windowDays: int(),
    means: z.object({
      recencyDays: z.nullable(z.number()),
      frequency: z.nullable(z.number()),
      monetary: z.nullable(z.number()).check(z.describe('in currency units')),
    }),
    rfm: Counts,
    stages: Counts,
  })
  .register(z.globalRegistry, { id: 'Segments' });
