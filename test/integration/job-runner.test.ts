import { setTimeout as sleep } from 'node:timers/promises';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import type { Deps } from '../../shared/app/deps.js';
import { UnitOfWork } from '../../shared/db/unit-of-work.js';
import { ServiceUnavailableError } from '../../shared/errors.js';
import type { JobDefinition, JobRegistry } from '../../shared/jobs/job.js';
import { type RunOptions, runJob } from '../../shared/jobs/runner.js';
import { enqueueJob, getJob } from '../../shared/jobs/store.js';
import { failingAfter, freshTable } from '../support/table.js';

const STEPS = 12;

/** Each step writes one item and moves one counter; the result is a sum over the steps. */
const countingJob: JobDefinition<{ slowMs?: number }, { next: number; sum: number }, Deps> = {
  kind: 'counting',
  async begin() {
    return { checkpoint: { next: 0, sum: 0 }, total: STEPS };
  },
  async step(job, _deps, uow) {
    if (job.params.slowMs) await new Promise((r) => setTimeout(r, job.params.slowMs));
    const i = job.checkpoint.next;
    uow.put({ pk: `STEP#${job.jobId}`, sk: String(i).padStart(3, '0'), value: i * i });
    uow.addCounters({ pk: `AGG#${job.jobId}`, sk: 'steps' }, { steps: 1 });
    const sum = job.checkpoint.sum + i * i;
    const finished = i + 1 === STEPS;
    return {
      checkpoint: { next: i + 1, sum },
      progress: { done: i + 1, total: STEPS },
      finished,
      ...(finished ? { result: { sum } } : {}),
    };
  },
};
const registry: JobRegistry<Deps> = { counting: countingJob };

/** The counting job, whose steps meet something busy (a 503) while `busy()` says so. */
const busyJob = (
  busy: () => boolean,
): JobDefinition<{ slowMs?: number }, { next: number; sum: number }, Deps> => ({
  ...countingJob,
  async step(job, deps, uow) {
    if (busy()) throw new ServiceUnavailableError('A contact is held; retry shortly.');
    return countingJob.step(job, deps, uow);
  },
});
/**
 * The counting job whose `afterCommit` leaves work running: after a pause it puts a marker of the
 * step, or fails (`fails(step)`) with an error of `kind`.
 */
const backgroundJob = (
  fails: (step: number) => boolean,
  kind: 'transient' | 'bug' = 'bug',
): JobDefinition<{ slowMs?: number }, { next: number; sum: number }, Deps> => ({
  ...countingJob,
  async afterCommit(job, deps) {
    const background = (async () => {
      await sleep(30);
      if (fails(job.step)) {
        throw kind === 'transient'
          ? Object.assign(new Error('throttled'), { name: 'ThrottlingException', $retryable: {} })
          : new Error('background work failed');
      }
      await deps.db.send(
        new PutCommand({
          TableName: deps.tableName,
          Item: { pk: `BG#${job.jobId}`, sk: String(job.step).padStart(3, '0') },
        }),
      );
    })();
    return { background };
  },
});
const markers = async (deps: Deps & { scan: () => Promise<Record<string, unknown>[]> }, jobId: string) =>
  (await deps.scan()).filter((i) => i.pk === `BG#${jobId}`).length;
const expectedSum = Array.from({ length: STEPS }, (_, i) => i * i).reduce((a, b) => a + b, 0);

const options = (owner: string, leaseMs = 60_000): RunOptions => ({
  owner,
  leaseMs,
  remainingMs: () => 900_000,
  reserveMs: 1_000,
});

async function createJob(deps: Deps, params: { slowMs?: number } = {}, queue = 'counting') {
  const uow = new UnitOfWork(deps.tableName);
  const job = enqueueJob(uow, deps, { tenantId: 't1', kind: 'counting', params, queue });
  await uow.commit(deps.db);
  return job;
}

describe('job runner on DynamoDB Local', () => {
  it('resumes a job killed at random chunks to the same result, each step committed once', async () => {
    // Prepare: a client that "dies" around some transactions — after the commit or before it
    const kills = new Set(Array.from({ length: 4 }, () => 1 + Math.floor(Math.random() * STEPS)));
    console.info(`killing around transactions ${[...kills].sort((a, b) => a - b).join(', ')}`);
    let transactions = 0;
    const deps = await freshTable((db) =>
      failingAfter(
        db,
        (command) => command.constructor.name === 'TransactWriteCommand' && kills.has(++transactions),
      ),
    );
    const job = await createJob({ ...deps, db: deps.raw });

    // Act: run, and after each crash let the lease lapse and start a new run
    const outcomes: string[] = [];
    for (let attempt = 0; attempt < 20; attempt++) {
      const outcome = await runJob(deps, registry, job, options(`run-${attempt}`, 30)).catch(() => 'crashed');
      outcomes.push(outcome);
      // A kill right after the last step's commit leaves a finished job: the next run says so.
      if (outcome === 'succeeded' || outcome === 'finished_already') break;
      await new Promise((r) => setTimeout(r, 40));
    }

    // Assess
    expect(outcomes.filter((o) => o === 'crashed').length).toBeGreaterThan(0);
    expect(['succeeded', 'finished_already']).toContain(outcomes.at(-1));
    const done = await getJob(deps, 't1', job.jobId);
    expect(done?.status).toBe('succeeded');
    expect(done?.result).toEqual({ sum: expectedSum });
    expect(done?.progress).toEqual({ done: STEPS, total: STEPS });
    const items = await deps.scan();
    expect(items.filter((i) => i.pk === `STEP#${job.jobId}`)).toHaveLength(STEPS);
    expect(items.find((i) => i.pk === `AGG#${job.jobId}`)?.steps).toBe(STEPS);
    expect(items.some((i) => i.pk === 'JOBS#ACTIVE')).toBe(false);
  });

  it('lets only one of two concurrent starts run the job', async () => {
    const deps = await freshTable();
    const job = await createJob(deps, { slowMs: 15 });

    const outcomes = await Promise.all([
      runJob(deps, registry, job, options('a')),
      runJob(deps, registry, job, options('b')),
    ]);

    expect(outcomes.filter((o) => o === 'succeeded')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'busy' || o === 'finished_already')).toHaveLength(1);
    const items = await deps.scan();
    expect(items.find((i) => i.pk === `AGG#${job.jobId}`)?.steps).toBe(STEPS);
  });

  it("queues a tenant's second job behind the first", async () => {
    const deps = await freshTable();
    const first = await createJob(deps);
    const second = await createJob(deps);

    expect(await runJob(deps, registry, second, options('x'))).toBe('waiting');
    expect(await runJob(deps, registry, first, options('x'))).toBe('succeeded');
    expect(await runJob(deps, registry, second, options('x'))).toBe('succeeded');
    expect((await getJob(deps, 't1', second.jobId))?.status).toBe('succeeded');
  });

  it('runs a step that met something busy again, and leaves a job busy for long to the sweeper', async () => {
    // Prepare: steps are busy twice in a row, then (second job) without end
    const deps = await freshTable();
    let busyCalls = 0;
    const briefly = await createJob(deps);
    const forLong = await createJob(deps, {}, 'other');

    // Act
    const brief = await runJob(deps, { counting: busyJob(() => ++busyCalls <= 2) }, briefly, options('a'));
    const long = await runJob(deps, { counting: busyJob(() => true) }, forLong, options('b', 30)).catch(
      (error: unknown) => error,
    );

    // Assess: the first job finished, each step once; the second is neither failed nor finished,
    // and once its lease lapses a run without the busy step finishes it
    expect(brief).toBe('succeeded');
    expect((await getJob(deps, 't1', briefly.jobId))?.result).toEqual({ sum: expectedSum });
    expect(long).toBeInstanceOf(ServiceUnavailableError);
    expect((await getJob(deps, 't1', forLong.jobId))?.status).toBe('running');
    await new Promise((r) => setTimeout(r, 40));
    expect(await runJob(deps, registry, forLong, options('c'))).toBe('succeeded');
    expect((await getJob(deps, 't1', forLong.jobId))?.result).toEqual({ sum: expectedSum });
  });

  it('waits for the work afterCommit leaves running before it finishes or yields', async () => {
    const deps = await freshTable();
    const [whole, yielding] = [await createJob(deps), await createJob(deps, {}, 'other')];
    let budget = 4;

    const finished = await runJob(deps, { counting: backgroundJob(() => false) }, whole, options('a'));
    const wholeMarkers = await markers(deps, whole.jobId);
    const yielded = await runJob(deps, { counting: backgroundJob(() => false) }, yielding, {
      ...options('b'),
      remainingMs: () => (budget-- > 0 ? 10_000 : 0),
    });
    const yieldingMarkers = await markers(deps, yielding.jobId);

    // Every committed step but the finishing one has its marker once runJob returns
    expect(finished).toBe('succeeded');
    expect(wholeMarkers).toBe(STEPS - 1);
    expect(yielded).toBe('yielded');
    expect(yieldingMarkers).toBe((await getJob(deps, 't1', yielding.jobId))?.step);
  });

  it('does not finish a job whose background work failed: a fault leaves it resumable, a bug fails it', async () => {
    const deps = await freshTable();
    const [faulty, buggy] = [await createJob(deps), await createJob(deps, {}, 'other')];

    const fault = await runJob(
      deps,
      { counting: backgroundJob((step) => step === 5, 'transient') },
      faulty,
      options('a', 30),
    ).catch((error: unknown) => error);
    const bug = await runJob(deps, { counting: backgroundJob((step) => step === 5) }, buggy, options('b'));

    expect((fault as Error).name).toBe('ThrottlingException');
    expect((await getJob(deps, 't1', faulty.jobId))?.status).toBe('running');
    expect(bug).toBe('failed');
    expect((await getJob(deps, 't1', buggy.jobId))?.status).toBe('failed');
    // The fault was passing: once the lease lapses, the job resumes and finishes
    await sleep(40);
    expect(await runJob(deps, registry, faulty, options('c'))).toBe('succeeded');
    expect((await getJob(deps, 't1', faulty.jobId))?.result).toEqual({ sum: expectedSum });
  });

  it('tells afterCommit when it pauses: the step before a yield is always told', async () => {
    const deps = await freshTable();
    for (const budget of [2, 3, 4, 5]) {
      // Prepare: a job that records what afterCommit was told; time runs out after `budget` looks
      const job = await createJob(deps, {}, `pauses-${budget}`);
      const told: boolean[] = [];
      const recording: JobDefinition<{ slowMs?: number }, { next: number; sum: number }, Deps> = {
        ...countingJob,
        async afterCommit(_job, _deps, { pausing }) {
          told.push(pausing);
          return undefined;
        },
      };
      let looks = budget;

      // Act
      const outcome = await runJob(deps, { counting: recording }, job, {
        ...options(`p${budget}`),
        remainingMs: () => (looks-- > 0 ? 10_000 : 0),
      });

      // Assess
      expect(outcome).toBe('yielded');
      expect(told.at(-1)).toBe(true);
      expect(told.filter(Boolean)).toHaveLength(1);
    }
  });

  it('yields before its deadline and continues from its checkpoint in the next invocation', async () => {
    const deps = await freshTable();
    const job = await createJob(deps);
    let budget = 4;

    const first = await runJob(deps, registry, job, {
      ...options('a'),
      remainingMs: () => (budget-- > 0 ? 10_000 : 0),
    });
    const second = await runJob(deps, registry, job, options('b'));

    expect(first).toBe('yielded');
    expect(second).toBe('succeeded');
    expect((await getJob(deps, 't1', job.jobId))?.result).toEqual({ sum: expectedSum });
  });
});
