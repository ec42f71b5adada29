import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../shared/db/client.js';
import { UnitOfWork } from '../../shared/db/unit-of-work.js';
import { ConflictError, ServiceUnavailableError } from '../../shared/errors.js';
import { ContactLost } from '../../shared/events/catalog.js';
import { makeEvent } from '../../shared/events/outbox.js';

const TABLE = 'unit-table';
const ddb = mockClient(DynamoDBDocumentClient);
const db = createDocumentClient(new DynamoDBClient({ region: 'us-east-1' }));

afterEach(() => {
  ddb.reset();
});

const cell = { pk: 'FA#t1#2026-01', sk: 'M#cell#0' };

function contactGroup(uow: UnitOfWork, i: number) {
  uow.atomic();
  uow.put({ pk: `C#t1#c${i}`, sk: 'PROFILE', name: 'n' }, { expression: 'attribute_not_exists(pk)' });
  uow.put({ pk: `CX#t1#all#x`, sk: `2026#c${i}` });
  uow.addCounters(cell, { contacts: 1 });
  uow.emit(makeEvent(ContactLost, 't1', { contactId: `c${i}`, lostAt: new Date().toISOString() }));
}

describe('UnitOfWork packing', () => {
  it('packs whole groups into transactions of at most 100 items and never splits a group', () => {
    // Prepare: 60 groups of 3 own items + one shared counter item
    const uow = new UnitOfWork(TABLE);
    for (let i = 0; i < 60; i++) contactGroup(uow, i);

    // Act
    const chunks = uow.chunks();

    // Assess: every chunk ≤ 100 items, each group's three own items in one chunk
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(100);
    const chunkOf = new Map<string, number>();
    chunks.forEach((chunk, index) => {
      for (const item of chunk) {
        const put = item.Put?.Item as { pk: string; sk: string } | undefined;
        if (put?.pk.startsWith('C#')) chunkOf.set(put.pk, index);
        if (put?.pk.startsWith('CX#')) expect(chunkOf.get(`C#t1#${put.sk.split('#')[1]}`)).toBe(index);
      }
    });
    expect(chunkOf.size).toBe(60);
  });

  it("writes the events of a transaction's groups as one outbox item, in order, and a big batch in two", () => {
    // Prepare: 60 groups, each with one event; then 2 groups whose events outgrow one item
    const uow = new UnitOfWork(TABLE);
    for (let i = 0; i < 60; i++) contactGroup(uow, i);
    const big = new UnitOfWork(TABLE);
    const text = 'x'.repeat(160_000);
    for (let i = 0; i < 2; i++) {
      big.atomic();
      big.emit(makeEvent(ContactLost, 't1', { contactId: `c${i}${text}`, lostAt: new Date().toISOString() }));
    }

    // Act
    const chunks = uow.chunks();
    const bigChunks = big.chunks();

    // Assess: one outbox item per transaction, holding its groups' events in group order
    const outbox = chunks.map((chunk) =>
      chunk.map((t) => t.Put?.Item as { pk: string; events?: { detail: string }[] }).filter((i) => i?.events),
    );
    expect(outbox.every((items) => items.length === 1)).toBe(true);
    const contactIds = outbox.flatMap(([item]) =>
      item!.events!.map((e) => JSON.parse(e.detail).data.contactId),
    );
    expect(contactIds).toEqual(Array.from({ length: 60 }, (_, i) => `c${i}`));
    expect(bigChunks).toHaveLength(2);
  });

  it('merges counter moves on one item within a transaction into a single ADD', () => {
    const uow = new UnitOfWork(TABLE);
    for (let i = 0; i < 5; i++) contactGroup(uow, i);
    uow.atomic().addCounters(cell, { contacts: -2, gmv: 150 });

    const [chunk] = uow.chunks();

    const counterUpdates = chunk!.filter((item) => item.Update?.Key?.sk === cell.sk);
    expect(counterUpdates).toHaveLength(1);
    const values = counterUpdates[0]!.Update!.ExpressionAttributeValues!;
    expect(Object.values(values)).toEqual(expect.arrayContaining([3, 150]));
  });

  it('drops a counter item whose moves cancel out', () => {
    const uow = new UnitOfWork(TABLE);
    uow.addCounters(cell, { contacts: -1 });
    uow.atomic().addCounters(cell, { contacts: 1 });
    uow.put({ pk: 'X', sk: 'Y' });

    const chunks = uow.chunks();

    expect(chunks.flat().filter((i) => i.Update)).toHaveLength(0);
  });

  it('refuses a group over 100 items, one whose events outgrow an outbox item, and one that writes an item twice', () => {
    const big = new UnitOfWork(TABLE);
    for (let i = 0; i < 101; i++) big.put({ pk: `P${i}`, sk: 'S' });
    expect(() => big.chunks()).toThrow(/exceeds 100/);

    const loud = new UnitOfWork(TABLE);
    for (let i = 0; i < 2; i++) {
      const text = 'x'.repeat(160_000);
      loud.emit(
        makeEvent(ContactLost, 't1', { contactId: `c${i}${text}`, lostAt: new Date().toISOString() }),
      );
    }
    expect(() => loud.chunks()).toThrow(/events of \d+ bytes exceed 300000/);

    const twice = new UnitOfWork(TABLE).put({ pk: 'A', sk: 'B' });
    expect(() => twice.put({ pk: 'A', sk: 'B' })).toThrow(/twice/);
  });

  it('starts a new transaction when two groups write the same item', () => {
    const uow = new UnitOfWork(TABLE);
    uow.put({ pk: 'A', sk: 'B', v: 1 });
    uow.atomic().put({ pk: 'A', sk: 'B', v: 2 });

    expect(uow.chunks()).toHaveLength(2);
  });

  it('shares one identical check between groups of a transaction, and keeps checks that differ', () => {
    const exists = { expression: 'attribute_exists(pk)' };
    const uow = new UnitOfWork(TABLE);
    for (let i = 0; i < 3; i++)
      uow
        .atomic()
        .check({ pk: 'STAFF', sk: 'S' }, exists)
        .put({ pk: `C${i}`, sk: 'P' });
    const [first, ...rest] = uow.chunks();
    expect(rest).toHaveLength(0);
    expect(first!.filter((item) => item.ConditionCheck)).toHaveLength(1);
    expect(first!.filter((item) => item.Put)).toHaveLength(3);

    const other = new UnitOfWork(TABLE);
    other.check({ pk: 'STAFF', sk: 'S' }, exists);
    other.atomic().check({ pk: 'STAFF', sk: 'S' }, { expression: 'attribute_not_exists(pk)' });
    other.atomic().put({ pk: 'STAFF', sk: 'S' });
    expect(other.chunks()).toHaveLength(3);
  });
});

describe('UnitOfWork commit', () => {
  it('raises the error named by the item whose condition failed', async () => {
    ddb.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({
        message: 'cancelled',
        $metadata: {},
        CancellationReasons: [{ Code: 'None' }, { Code: 'ConditionalCheckFailed' }],
      }),
    );
    const uow = new UnitOfWork(TABLE)
      .put({ pk: 'A', sk: 'B' })
      .put(
        { pk: 'C', sk: 'D' },
        { expression: 'attribute_not_exists(pk)' },
        () => new ConflictError('phone taken'),
      );

    await expect(uow.commit(db)).rejects.toThrow('phone taken');
  });

  it('retries a transaction conflict and then succeeds', async () => {
    ddb
      .on(TransactWriteCommand)
      .rejectsOnce(
        new TransactionCanceledException({
          message: 'cancelled',
          $metadata: {},
          CancellationReasons: [{ Code: 'TransactionConflict' }],
        }),
      )
      .resolves({});

    await new UnitOfWork(TABLE).put({ pk: 'A', sk: 'B' }).commit(db);

    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(2);
  });

  it('turns persistent throttling of a transaction into a 503', async () => {
    ddb.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({
        message: 'cancelled',
        $metadata: {},
        CancellationReasons: [{ Code: 'ThrottlingError' }],
      }),
    );

    await expect(new UnitOfWork(TABLE).put({ pk: 'A', sk: 'B' }).commit(db)).rejects.toBeInstanceOf(
      ServiceUnavailableError,
    );
  });

  it('gives each chunk a stable client request token when the commit has one', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    const build = () => {
      const uow = new UnitOfWork(TABLE);
      for (let i = 0; i < 40; i++) contactGroup(uow, i);
      return uow;
    };

    await build().commit(db, { token: 'delivery-1' });
    await build().commit(db, { token: 'delivery-1' });

    const tokens = ddb.commandCalls(TransactWriteCommand).map((c) => c.args[0].input.ClientRequestToken);
    const half = tokens.length / 2;
    expect(tokens.slice(0, half)).toEqual(tokens.slice(half));
    expect(new Set(tokens.slice(0, half)).size).toBe(half);
  });
});
