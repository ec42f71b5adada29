import { type Key, UnitOfWork } from '../shared/db/unit-of-work.js';

type Item = Key & Record<string, unknown>;

/**
 * A unit of work that only sums the counter moves staged on it (the funnel aggregates of
 * `moveFunnel`), as committing them would leave the items: seeding benches with the write path's
 * own aggregates, summed over many contacts, without a transaction per contact.
 */
export class CounterSums extends UnitOfWork {
  readonly items = new Map<string, Item>();

  override addCounters(key: Key, add: Record<string, number>, setIfMissing: Record<string, unknown> = {}) {
    const id = `${key.pk}\u0000${key.sk}`;
    const item = this.items.get(id) ?? { ...key, ...setIfMissing };
    // ADD of the non-zero deltas, like the committed update expression.
    for (const [name, n] of Object.entries(add)) {
      if (n !== 0) item[name] = ((item[name] as number | undefined) ?? 0) + n;
    }
    this.items.set(id, item);
    return this;
  }
}
