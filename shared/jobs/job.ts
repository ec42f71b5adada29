import type { UnitOfWork } from '../db/unit-of-work.js';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed';

export interface JobRecord<P = unknown, C = unknown> {
  tenantId: string;
  jobId: string;
  kind: string;
  queue: string;
  status: JobStatus;
  params: P;
  checkpoint?: C;
  /** Steps committed so far: the checkpoint's version. */
  step: number;
  progress: { done: number; total: number };
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  result?: Record<string, unknown>;
  error?: string;
  leaseOwner?: string;
  leaseUntil?: number;
}

export interface StepOutcome<C> {
  checkpoint: C;
  /** Progress after this step. */
  progress: { done: number; total: number };
  finished: boolean;
  result?: Record<string, unknown>;
}

/**
 * One kind of job. `step` does one bounded chunk of work from a checkpoint and adds its writes
 * to `uow`; the runner commits them together with the new checkpoint, under the lease.
 *
 * Writes that fit one transaction are exactly-once. A step whose writes span several
 * transactions must make all but the last group idempotent (puts and sets, no counters): a crash
 * between them replays the step from the old checkpoint.
 */
export interface JobDefinition<P = unknown, C = unknown, D = unknown> {
  kind: string;
  /** First checkpoint and the total, computed when the job first runs. */
  begin(job: JobRecord<P, C>, deps: D): Promise<{ checkpoint: C; total: number }>;
  step(job: JobRecord<P, C> & { checkpoint: C }, deps: D, uow: UnitOfWork): Promise<StepOutcome<C>>;
  /**
   * Idempotent work that follows a committed step (`job` is the record as committed). If it does
   * not complete (a crash, a fault), the next step must finish it: the committed checkpoint says what.
   * Work it leaves running (`background`) overlaps the next steps: the runner waits for it before it
   * commits the finishing step and before it stops running the job for any reason (a failure of it
   * then stops the job like a failed step), so it never outlives the invocation. Until it has
   * landed, the checkpoints committed meanwhile must still say what it does; a later step or
   * `afterCommit` that needs it done waits for it itself.
   */
  afterCommit?(
    job: JobRecord<P, C> & { checkpoint: C },
    deps: D,
    /** `pausing`: the runner yields next, and another invocation continues the job. */
    context: { pausing: boolean },
  ): Promise<{ background?: Promise<void> } | undefined>;
  /**
   * Undoes what must not outlive a job that fails (`job` as last committed): called before the job
   * is marked failed; its own failure is logged and does not keep the job from failing.
   */
  onFailure?(job: JobRecord<P, C> & { checkpoint: C }, deps: D): Promise<void>;
}

// biome-ignore lint/suspicious/noExplicitAny: a registry holds definitions of every parameter type
export type JobRegistry<D> = Record<string, JobDefinition<any, any, D>>;
