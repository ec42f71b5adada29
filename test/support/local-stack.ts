import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LOCAL_AWS } from '../../infra/local/dynamodb-local.js';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../infra/local/stack.js';
import { createDocumentClient } from '../../shared/db/client.js';
import { scanAll, workerDynamoEndpoint } from './table.js';

export interface TestResponse<T = unknown> {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON (undefined when empty or not JSON). */
  body: T;
}

export interface TestStack extends LocalStack {
  request<T = unknown>(
    method: string,
    path: string,
    options?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<TestResponse<T>>;
  /** Every item of the stack's table. */
  scan(): Promise<Record<string, unknown>[]>;
}

/**
 * A full local stack for one test file, on free ports: by default on the run's shared DynamoDB
 * Local with a table of its own (so files do not interfere), schedules off, nothing on disk.
 * Stop it in `afterAll`.
 */
export async function startTestStack(
  options: LocalStackOptions & {
    /** A DynamoDB Local of its own (a long load then starts clean of the other files' streams). */
    ownDynamo?: boolean;
  } = {},
): Promise<TestStack> {
  const { ownDynamo, ...stackOptions } = options;
  const shared = ownDynamo ? undefined : workerDynamoEndpoint();
  const stack = await startLocalStack({
    port: 0,
    schedules: false,
    tableName: `siyu-test-${randomUUID().slice(0, 8)}`,
    eventRetryBackoffMs: 20,
    inMemory: true,
    ...(shared ? { dynamoEndpoint: shared } : {}),
    ...stackOptions,
  });
  const db = createDocumentClient(
    new DynamoDBClient({
      endpoint: stack.dynamoEndpoint,
      region: LOCAL_AWS.region,
      credentials: LOCAL_AWS.credentials,
    }),
  );
  const stop = stack.stop.bind(stack);
  return Object.assign(stack, {
    scan: () => scanAll(db, stack.tableName),
    stop: async () => {
      await stop();
      // The run's shared DynamoDB Local keeps every table in memory: a finished file's goes.
      // Only an already dropped table is fine; any other failure is reported.
      if (shared) {
        await db.send(new DeleteTableCommand({ TableName: stack.tableName })).catch((error: Error) => {
          if (error.name !== 'ResourceNotFoundException') throw error;
        });
      }
      db.destroy();
    },
    request: <T>(
      method: string,
      path: string,
      options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
    ) => request<T>(stack.url, method, path, options),
  });
}

export async function request<T = unknown>(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<TestResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | Uint8Array | undefined;
  if (options.body !== undefined) {
    body =
      typeof options.body === 'string' || options.body instanceof Uint8Array
        ? options.body
        : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, text, body: parsed as T };
}
