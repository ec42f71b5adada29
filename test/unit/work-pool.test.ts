import { describe, expect, it } from 'vitest';
import { forEachWithinTime } from '../../shared/app/work-pool.js';
import { ServiceUnavailableError } from '../../shared/errors.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('forEachWithinTime', () => {
  it('does every item, at most `concurrency` at a time, with time to spare', async () => {
    const done: number[] = [];
    let running = 0;
    let peak = 0;
    await forEachWithinTime(
      Array.from({ length: 20 }, (_, i) => i),
      3,
      async (i) => {
        running++;
        peak = Math.max(peak, running);
        await sleep(2);
        done.push(i);
        running--;
      },
      () => 60_000,
    );
    expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(peak).toBe(3);
  });

  it('stops starting items near the limit, lets those in flight finish, then answers 503', async () => {
    // A clock that runs out after the first 5 starts: 10 s left, then 1 s.
    let checks = 0;
    const remaining = () => (++checks <= 5 ? 10_000 : 1_000);
    const finished: number[] = [];
    const started: number[] = [];
    const run = forEachWithinTime(
      Array.from({ length: 12 }, (_, i) => i),
      2,
      async (i) => {
        started.push(i);
        await sleep(5);
        finished.push(i);
      },
      remaining,
    );
    const error = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect((error as ServiceUnavailableError).status).toBe(503);
    expect((error as ServiceUnavailableError).headers['Retry-After']).toBe('1');
    expect(started).toEqual([0, 1, 2, 3, 4]);
    // Nothing started is left running when the 503 is thrown.
    expect(finished.sort((a, b) => a - b)).toEqual(started);
  });

  it('keeps twice its slowest item in reserve', async () => {
    const starts: number[] = [];
    let left = 10_000;
    await expect(
      forEachWithinTime(
        [0, 1, 2, 3],
        1,
        async (i) => {
          starts.push(i);
          await sleep(i === 0 ? 30 : 1);
          left -= 3_000; // each item uses 3 s of the budget
        },
        () => left,
      ),
    ).rejects.toBeInstanceOf(ServiceUnavailableError);
    // 10 s, 7 s and 4 s left are ≥ the 3 s reserve; 1 s is not.
    expect(starts).toEqual([0, 1, 2]);
  });

  it('without a clock, does everything', async () => {
    let count = 0;
    await forEachWithinTime([1, 2, 3], 8, async () => {
      count++;
    });
    expect(count).toBe(3);
  });
});
