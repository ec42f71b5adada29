import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { ensureTable, LOCAL_AWS } from '../../infra/local/dynamodb-local.js';
import type { Deps } from '../../shared/app/deps.js';
import { createDocumentClient } from '../../shared/db/client.js';
import { type EventEnvelope, storedEvents } from '../../shared/events/outbox.js';

/**
 * The DynamoDB Local this test worker shares with the files it runs (undefined when the run
 * started none): workers running side by side use different ones.
 */
export function workerDynamoEndpoint(): string | undefined {
  const endpoints = inject('dynamoEndpoints');
  if (!endpoints.length) return undefined;
  // Vitest numbers its workers 1…maxWorkers.
  const worker = Math.max(0, Number(process.env.VITEST_POOL_ID) - 1 || 0);
  return endpoints[worker % endpoints.length];
}

/**
 * A fresh table on the worker's shared DynamoDB Local, for tests that call use cases directly.
 * `wrap` lets a test put a fault-injecting client in front of the real one.
 */
export async function freshTable(
  wrap: (db: DynamoDBDocumentClient) => DynamoDBDocumentClient = (db) => db,
): Promise<Deps & { raw: DynamoDBDocumentClient; scan: () => Promise<Record<string, unknown>[]> }> {
  const endpoint = workerDynamoEndpoint();
  if (!endpoint) throw new Error('No shared DynamoDB Local: run integration tests through vitest');
  const client = new DynamoDBClient({
    endpoint,
    region: LOCAL_AWS.region,
    credentials: LOCAL_AWS.credentials,
  });
  const tableName = `siyu-unit-${randomUUID().slice(0, 8)}`;
  await ensureTable(client, tableName);
  const raw = createDocumentClient(client);
  const scan = () => scanAll(raw, tableName);
  return { db: wrap(raw), raw, tableName, now: () => new Date(), scan };
}

/** Every item of a table, page by page (tests compare whole tables before and after). */
export async function scanAll(
  db: DynamoDBDocumentClient,
  tableName: string,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: start }));
    items.push(...((page.Items ?? []) as Record<string, unknown>[]));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** A command as an interceptor sees it: its class (by name) and its input. */
export type SentCommand = { constructor: { name: string }; input?: unknown };

/**
 * `db` with every `send` going through `intercept`, which gets the command and the real `send`:
 * the one place tests put faults in front of the database.
 */
export function interceptSend(
  db: DynamoDBDocumentClient,
  intercept: (command: SentCommand, send: (command: unknown) => Promise<unknown>) => Promise<unknown>,
): DynamoDBDocumentClient {
  const send = db.send.bind(db) as (command: unknown) => Promise<unknown>;
  return new Proxy(db, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return (command: SentCommand) => intercept(command, send);
    },
  });
}

/** A document client that lets every call through and then fails chosen ones (the write happened). */
export function failingAfter(
  db: DynamoDBDocumentClient,
  shouldFail: (command: SentCommand, call: number) => boolean,
): DynamoDBDocumentClient {
  let call = 0;
  return interceptSend(db, async (command, send) => {
    const result = await send(command);
    if (shouldFail(command, call++)) {
      throw Object.assign(new Error('socket timed out after the write'), {
        name: 'TimeoutError',
        $retryable: {},
      });
    }
    return result;
  });
}

/** An event as an outbox item holds it, its envelope parsed. */
export interface StoredOutboxEvent {
  /** The key of the outbox item that holds it (the id of its transaction's first event). */
  pk: string;
  source: string;
  detailType: string;
  detail: EventEnvelope;
}

/** The events of every outbox item among `items`, in order (a transaction's events share one item). */
export function outboxEvents(items: readonly Record<string, unknown>[]): StoredOutboxEvent[] {
  return items.flatMap((item) =>
    storedEvents(item).map((e) => ({
      pk: String(item.pk),
      source: e.source,
      detailType: e.detailType,
      detail: JSON.parse(e.detail) as EventEnvelope,
    })),
  );
}
