import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTable, LOCAL_AWS, startDynamoDbLocal } from '../../infra/local/dynamodb-local.js';
import { OutboxPoller } from '../../infra/local/outbox-poller.js';
import { workerDynamoEndpoint } from '../support/table.js';

const dir = mkdtempSync(join(tmpdir(), 'siyu-poller-'));
const tableName = `siyu-poller-${randomUUID().slice(0, 8)}`;
let endpoint: string;
let stopOwn: (() => Promise<void>) | undefined;
let db: DynamoDBDocumentClient;

beforeAll(async () => {
  const shared = workerDynamoEndpoint();
  if (shared) endpoint = shared;
  else {
    const own = await startDynamoDbLocal({ inMemory: true });
    endpoint = own.endpoint;
    stopOwn = own.stop;
  }
  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint });
  await ensureTable(client, tableName);
  db = DynamoDBDocumentClient.from(client);
});
afterAll(async () => {
  db?.destroy();
  await stopOwn?.();
  rmSync(dir, { recursive: true, force: true });
});

const put = (id: string) => db.send(new PutCommand({ TableName: tableName, Item: { pk: id, sk: 'X' } }));
const idOf = (record: DynamoDBStreamEvent['Records'][number]) => record.dynamodb?.NewImage?.pk?.S;

describe('outbox poller', () => {
  it('hands records over in order, retries from a reported failure, and resumes from its checkpoint', async () => {
    // Prepare
    const checkpointFile = join(dir, 'checkpoint.json');
    const attempts: string[] = [];
    const done: string[] = [];
    let failedOnce = false;
    const invoke = async (event: DynamoDBStreamEvent) => {
      const batchItemFailures: { itemIdentifier: string }[] = [];
      for (const record of event.Records) {
        const id = idOf(record)!;
        attempts.push(id);
        if (id === 'r3' && !failedOnce) {
          failedOnce = true;
          batchItemFailures.push({ itemIdentifier: record.dynamodb!.SequenceNumber! });
          break;
        }
        done.push(id);
      }
      return { batchItemFailures };
    };

    for (const id of ['r0', 'r1', 'r2', 'r3', 'r4']) await put(id);

    // Act
    const first = new OutboxPoller({
      tableName,
      dynamoEndpoint: endpoint,
      invoke,
      checkpointFile,
      intervalMs: 20,
    });
    first.start();
    await first.catchUp();
    await first.stop();

    // Assess
    expect(done).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
    // Records before the failed one are not handed over again.
    expect(attempts.filter((id) => id === 'r2')).toHaveLength(1);
    expect(attempts.filter((id) => id === 'r3')).toHaveLength(2);

    // A restart reads on from the checkpoint: only the new record.
    await put('r5');
    const seen: string[] = [];
    const second = new OutboxPoller({
      tableName,
      dynamoEndpoint: endpoint,
      checkpointFile,
      intervalMs: 20,
      invoke: async (event) => {
        seen.push(...event.Records.map((r) => idOf(r)!));
        return { batchItemFailures: [] };
      },
    });
    second.start();
    await second.catchUp();
    await second.stop();
    expect(seen).toEqual(['r5']);
  });

  it('hands a filtered consumer only its records, in batches of its size, and checkpoints past the others', async () => {
    // Prepare
    const checkpointFile = join(dir, 'filtered.json');
    const prefix = `F${randomUUID().slice(0, 6)}#`;
    const seen: string[] = [];
    const batches: number[] = [];
    const poller = () =>
      new OutboxPoller({
        tableName,
        dynamoEndpoint: endpoint,
        checkpointFile,
        intervalMs: 20,
        batchSize: 2,
        filter: { pkPrefix: prefix, skPrefix: 'M#' },
        invoke: async (event) => {
          batches.push(event.Records.length);
          seen.push(...event.Records.map((r) => `${idOf(r)}/${r.dynamodb?.NewImage?.sk?.S}`));
          return { batchItemFailures: [] };
        },
      });
    const putKey = (pk: string, sk: string) =>
      db.send(new PutCommand({ TableName: tableName, Item: { pk, sk } }));
    const mine: string[] = [];
    for (let i = 0; i < 5; i++) {
      await putKey(`${prefix}${i}`, `M#${i}`);
      mine.push(`${prefix}${i}/M#${i}`);
      await putKey(`${prefix}${i}`, `D#${i}`);
      for (let j = 0; j < 3; j++) await putKey(`other${j}`, `M#${i}`);
    }

    // Act
    const first = poller();
    first.start();
    await first.catchUp();
    await first.stop();
    await putKey('other', 'M#9');
    const second = poller();
    second.start();
    await second.catchUp();
    await second.stop();

    // Assess: its records once, in order, at most 2 a batch (the others read past in between);
    // the restart found nothing of its own after the checkpoint.
    expect(seen).toEqual(mine);
    expect(Math.max(...batches)).toBeLessThanOrEqual(2);
  });
});
