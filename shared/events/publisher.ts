import { setTimeout as sleep } from 'node:timers/promises';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { storedEvents } from './outbox.js';

/** The subset of a DynamoDB stream record the publisher reads (Lambda and Streams API alike). */
export interface StreamRecord {
  eventID?: string;
  eventName?: string;
  dynamodb?: {
    NewImage?: Record<string, AttributeValue>;
    SequenceNumber?: string;
  };
}

const PUT_EVENTS_MAX_ENTRIES = 10;
const ATTEMPTS = 5;

export interface PublishResult {
  published: number;
  /** Sequence numbers of records whose events could not be sent (the stream retries from there). */
  failedSequenceNumbers: string[];
}

/**
 * Turns committed outbox items into EventBridge events, at least once, with the `eventId`
 * fixed at commit.
 *
 * Primary course:
 *  1. Keep only INSERTs of outbox items (`pk` = `EV#…`), each holding the events of one
 *     transaction; every other stream record is ignored.
 *  2. Send them in PutEvents calls of at most 10 entries, retrying failed entries with backoff.
 *  3. Report the first record whose event still failed, so the stream resumes from it (records
 *     after it are sent again: consumers dedupe on `detail.metadata.eventId`).
 */
export async function publishOutbox(
  records: readonly StreamRecord[],
  deps: { eventBridge: EventBridgeClient; busName: string },
): Promise<PublishResult> {
  const pending: { entry: PutEventsRequestEntry; seq: string }[] = [];
  for (const record of records) {
    if (record.eventName !== 'INSERT' || !record.dynamodb?.NewImage) continue;
    const image = unmarshall(record.dynamodb.NewImage) as Record<string, unknown>;
    const seq = record.dynamodb.SequenceNumber ?? record.eventID ?? '';
    for (const event of storedEvents(image)) {
      pending.push({
        seq,
        entry: {
          EventBusName: deps.busName,
          Source: event.source,
          DetailType: event.detailType,
          Detail: event.detail,
        },
      });
    }
  }
  let published = 0;
  for (let i = 0; i < pending.length; i += PUT_EVENTS_MAX_ENTRIES) {
    const batch = pending.slice(i, i + PUT_EVENTS_MAX_ENTRIES);
    const failed = await putWithRetries(batch, deps.eventBridge);
    if (failed.length) {
      const firstFailed = Math.min(...failed);
      return {
        published: published + firstFailed,
        // A record whose events were partly sent is sent again whole (consumers dedupe).
        failedSequenceNumbers: [...new Set(pending.slice(i + firstFailed).map((p) => p.seq))],
      };
    }
    published += batch.length;
  }
  return { published, failedSequenceNumbers: [] };
}

/** Returns the indexes (within `batch`) of entries that still failed after the retries. */
async function putWithRetries(
  batch: { entry: PutEventsRequestEntry }[],
  eventBridge: EventBridgeClient,
): Promise<number[]> {
  let remaining = batch.map((_, index) => index);
  for (let attempt = 0; attempt < ATTEMPTS && remaining.length; attempt++) {
    if (attempt > 0) await sleep(50 * 2 ** attempt);
    try {
      const out = await eventBridge.send(
        new PutEventsCommand({ Entries: remaining.map((index) => batch[index]!.entry) }),
      );
      const entries = out.Entries ?? [];
      remaining = remaining.filter((_, k) => entries[k]?.ErrorCode !== undefined || !entries[k]?.EventId);
    } catch {
      // transient fault of the whole call: retry every remaining entry
    }
  }
  return remaining;
}
