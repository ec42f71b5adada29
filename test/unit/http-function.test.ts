import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Deps } from '../../shared/app/deps.js';
import { settingsRoutes } from '../../shared/app/routes/settings.js';
import { createDocumentClient } from '../../shared/db/client.js';
import { httpFunction } from '../../shared/http/http-function.js';
import { defaultSettings } from '../../shared/schemas/settings.js';
import { httpEvent, lambdaContext } from '../support/events.js';

const ddb = mockClient(DynamoDBDocumentClient);
const deps: Deps = {
  db: createDocumentClient(new DynamoDBClient({ region: 'us-east-1' })),
  tableName: 'unit',
  now: () => new Date('2026-01-01T00:00:00Z'),
};
const admin = { tenant_id: 't1', role: 'admin', sub: 'boss' };
const staff = { tenant_id: 't1', role: 'staff', sub: 'amy' };

afterEach(() => {
  ddb.reset();
});

function settingsFunction() {
  const put = vi.fn(async () => ({ body: defaultSettings }));
  const get = vi.fn(async () => ({ body: defaultSettings }));
  const handler = httpFunction(settingsRoutes, { 'GET /v1/settings': get, 'PUT /v1/settings': put }, deps);
  const call = async (event: ReturnType<typeof httpEvent>) =>
    (await handler(event, lambdaContext)) as APIGatewayProxyStructuredResultV2;
  return { put, get, call };
}

const problem = (res: APIGatewayProxyStructuredResultV2) => JSON.parse(String(res.body));

describe('httpFunction', () => {
  it('answers 401 problem+json when the authorizer passed no claims', async () => {
    const { call, get } = settingsFunction();

    const res = await call(httpEvent('GET /v1/settings'));

    expect(res.statusCode).toBe(401);
    expect(res.headers?.['content-type']).toBe('application/problem+json');
    expect(problem(res)).toMatchObject({ status: 401, title: 'Unauthorized' });
    expect(get).not.toHaveBeenCalled();
  });

  it('rejects a token whose tenant id could break out of its keys', async () => {
    const { call } = settingsFunction();

    const res = await call(httpEvent('GET /v1/settings', { claims: { ...admin, tenant_id: 't1#x' } }));

    expect(res.statusCode).toBe(401);
  });

  it('forbids staff on an admin route, after finding their staff item', async () => {
    ddb.on(GetCommand).resolves({ Item: { id: 'amy', status: 'active' } });
    const { call, put } = settingsFunction();

    const res = await call(httpEvent('PUT /v1/settings', { claims: staff, body: '{}' }));

    expect(res.statusCode).toBe(403);
    expect(put).not.toHaveBeenCalled();
  });

  it('forbids a staff token without a staff item, or of a staff member who left', async () => {
    const { call } = settingsFunction();
    ddb.on(GetCommand).resolves({});
    expect((await call(httpEvent('GET /v1/settings', { claims: staff }))).statusCode).toBe(403);
    ddb.on(GetCommand).resolves({ Item: { id: 'amy', status: 'left' } });
    expect((await call(httpEvent('GET /v1/settings', { claims: staff }))).statusCode).toBe(403);
  });

  it('lets active staff use a route open to them', async () => {
    ddb.on(GetCommand).resolves({ Item: { id: 'amy', status: 'active' } });
    const { call, get } = settingsFunction();

    const res = await call(httpEvent('GET /v1/settings', { claims: staff }));

    expect(res.statusCode).toBe(200);
    expect(get).toHaveBeenCalledOnce();
  });

  it.each([
    ['an unknown field', '{"tenantId":"t2"}', 'tenantId', 'unknown field'],
    ['a bad time zone', '{"timezone":"Mars/Base"}', 'timezone', 'IANA'],
    ['a bad currency', '{"currency":"XYZ"}', 'currency', 'ISO 4217'],
    ['a wrong type', '{"rfm":{"windowDays":"a year"}}', 'rfm.windowDays', ''],
    ['invalid JSON', '{"timezone":', '(body)', 'invalid JSON'],
  ])('answers 400 with one entry per bad field for %s, and calls nothing', async (_, body, path, message) => {
    const { call, put } = settingsFunction();

    const res = await call(httpEvent('PUT /v1/settings', { claims: admin, body }));

    expect(res.statusCode).toBe(400);
    const errors = problem(res).errors as { path: string; message: string }[];
    expect(errors.some((e) => e.path === path && e.message.includes(message))).toBe(true);
    expect(put).not.toHaveBeenCalled();
  });

  it('answers 413 for a body over 1 MiB', async () => {
    const { call, put } = settingsFunction();
    const body = Buffer.from(JSON.stringify({ timezone: 'x'.repeat(1024 * 1024) }));

    const res = await call(httpEvent('PUT /v1/settings', { claims: admin, body }));

    expect(res.statusCode).toBe(413);
    expect(put).not.toHaveBeenCalled();
  });

  it('turns throttling into 503 with Retry-After', async () => {
    const { call, get } = settingsFunction();
    get.mockRejectedValueOnce(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));

    const res = await call(httpEvent('GET /v1/settings', { claims: admin }));

    expect(res.statusCode).toBe(503);
    expect(res.headers?.['Retry-After']).toBe('1');
  });

  it('hides the detail of an unexpected error behind a plain 500', async () => {
    const { call, get } = settingsFunction();
    get.mockRejectedValueOnce(new Error('secret table layout'));

    const res = await call(httpEvent('GET /v1/settings', { claims: admin }));

    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('secret');
  });

  it('answers 504 (outcome unknown) with Retry-After when a request is about to outlive the time limit', async () => {
    const { get } = settingsFunction();
    get.mockImplementationOnce(
      () => new Promise((resolve) => setTimeout(() => resolve({ body: defaultSettings }), 1_000)),
    );
    const handler = httpFunction(
      settingsRoutes,
      { 'GET /v1/settings': get, 'PUT /v1/settings': vi.fn() },
      deps,
    );
    const shortContext = { awsRequestId: 'r', getRemainingTimeInMillis: () => 600 } as never;

    const res = (await handler(
      httpEvent('GET /v1/settings', { claims: admin }),
      shortContext,
    )) as APIGatewayProxyStructuredResultV2;

    expect(res.statusCode).toBe(504);
    expect(res.headers?.['Retry-After']).toBe('1');
    expect(res.headers?.['content-type']).toBe('application/problem+json');
  });

  it('refuses to build a function that leaves a declared route unimplemented', () => {
    expect(() =>
      httpFunction(settingsRoutes, { 'GET /v1/settings': async () => ({}) } as never, deps),
    ).toThrow(/does not implement PUT \/v1\/settings/);
  });
});
