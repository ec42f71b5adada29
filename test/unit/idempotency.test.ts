import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { withIdempotency } from '../../shared/http/idempotency.js';
import { toProblem } from '../../shared/http/problem.js';

const throttled = () =>
  Object.assign(new Error('Rate exceeded'), {
    name: 'ThrottlingException',
    $retryable: { throttling: true },
  });

/** A table whose record updates fail `failures` times with throttling; everything else succeeds. */
function table(failures: number) {
  const sent: string[] = [];
  let left = failures;
  const db = {
    send: async (command: unknown) => {
      const name = (command as { constructor: { name: string } }).constructor.name;
      sent.push(name);
      if (command instanceof UpdateCommand && left-- > 0) throw throttled();
      if (command instanceof PutCommand || command instanceof UpdateCommand) return {};
      throw new Error(`unexpected ${name}`);
    },
  } as unknown as DynamoDBDocumentClient;
  return { deps: { db, tableName: 't', now: () => new Date('2026-01-01T00:00:00Z') }, sent };
}

const scope = { tenantId: 't1', caller: 'a', method: 'POST', path: '/v1/contacts', key: 'k1' };

describe('Idempotency-Key record writes after the request ran', () => {
  it('retries a throttled store of the 2xx answer and stores it', async () => {
    const { deps, sent } = table(2);
    let runs = 0;
    const response = await withIdempotency(deps, scope, Buffer.from('{}'), async () => {
      runs++;
      return { statusCode: 201, body: '{"id":"c_1"}' };
    });
    expect(response.statusCode).toBe(201);
    expect(runs).toBe(1);
    expect(sent.filter((n) => n === 'UpdateCommand')).toHaveLength(3);
  });

  it('still answers the 2xx of work that was done when the store stays throttled', async () => {
    const { deps, sent } = table(100);
    const response = await withIdempotency(deps, scope, Buffer.from('{}'), async () => ({
      statusCode: 201,
      body: '{"id":"c_2"}',
    }));
    expect(response).toMatchObject({ statusCode: 201, body: '{"id":"c_2"}' });
    expect(sent.filter((n) => n === 'UpdateCommand').length).toBeGreaterThan(1);
  });
});

describe('Idempotency-Key whose first request has not finished', () => {
  /** A table where the key is claimed already: the claim fails its condition, the read finds `record`. */
  function claimed(record: Record<string, unknown> | undefined) {
    const db = {
      send: async (command: unknown) => {
        if (command instanceof PutCommand) {
          throw new ConditionalCheckFailedException({ message: 'taken', $metadata: {} });
        }
        if (command instanceof GetCommand) return { Item: record };
        throw new Error('unexpected command');
      },
    } as unknown as DynamoDBDocumentClient;
    return { db, tableName: 't', now: () => new Date('2026-01-01T00:00:00Z') };
  }

  it.each([
    ['still in progress', { state: 'in_progress', startedAt: Date.parse('2026-01-01T00:00:00Z') / 1000 }],
    ['being retried (its record gone between claim and read)', undefined],
  ])('answers 409 request-in-progress with Retry-After when the first is %s', async (_, record) => {
    let runs = 0;
    const run = async () => {
      runs++;
      return { statusCode: 201, body: '{}' };
    };
    const body = Buffer.from('{}');
    const bodyHash = createHash('sha256').update(body).digest('hex');
    const deps = claimed(record && { ...record, bodyHash });
    const error = await withIdempotency(deps, scope, body, run).catch((e: unknown) => e);
    const answer = toProblem(error);
    expect(runs).toBe(0);
    expect(answer.statusCode).toBe(409);
    expect(answer.headers).toMatchObject({ 'Retry-After': '1' });
    expect(JSON.parse(answer.body!)).toMatchObject({
      type: 'https://siyu.dev/problems/request-in-progress',
      title: 'Request in progress',
    });
  });
});
