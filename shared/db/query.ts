import { QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { Deps } from '../app/deps.js';

/** Every item a query matches, page after page (1 MB each), following `LastEvaluatedKey`. */
export async function* queryAll<T = Record<string, unknown>>(
  deps: Pick<Deps, 'db' | 'tableName'>,
  input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey'>,
): AsyncGenerator<T> {
  let start: Record<string, unknown> | undefined;
  do {
    const page = await deps.db.send(
      new QueryCommand({ TableName: deps.tableName, ...input, ExclusiveStartKey: start }),
    );
    for (const item of page.Items ?? []) yield item as T;
    start = page.LastEvaluatedKey;
  } while (start);
}

/** How many items a query matches (`Select: COUNT`, page after page). */
export async function countAll(
  deps: Pick<Deps, 'db' | 'tableName'>,
  input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey' | 'Select'>,
): Promise<number> {
  let count = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await deps.db.send(
      new QueryCommand({ TableName: deps.tableName, ...input, Select: 'COUNT', ExclusiveStartKey: start }),
    );
    count += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start);
  return count;
}
