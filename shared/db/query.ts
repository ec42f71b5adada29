import { setTimeout as sleep } from 'node:timers/promises';
import {
  BatchGetCommand,
  BatchWriteCommand,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  type ScanCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { Deps } from '../app/deps.js';
import type { Key } from './unit-of-work.js';

type Page = { Items?: Record<string, unknown>[]; Count?: number; LastEvaluatedKey?: Record<string, unknown> };

/** Every page of a Query or Scan (1 MB each), `read(start)` sent again from `LastEvaluatedKey`. */
async function* pages(
  read: (start: Record<string, unknown> | undefined) => Promise<Page>,
): AsyncGenerator<Page> {
  let start: Record<string, unknown> | undefined;
  do {
    const page = await read(start);
    yield page;
    start = page.LastEvaluatedKey;
  } while (start);
}

/** Every item a query matches, page after page (1 MB each), following `LastEvaluatedKey`. */
export async function* queryAll<T = Record<string, unknown>>(
  deps: Pick<Deps, 'db' | 'tableName'>,
  input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey'>,
): AsyncGenerator<T> {
  for await (const page of pages((start) =>
    deps.db.send(new QueryCommand({ TableName: deps.tableName, ...input, ExclusiveStartKey: start })),
  )) {
    for (const item of page.Items ?? []) yield item as T;
  }
}

/** Every item a scan matches, page after page (for maintenance tools: requests never scan). */
export async function* scanAll<T = Record<string, unknown>>(
  deps: Pick<Deps, 'db' | 'tableName'>,
  input: Omit<ScanCommandInput, 'TableName' | 'ExclusiveStartKey'>,
): AsyncGenerator<T> {
  for await (const page of pages((start) =>
    deps.db.send(new ScanCommand({ TableName: deps.tableName, ...input, ExclusiveStartKey: start })),
  )) {
    for (const item of page.Items ?? []) yield item as T;
  }
}

/** How many items a query matches (`Select: COUNT`, page after page). */
export async function countAll(
  deps: Pick<Deps, 'db' | 'tableName'>,
  input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey' | 'Select'>,
): Promise<number> {
  let count = 0;
  for await (const page of pages((start) =>
    deps.db.send(
      new QueryCommand({ TableName: deps.tableName, ...input, Select: 'COUNT', ExclusiveStartKey: start }),
    ),
  )) {
    count += page.Count ?? 0;
  }
  return count;
}

/** DynamoDB's ceiling for one BatchGetItem call. */
const BATCH_GET_KEYS = 100;

/**
 * The items of these keys that exist, 100 keys per BatchGetItem, `UnprocessedKeys` read again
 * with backoff until none is left (order not kept; missing items left out).
 */
export async function batchGetAll<T = Record<string, unknown>>(
  deps: Pick<Deps, 'db' | 'tableName'>,
  keys: readonly Key[],
  options: { consistent?: boolean; projection?: string } = {},
): Promise<T[]> {
  const found: T[] = [];
  for (let i = 0; i < keys.length; i += BATCH_GET_KEYS) {
    let request:
      | Record<string, { Keys: Key[]; ConsistentRead?: boolean; ProjectionExpression?: string }>
      | undefined = {
      [deps.tableName]: {
        Keys: keys.slice(i, i + BATCH_GET_KEYS),
        ...(options.consistent ? { ConsistentRead: true } : {}),
        ...(options.projection ? { ProjectionExpression: options.projection } : {}),
      },
    };
    for (let attempt = 0; request && Object.keys(request).length; attempt++) {
      const out = await deps.db.send(new BatchGetCommand({ RequestItems: request }));
      found.push(...((out.Responses?.[deps.tableName] ?? []) as T[]));
      request = out.UnprocessedKeys as typeof request;
      if (request && Object.keys(request).length) await sleep(Math.min(1000, 20 * 2 ** attempt));
    }
  }
  return found;
}

/** One request of a BatchWriteItem call: put an item whole, or delete one. */
export type WriteRequest =
  | { PutRequest: { Item: Record<string, unknown> } }
  | { DeleteRequest: { Key: Key } };

/**
 * Writes the requests 25 per BatchWriteItem, `inFlight` calls at a time, `UnprocessedItems` sent
 * again with backoff until none is left. No condition, no atomicity: for items nobody else writes
 * meanwhile (contacts a segmentation run holds, its stored plan), seeding, and maintenance tools
 * that run while writes are paused.
 */
export async function batchWriteAll(
  deps: Pick<Deps, 'db' | 'tableName'>,
  requests: readonly WriteRequest[],
  inFlight = 4,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < requests.length && !failure) {
      const batch = requests.slice(next, next + 25);
      next += 25;
      let request: Record<string, WriteRequest[]> | undefined = { [deps.tableName]: batch };
      try {
        for (let attempt = 0; request && Object.keys(request).length; attempt++) {
          const out = await deps.db.send(new BatchWriteCommand({ RequestItems: request }));
          request = out.UnprocessedItems as typeof request;
          if (request && Object.keys(request).length) await sleep(Math.min(1000, 20 * 2 ** attempt));
        }
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  // After a failure no batch starts, and the error is raised once those in flight have settled:
  // nothing of this call is written after it returns.
  await Promise.all(Array.from({ length: inFlight }, worker));
  if (failure) throw failure.error;
}
