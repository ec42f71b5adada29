import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { ContactLost } from '../../shared/events/catalog.js';
import { makeEvent, outboxItem } from '../../shared/events/outbox.js';
import { publishOutbox, type StreamRecord } from '../../shared/events/publisher.js';

const eb = mockClient(EventBridgeClient);
const eventBridge = new EventBridgeClient({ region: 'us-east-1' });

afterEach(() => {
  eb.reset();
});

const lost = (contactId: string) =>
  makeEvent(ContactLost, 't1', { contactId, lostAt: '2026-01-01T00:00:00.000Z' });

/** The stream record of a transaction's outbox item: one event per contact id given. */
function outboxRecord(seq: number, contactIds: string[] = [`c${seq}`]): StreamRecord {
  return {
    eventName: 'INSERT',
    dynamodb: { SequenceNumber: String(seq), NewImage: marshall(outboxItem(contactIds.map(lost))) as never },
  };
}

describe('publishOutbox', () => {
  it('sends only inserted outbox items, ten per call, with the stored eventId', async () => {
    eb.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({
      FailedEntryCount: 0,
      Entries: input.Entries.map((_, i) => ({ EventId: `e${i}` })),
    }));
    const records = [
      ...Array.from({ length: 23 }, (_, i) => outboxRecord(i)),
      {
        eventName: 'INSERT',
        dynamodb: { SequenceNumber: '99', NewImage: marshall({ pk: 'C#t1#x', sk: 'PROFILE' }) },
      },
      { ...outboxRecord(100), eventName: 'REMOVE' },
    ] as StreamRecord[];

    const result = await publishOutbox(records, { eventBridge, busName: 'bus' });

    expect(result).toEqual({ published: 23, failedSequenceNumbers: [] });
    const calls = eb.commandCalls(PutEventsCommand);
    expect(calls.map((c) => c.args[0].input.Entries?.length)).toEqual([10, 10, 3]);
    const first = calls[0]!.args[0].input.Entries![0]!;
    expect(first).toMatchObject({ Source: 'siyu', DetailType: 'ContactLost', EventBusName: 'bus' });
    const detail = JSON.parse(first.Detail!);
    expect(detail.metadata.eventId).toMatch(/^[0-9A-Z]{26}$/);
    expect(detail.data).toEqual({ contactId: 'c0', lostAt: '2026-01-01T00:00:00.000Z' });
  });

  it('retries only the entries that failed', async () => {
    eb.on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 1,
        Entries: [{ EventId: 'a' }, { ErrorCode: 'ThrottlingException' }, { EventId: 'c' }],
      })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'b' }] });

    const result = await publishOutbox([outboxRecord(1), outboxRecord(2), outboxRecord(3)], {
      eventBridge,
      busName: 'bus',
    });

    expect(result.failedSequenceNumbers).toEqual([]);
    const retried = eb.commandCalls(PutEventsCommand)[1]!.args[0].input.Entries!;
    expect(retried).toHaveLength(1);
    expect(JSON.parse(retried[0]!.Detail!).data.contactId).toBe('c2');
  });

  it("sends every event of a transaction's outbox item, in order, each with its own eventId", async () => {
    eb.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({
      FailedEntryCount: 0,
      Entries: input.Entries.map((_, i) => ({ EventId: `e${i}` })),
    }));
    const ids = Array.from({ length: 12 }, (_, i) => `m${i}`);

    const result = await publishOutbox([outboxRecord(1, ids), outboxRecord(2)], {
      eventBridge,
      busName: 'bus',
    });

    expect(result).toEqual({ published: 13, failedSequenceNumbers: [] });
    const sent = eb.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries!);
    const details = sent.map((e) => JSON.parse(e.Detail!));
    expect(details.map((d) => d.data.contactId)).toEqual([...ids, 'c2']);
    expect(new Set(details.map((d) => d.metadata.eventId)).size).toBe(13);
  });

  it('resends a record whose events were only partly sent, reported once', async () => {
    eb.on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 0,
        Entries: Array.from({ length: 10 }, (_, i) => ({ EventId: `e${i}` })),
      })
      .rejects(Object.assign(new Error('timeout'), { name: 'TimeoutError' }));
    const ids = Array.from({ length: 12 }, (_, i) => `m${i}`);

    const result = await publishOutbox([outboxRecord(1, ids), outboxRecord(2)], {
      eventBridge,
      busName: 'bus',
    });

    expect(result).toEqual({ published: 10, failedSequenceNumbers: ['1', '2'] });
  });

  it('reports the first record still failing so the stream resumes from it', async () => {
    eb.on(PutEventsCommand).rejects(Object.assign(new Error('timeout'), { name: 'TimeoutError' }));

    const result = await publishOutbox([outboxRecord(7), outboxRecord(8)], { eventBridge, busName: 'bus' });

    expect(result).toEqual({ published: 0, failedSequenceNumbers: ['7', '8'] });
  });
});
