import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_AWS } from '../../infra/local/dynamodb-local.js';
import { ContactCreated, JobQueued } from '../../shared/events/catalog.js';
import { makeEvent, outboxItem } from '../../shared/events/outbox.js';
import { defaultSettings } from '../../shared/schemas/settings.js';
import { startTestStack, type TestStack } from '../support/local-stack.js';
import { adminToken, token, unsignedToken } from '../support/tokens.js';

let stack: TestStack;
const tenant = `t-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe('local stack: HTTP', () => {
  it('serves health and the OpenAPI document without a token', async () => {
    const health = await stack.request('GET', '/v1/health');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });

    const openapi = await stack.request<{ openapi: string }>('GET', '/v1/openapi.json');
    expect(openapi.status).toBe(200);
    expect(openapi.headers.get('content-type')).toMatch(/^application\/json/);
    expect(openapi.body.openapi).toBe('3.1.0');
  });

  it('answers 404 like API Gateway for an undeclared route', async () => {
    const res = await stack.request('GET', '/v1/nope');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ message: 'Not Found' });
    expect((await stack.request('DELETE', '/v1/settings')).status).toBe(404);
  });

  it('requires a valid token on jwt routes', async () => {
    const none = await stack.request('GET', '/v1/settings');
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toMatch(/^application\/json/);
    expect(none.body).toEqual({ message: 'Unauthorized' });

    const bad = [
      unsignedToken(tenant),
      await token(tenant, 'admin', 'a1', { secret: 'another-secret' }),
      await token(tenant, 'admin', 'a1', { audience: 'someone-else' }),
      await token(tenant, 'admin', 'a1', { issuer: 'https://elsewhere' }),
      await token(tenant, 'admin', 'a1', { ttlSeconds: -60 }),
      'not-a-jwt',
    ];
    for (const t of bad) {
      const res = await stack.request('GET', '/v1/settings', { token: t });
      expect(res.status, t).toBe(401);
      expect(res.body).toEqual({ message: 'Unauthorized' });
    }
  });

  it('reads default settings and round-trips a change', async () => {
    const admin = await adminToken(tenant);
    const first = await stack.request('GET', '/v1/settings', { token: admin });
    expect(first.status).toBe(200);
    expect(first.body).toEqual(defaultSettings);
    expect(first.body).toMatchObject({ timezone: 'Asia/Shanghai', currency: 'CNY' });

    const put = await stack.request('PUT', '/v1/settings', {
      token: admin,
      body: { timezone: 'Europe/Berlin', rfm: { windowDays: 90 } },
    });
    expect(put.status).toBe(200);
    const again = await stack.request('GET', '/v1/settings', { token: admin });
    expect(again.body).toEqual({ ...defaultSettings, timezone: 'Europe/Berlin', rfm: { windowDays: 90 } });

    // Another tenant still sees its defaults.
    const other = await stack.request('GET', '/v1/settings', { token: await adminToken(`${tenant}-b`) });
    expect(other.body).toEqual(defaultSettings);
  });

  it('passes bodies past 1 MiB on, so the function answers 413', async () => {
    const big = JSON.stringify({ timezone: 'x'.repeat(1024 * 1024 + 10) });
    const res = await stack.request('PUT', '/v1/settings', { token: await adminToken(tenant), body: big });
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });

  it("refuses bodies past API Gateway's 10 MiB itself", async () => {
    const huge = new Uint8Array(10 * 1024 * 1024 + 1).fill(0x20);
    const res = await stack.request('PUT', '/v1/settings', { token: await adminToken(tenant), body: huge });
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });

  it('decodes path parameters', async () => {
    const res = await stack.request('GET', '/v1/jobs/job_missing%2Dx', { token: await adminToken(tenant) });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });
});

describe('local stack: events', () => {
  it('accepts PutEvents from the AWS SDK and keeps them in the event log', async () => {
    const client = new EventBridgeClient({ ...LOCAL_AWS, endpoint: `${stack.url}/__aws/events` });
    const detailType = `Probe${randomUUID().slice(0, 6)}`;
    const out = await client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: stack.eventBusName,
            Source: 'siyu.test',
            DetailType: detailType,
            Detail: '{"n":1}',
          },
          { EventBusName: 'no-such-bus', Source: 'siyu.test', DetailType: detailType, Detail: '{"n":2}' },
        ],
      }),
    );
    client.destroy();
    expect(out.FailedEntryCount).toBe(1);
    expect(out.Entries?.[0]?.EventId).toBeTruthy();
    expect(out.Entries?.[1]?.ErrorCode).toBe('ResourceNotFoundException');

    const log = await stack.request<{ items: { id: string; detail: unknown }[] }>(
      'GET',
      `/__local/events?detailType=${detailType}`,
    );
    expect(log.body.items).toEqual([
      expect.objectContaining({ id: out.Entries?.[0]?.EventId, detail: { n: 1 } }),
    ]);
  });

  it('publishes committed outbox items from the table stream and delivers rule targets', async () => {
    // Prepare: two outbox items as a commit leaves them in the table
    const db = DynamoDBDocumentClient.from(
      new DynamoDBClient({ ...LOCAL_AWS, endpoint: stack.dynamoEndpoint }),
    );
    const contact = makeEvent(ContactCreated, tenant, {
      contactId: 'c1',
      channel: 'wecom',
      accountId: null,
      ownerStaffId: null,
      addedAt: new Date().toISOString(),
    });
    const wake = makeEvent(JobQueued, tenant, { jobId: 'job_none' });
    for (const event of [contact, wake]) {
      await db.send(new PutCommand({ TableName: stack.tableName, Item: outboxItem([event]) }));
    }
    db.destroy();

    // Act
    const drained = await stack.request('POST', '/__local/drain');

    // Assess
    expect(drained.status).toBe(200);

    const published = stack.events({ detailType: 'ContactCreated' });
    expect(published.map((e) => (e.detail as { metadata: { eventId: string } }).metadata.eventId)).toContain(
      contact.detail.metadata.eventId,
    );
    const [queued] = stack
      .events({ detailType: 'JobQueued' })
      .filter(
        (e) =>
          (e.detail as { metadata: { eventId: string } }).metadata.eventId === wake.detail.metadata.eventId,
      );
    // The rule's target ran (the job does not exist: the worker reports it and succeeds).
    expect(queued?.deliveries).toEqual([
      expect.objectContaining({ rule: 'jobQueued', fn: 'jobWorker', status: 'succeeded', attempts: 1 }),
    ]);
  });

  it('runs a schedule on demand', async () => {
    const run = await stack.request('POST', '/__local/schedules/jobSweep', {
      body: { now: '2025-01-31T02:00:00+08:00' },
    });
    expect(run.status).toBe(200);
    expect(run.body).toEqual({ woken: 0 });
    expect((await stack.request('POST', '/__local/schedules/nope')).status).toBe(404);
  });
});
