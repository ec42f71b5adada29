import { describe, expect, it } from 'vitest';
import type { Deps } from '../../shared/app/deps.js';
import { UnitOfWork } from '../../shared/db/unit-of-work.js';
import { ConflictError } from '../../shared/errors.js';
import { ContactLost } from '../../shared/events/catalog.js';
import { makeEvent } from '../../shared/events/outbox.js';
import { failingAfter, freshTable, outboxEvents } from '../support/table.js';

class AlreadyRecorded extends Error {}

/** A minimal use case on the mechanism: one item, one aggregate move, one event, exactly once. */
async function recordVisit(deps: Deps, visitId: string): Promise<'recorded' | 'duplicate'> {
  const uow = new UnitOfWork(deps.tableName)
    .put(
      { pk: `VISIT#${visitId}`, sk: 'V', at: 1 },
      { expression: 'attribute_not_exists(pk)' },
      () => new AlreadyRecorded(),
    )
    .addCounters({ pk: 'AGG#visits', sk: 'total' }, { visits: 1 }, { kind: 'visits' })
    .emit(makeEvent(ContactLost, 't1', { contactId: visitId, lostAt: '2026-01-01T00:00:00.000Z' }));
  try {
    await uow.commit(deps.db);
    return 'recorded';
  } catch (error) {
    if (error instanceof AlreadyRecorded) return 'duplicate';
    throw error;
  }
}

describe('unit of work on DynamoDB Local', () => {
  it('moves nothing twice when the handler fails after its commit and the request is retried', async () => {
    // Prepare: the first attempt's transaction commits, then the client times out
    const deps = await freshTable((db) => failingAfter(db, (_command, call) => call === 0));

    // Act
    await expect(recordVisit(deps, 'v1')).rejects.toThrow(/timed out/);
    const retry = await recordVisit({ ...deps, db: deps.raw }, 'v1');

    // Assess
    expect(retry).toBe('duplicate');
    const items = await deps.scan();
    expect(items.filter((i) => String(i.pk).startsWith('VISIT#'))).toHaveLength(1);
    expect(items.find((i) => i.pk === 'AGG#visits')?.visits).toBe(1);
    const events = outboxEvents(items);
    expect(events).toHaveLength(1);
    expect(events[0]!.detail.metadata.eventId).toBe(events[0]!.pk.slice(3));
  });

  it('commits groups past 100 items in several transactions, each group whole', async () => {
    const deps = await freshTable();
    const uow = new UnitOfWork(deps.tableName);
    for (let i = 0; i < 70; i++) {
      uow.atomic();
      uow.put({ pk: `G#${i}`, sk: 'a' }).put({ pk: `G#${i}`, sk: 'b' });
      uow.addCounters({ pk: 'AGG#groups', sk: 'total' }, { groups: 1 });
    }

    await uow.commit(deps.db);

    const items = await deps.scan();
    expect(items.filter((i) => String(i.pk).startsWith('G#'))).toHaveLength(140);
    expect(items.find((i) => i.pk === 'AGG#groups')?.groups).toBe(70);
  });

  it('writes nothing of a transaction whose condition fails', async () => {
    const deps = await freshTable();
    await new UnitOfWork(deps.tableName).put({ pk: 'TAKEN', sk: 'x' }).commit(deps.db);

    const attempt = new UnitOfWork(deps.tableName)
      .put({ pk: 'NEW', sk: 'x' })
      .addCounters({ pk: 'AGG#n', sk: 't' }, { n: 1 })
      .put(
        { pk: 'TAKEN', sk: 'x' },
        { expression: 'attribute_not_exists(pk)' },
        () => new ConflictError('taken'),
      );

    await expect(attempt.commit(deps.db)).rejects.toThrow('taken');
    const items = await deps.scan();
    expect(items.map((i) => i.pk)).toEqual(['TAKEN']);
  });
});
