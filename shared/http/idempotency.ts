import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Deps } from '../app/deps.js';
import { keys } from '../db/keys.js';
import { isTransientAwsError, RequestInProgressError, UnprocessableError } from '../errors.js';
import { logger } from '../logger.js';

const WINDOW_SECONDS = 24 * 3600;
/** An in-progress record older than this is taken as abandoned (the Lambda died). */
const IN_PROGRESS_SECONDS = 60;
/** Writes of the record after the request ran (each already retried by the SDK). */
const RECORD_WRITE_ATTEMPTS = 4;

export interface IdempotencyScope {
  tenantId: string;
  caller: string;
  method: string;
  path: string;
  key: string;
}

/**
 * `Idempotency-Key` per API.md: scoped to tenant, caller, method and concrete path; the same key
 * with a byte-identical body within 24 h replays the first 2xx response; another body is 422.
 *
 * Primary course:
 *  1. Claim the key with a conditional put (in progress, with the body's hash).
 *  2. Run the request; store a 2xx response on the record, or delete the record otherwise.
 *  3. A second request finds the record: same body → the stored response; other body → 422;
 *     still in progress → 409.
 */
export async function withIdempotency(
  deps: Pick<Deps, 'db' | 'tableName' | 'now'>,
  scope: IdempotencyScope,
  rawBody: Buffer,
  run: () => Promise<APIGatewayProxyStructuredResultV2>,
): Promise<APIGatewayProxyStructuredResultV2> {
  const scopeHash = sha256(
    JSON.stringify([scope.tenantId, scope.caller, scope.method, scope.path, scope.key]),
  );
  const key = keys.idempotency(scopeHash);
  const bodyHash = sha256(rawBody);
  const nowSeconds = Math.floor(deps.now().getTime() / 1000);

  try {
    await deps.db.send(
      new PutCommand({
        TableName: deps.tableName,
        Item: {
          ...key,
          tenantId: scope.tenantId,
          state: 'in_progress',
          bodyHash,
          startedAt: nowSeconds,
          ttl: nowSeconds + WINDOW_SECONDS,
        },
        ConditionExpression:
          'attribute_not_exists(pk) OR #ttl < :now OR (#state = :progress AND startedAt < :stale)',
        ExpressionAttributeNames: { '#ttl': 'ttl', '#state': 'state' },
        ExpressionAttributeValues: {
          ':now': nowSeconds,
          ':progress': 'in_progress',
          ':stale': nowSeconds - IN_PROGRESS_SECONDS,
        },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const existing = (
      await deps.db.send(new GetCommand({ TableName: deps.tableName, Key: key, ConsistentRead: true }))
    ).Item;
    if (!existing)
      throw new RequestInProgressError(
        'The request with this Idempotency-Key is being retried; retry shortly.',
      );
    if (existing.bodyHash !== bodyHash) {
      throw new UnprocessableError('This Idempotency-Key was used with a different request body.');
    }
    if (existing.state !== 'completed') {
      throw new RequestInProgressError('A request with this Idempotency-Key is still in progress.');
    }
    const stored = existing.response as APIGatewayProxyStructuredResultV2;
    return { ...stored, headers: { ...(stored.headers ?? {}), 'idempotent-replayed': 'true' } };
  }

  let response: APIGatewayProxyStructuredResultV2;
  try {
    response = await run();
  } catch (error) {
    await bestEffort('release', () => release(deps, key));
    throw error;
  }
  const status = response.statusCode ?? 200;
  if (status >= 200 && status < 300) {
    const about = contactIdOf(scope.path, response.body);
    const store = () =>
      deps.db.send(
        new UpdateCommand({
          TableName: deps.tableName,
          Key: key,
          UpdateExpression: `SET #state = :done, #response = :response${about ? ', gsi1pk = :about, gsi1sk = :scope' : ''}`,
          ExpressionAttributeNames: { '#state': 'state', '#response': 'response' },
          ExpressionAttributeValues: {
            ':done': 'completed',
            ':response': { statusCode: status, headers: response.headers ?? {}, body: response.body ?? '' },
            ...(about ? { ':about': keys.idempotencyAbout(scope.tenantId, about), ':scope': scopeHash } : {}),
          },
        }),
      );
    await bestEffort('store', store);
  } else {
    await bestEffort('release', () => release(deps, key));
  }
  return response;
}

/**
 * The request's work is done: a throttled write of its record must not turn the answer into a
 * 503 (the client would send it again and do it twice). The write is tried a few more times; if it
 * still fails, the answer goes out and the record stays in progress — a retry with the key within
 * 60 s gets 409, later it runs again, as without a record.
 */
async function bestEffort(what: 'store' | 'release', write: () => Promise<unknown>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await write();
      return;
    } catch (error) {
      if (!isTransientAwsError(error)) throw error;
      if (attempt >= RECORD_WRITE_ATTEMPTS) {
        logger.warn('idempotency record not updated', { what, errorName: (error as Error).name });
        return;
      }
      await sleep(50 * 2 ** attempt);
    }
  }
}

async function release(deps: Pick<Deps, 'db' | 'tableName'>, key: { pk: string; sk: string }): Promise<void> {
  await deps.db.send(new DeleteCommand({ TableName: deps.tableName, Key: key }));
}

/** The contact a stored response is about, so erasure can cut it down to ids. */
function contactIdOf(path: string, body: unknown): string | null {
  const match = /^\/v1\/contacts\/([^/]+)/.exec(path);
  if (match?.[1]) return decodeURIComponent(match[1]);
  if (path === '/v1/contacts' && typeof body === 'string') {
    try {
      const id = (JSON.parse(body) as { id?: unknown }).id;
      return typeof id === 'string' ? id : null;
    } catch {
      return null;
    }
  }
  return null;
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
