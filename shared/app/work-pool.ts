import { ServiceUnavailableError } from '../errors.js';

/** What is left of the invocation's time limit, in ms. */
export type RemainingMs = () => number;

/** Never stop starting items with less left than this, however fast they have been so far. */
const MIN_RESERVE_MS = 3_000;

/**
 * Runs `work` over `items`, `concurrency` at a time, inside the invocation's time limit.
 *
 * An item is only started while the time left exceeds twice the slowest item seen so far (and at
 * least 3 s), so the items in flight finish before the function is stopped and nothing keeps
 * running after the answer. If items were left unstarted, the call fails with a 503 and
 * `Retry-After`: every caller of this pool does idempotent work per item (an order, a contact
 * with its identifiers), so the client sends the same batch again and the items already done come
 * back as duplicates while the rest make progress.
 */
export async function forEachWithinTime<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
  remainingMs?: RemainingMs,
): Promise<void> {
  let next = 0;
  let slowestMs = 0;
  let stopped = false;
  const worker = async () => {
    while (next < items.length) {
      if (remainingMs && remainingMs() < Math.max(MIN_RESERVE_MS, 2 * slowestMs)) {
        stopped = true;
        return;
      }
      const item = items[next++]!;
      const started = Date.now();
      await work(item);
      slowestMs = Math.max(slowestMs, Date.now() - started);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (stopped) {
    throw new ServiceUnavailableError(
      `The batch ran out of time after ${next} of ${items.length} items; send it again: the items done come back as already there.`,
    );
  }
}
