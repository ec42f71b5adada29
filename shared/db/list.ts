import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Deps } from '../app/deps.js';
import { type CursorBinding, decodeCursor, encodeCursor } from '../http/cursor.js';

/** One page of the items of a partition whose sort key starts with `prefix`, with a bound cursor. */
export async function listByPrefix<T>(
  deps: Pick<Deps, 'db' | 'tableName'>,
  options: { pk: string; prefix: string; limit: number; cursor?: string; binding: CursorBinding },
): Promise<{ items: T[]; nextCursor: string | null }> {
  const start = decodeCursor(
    options.cursor,
    options.binding,
    (key) => key.pk === options.pk && String(key.sk).startsWith(options.prefix),
  );
  const out = await deps.db.send(
    new QueryCommand({
      TableName: deps.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': options.pk, ':prefix': options.prefix },
      ExclusiveStartKey: start,
      Limit: options.limit,
    }),
  );
  const last = out.LastEvaluatedKey
    ? { pk: out.LastEvaluatedKey.pk, sk: out.LastEvaluatedKey.sk }
    : undefined;
  return { items: (out.Items ?? []) as T[], nextCursor: encodeCursor(last, options.binding) };
}
