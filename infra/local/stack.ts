import { resolve } from 'node:path';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { streamConsumers } from '../../shared/app/declaration.js';
import { tableDefinition } from '../../shared/db/table-definition.js';
import {
  type DynamoDbLocal,
  ensureTable,
  LOCAL_AWS,
  PROJECT_ROOT,
  startDynamoDbLocal,
} from './dynamodb-local.js';
import { LocalEventBus, type PublishedEvent } from './event-bus.js';
import { jwtSecret } from './jwt.js';
import { localLog, sleep } from './log.js';
import { OutboxPoller } from './outbox-poller.js';
import { createRuntime, type Runtime } from './runtime.js';
import { LocalScheduler } from './scheduler.js';
import { startLocalServer } from './server.js';

export const DEFAULT_DATA_DIR = resolve(PROJECT_ROOT, '.data');

export interface LocalStackOptions {
  /** HTTP port (default 3000; 0 picks a free one). */
  port?: number;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** DynamoDB Local port (a free one when left out). */
  dynamoPort?: number;
  /** Use this running DynamoDB (e.g. a shared test instance) instead of starting one. */
  dynamoEndpoint?: string;
  /**
   * Data directory: DynamoDB Local's files under `dynamodb/`, each stream consumer's checkpoint
   * beside them.
   * Default `.data` of the project.
   */
  dataDir?: string;
  /** DynamoDB Local keeps nothing on disk, and the stream checkpoints stay in memory. */
  inMemory?: boolean;
  /** Run the declared schedules on their periods (default true). */
  schedules?: boolean;
  tableName?: string;
  eventBusName?: string;
  jwtSecret?: string;
  region?: string;
  /** Stream poll period in ms (default 100). */
  pollIntervalMs?: number;
  /** First retry delay of a failed event delivery in ms (default 200, doubling). */
  eventRetryBackoffMs?: number;
}

export interface LocalStack {
  url: string;
  port: number;
  dynamoEndpoint: string;
  /** Process id of the stack's own DynamoDB Local (absent when `dynamoEndpoint` was given). */
  dynamoPid?: number;
  dynamoPort?: number;
  tableName: string;
  eventBusName: string;
  runtime: Runtime;
  /** Waits until the stream is read up to date and every event delivery (and what it caused) finished. */
  drain(timeoutMs?: number): Promise<void>;
  /** Events published on the local bus, oldest first. */
  events(filter?: { detailType?: string; source?: string }): PublishedEvent[];
  /** Stops everything this stack started, DynamoDB Local last. Idempotent. */
  stop(): Promise<void>;
}

/** Starts DynamoDB Local, the table, the handlers, the HTTP server, the stream pollers and the scheduler. */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const tableName = options.tableName ?? 'siyu-local';
  const eventBusName = options.eventBusName ?? 'siyu-local';
  const region = options.region ?? 'us-east-1';
  const dataDir = resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanup = async () => {
    for (const step of cleanups.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        localLog.warn('stop step failed', { error });
      }
    }
  };

  try {
    let dynamo: DynamoDbLocal | undefined;
    let dynamoEndpoint = options.dynamoEndpoint;
    if (!dynamoEndpoint) {
      dynamo = await startDynamoDbLocal({
        ...(options.dynamoPort !== undefined ? { port: options.dynamoPort } : {}),
        dataDir: resolve(dataDir, 'dynamodb'),
        inMemory: Boolean(options.inMemory),
      });
      cleanups.push(() => dynamo?.stop());
      dynamoEndpoint = dynamo.endpoint;
    }

    const admin = new DynamoDBClient({ ...LOCAL_AWS, region, endpoint: dynamoEndpoint });
    cleanups.push(() => admin.destroy());
    await ensureTable(admin, tableName);
    /**
     * DynamoDB Local answers TransactWriteItems before its SQLite commit has run (the commit waits
     * in its single, ordered work queue), so a crash right after the answer loses the write. A
     * read queued behind it returns only after that commit: the server waits for one before it
     * sends a success, so an acknowledged write survives a killed DynamoDB Local, as on AWS.
     */
    const durable = async () => {
      await admin.send(
        new GetItemCommand({
          TableName: tableName,
          Key: {
            [tableDefinition.partitionKey]: { S: '__local#durability' },
            [tableDefinition.sortKey]: { S: '__local#durability' },
          },
          ConsistentRead: true,
        }),
        { abortSignal: AbortSignal.timeout(10_000) },
      );
    };

    const server = await startLocalServer({
      port: options.port ?? 3000,
      ...(options.host ? { host: options.host } : {}),
    });
    cleanups.push(() => server.close());

    const runtime = await createRuntime({
      tableName,
      eventBusName,
      dynamoEndpoint,
      eventsEndpoint: `${server.url}/__aws/events`,
      region,
    });
    cleanups.push(() => runtime.close());

    const bus = new LocalEventBus({
      busName: eventBusName,
      region,
      invoke: (fn, event) => runtime.invoke(fn, event),
      ...(options.eventRetryBackoffMs !== undefined ? { backoffMs: options.eventRetryBackoffMs } : {}),
    });
    cleanups.push(() => bus.close());

    const scheduler = new LocalScheduler((fn, event) => runtime.invoke(fn, event));
    cleanups.push(() => scheduler.stop());

    // One poller per stream consumer of the declaration, each with its filter and checkpoint (as
    // each has its own event source mapping on AWS).
    const pollers = Object.entries(streamConsumers).map(([name, consumer]) => {
      const poller = new OutboxPoller({
        tableName,
        dynamoEndpoint,
        region,
        invoke: (event: DynamoDBStreamEvent) => runtime.invoke(consumer.fn, event),
        filter: consumer.filter,
        batchSize: consumer.batchSize,
        ...(options.inMemory
          ? {}
          : { checkpointFile: resolve(dataDir, `stream-checkpoint.${tableName}.${name}.json`) }),
        ...(options.pollIntervalMs !== undefined ? { intervalMs: options.pollIntervalMs } : {}),
      });
      cleanups.push(() => poller.stop());
      return poller;
    });
    /** Every stream consumer caught up: a full pass of each found nothing left (records handled). */
    const catchUp = async () =>
      (await Promise.all(pollers.map((p) => p.catchUp()))).reduce((a, b) => a + b, 0);

    const drain = async (timeoutMs = 30_000) => {
      const work = (async () => {
        for (;;) {
          await Promise.all([bus.idle(), scheduler.idle()]);
          const handled = await catchUp();
          if (handled === 0 && bus.pending === 0 && !scheduler.busy) return true;
        }
      })();
      work.catch(() => {});
      const timer = new AbortController();
      const timeout = sleep(timeoutMs, timer.signal).then(() => false);
      try {
        if (!(await Promise.race([work, timeout])))
          throw new Error(`Not drained after ${timeoutMs} ms (${bus.pending} event deliveries in flight).`);
      } finally {
        timer.abort();
      }
    };

    server.attach({
      invoke: (fn, event) => runtime.invoke(fn, event),
      bus,
      scheduler,
      drain,
      jwtSecret: options.jwtSecret ?? jwtSecret(),
      durable,
    });
    for (const poller of pollers) poller.start();
    if (options.schedules ?? true) scheduler.start();

    let stopping: Promise<void> | undefined;
    return {
      url: server.url,
      port: server.port,
      dynamoEndpoint,
      ...(dynamo ? { dynamoPid: dynamo.pid, dynamoPort: dynamo.port } : {}),
      tableName,
      eventBusName,
      runtime,
      drain,
      events: (filter) => bus.events(filter),
      stop: () => {
        // Reverse order of start: poller, scheduler, bus (in-flight deliveries get a grace period
        // and can still reach the server), runtime, server, DynamoDB Local.
        stopping ??= cleanup();
        return stopping;
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
