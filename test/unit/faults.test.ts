import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import {
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  ThrottlingException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { contactKeys, getContacts } from '../../shared/db/contact-store.js';
import { keys } from '../../shared/db/keys.js';
import { existingKeys } from '../../shared/db/posting-store.js';
import { httpEvent, lambdaContext } from '../support/events.js';
import { body, signGeneric } from '../support/webhooks.js';

/**
 * Throttling and timeouts at the SDK client, with the real function handlers and `httpFunction`:
 * `DynamoDBDocumentClient` is mocked by a small in-memory table (puts of a transaction applied all
 * together) whose chosen calls fail. A fault gives a clean 503 with `Retry-After` and leaves the
 * table as it was — or, for the bulk import, results that say exactly what was stored. Batch
 * reads and writes are retried until nothing is left unprocessed.
 */
const { TABLE } = vi.hoisted(() => {
  process.env.TABLE_NAME = 'unit-faults';
  // Every fault here is logged as a warning on purpose; keep the output to errors.
  process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
  return { TABLE: 'unit-faults' };
});

const { handler: contacts } = await import('../../functions/contacts.js');
const { handler: settings } = await import('../../functions/settings.js');
const { handler: webhook } = await import('../../functions/webhook.js');

const ddb = mockClient(DynamoDBDocumentClient);

// ─── a small table behind the mock ──────────────────────────────────────────

type Item = Record<string, unknown> & { pk: string; sk: string };
let table: Map<string, Item>;
const id = (key: { pk: unknown; sk: unknown }) => `${key.pk}\u0000${key.sk}`;
const WRITE_COMMANDS = [TransactWriteCommand, PutCommand, UpdateCommand, DeleteCommand, BatchWriteCommand];

type FaultKind = 'throttling' | 'throughput' | 'timeout';
function fault(kind: FaultKind): Error {
  const $metadata = { httpStatusCode: 400, attempts: 3 };
  if (kind === 'throttling') return new ThrottlingException({ message: 'Rate exceeded', $metadata });
  if (kind === 'throughput')
    return new ProvisionedThroughputExceededException({ message: 'Throughput exceeded', $metadata });
  return Object.assign(new Error('socket timed out'), { name: 'TimeoutError', $retryable: {} });
}

/** Which transactions fail (numbered from 1), and whether before or after they are applied. */
let failing: { transactions: (n: number) => boolean; when: 'before' | 'after'; kind: FaultKind } | undefined;
let transactions = 0;

function install(): void {
  ddb.reset();
  ddb.on(GetCommand).callsFake((input) => ({ Item: table.get(id(input.Key)) }));
  ddb.on(BatchGetCommand).callsFake((input: { RequestItems: Record<string, { Keys: Item[] }> }) => ({
    Responses: Object.fromEntries(
      Object.entries(input.RequestItems).map(([name, request]) => [
        name,
        request.Keys.map((key) => table.get(id(key))).filter(Boolean),
      ]),
    ),
  }));
  ddb.on(QueryCommand).resolves({ Items: [] });
  ddb
    .on(TransactWriteCommand)
    .callsFake((input: { TransactItems: Record<string, { Item?: Item; Key?: Item }>[] }) => {
      const n = ++transactions;
      const fails = failing?.transactions(n) ?? false;
      if (fails && failing!.when === 'before') throw fault(failing!.kind);
      for (const action of input.TransactItems) {
        if (action.Put) table.set(id(action.Put.Item!), structuredClone(action.Put.Item!));
        if (action.Delete) table.delete(id(action.Delete.Key!));
      }
      if (fails) throw fault(failing!.kind);
      return {};
    });
  ddb.on(PutCommand).callsFake((input: { Item: Item }) => {
    table.set(id(input.Item), structuredClone(input.Item));
    return {};
  });
  ddb.on(UpdateCommand).resolves({});
  ddb.on(DeleteCommand).callsFake((input: { Key: Item }) => {
    table.delete(id(input.Key));
    return {};
  });
}

beforeEach(() => {
  table = new Map();
  failing = undefined;
  transactions = 0;
  install();
});

afterEach(() => {
  ddb.reset();
});

afterAll(() => {
  ddb.restore();
});

const admin = { tenant_id: 't1', role: 'admin', sub: 'boss' };
const snapshot = () => JSON.stringify([...table.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
const invoke = async (fn: typeof contacts, event: ReturnType<typeof httpEvent>) =>
  (await fn(event, lambdaContext)) as APIGatewayProxyStructuredResultV2;
const json = (res: APIGatewayProxyStructuredResultV2) => JSON.parse(String(res.body));

function expectCleanBusy(res: APIGatewayProxyStructuredResultV2): void {
  expect(res.statusCode).toBe(503);
  expect(res.headers?.['Retry-After']).toBe('1');
  expect(res.headers?.['content-type']).toBe('application/problem+json');
  expect(json(res)).toMatchObject({ status: 503, title: 'Service unavailable' });
  expect(res.body).not.toMatch(/Exception|Rate exceeded|socket|unit-faults/);
}

const SECRET = 'whsec_unit-faults-secret';
function seed(): void {
  table.set(id(keys.shop('s1')), {
    ...keys.shop('s1'),
    tenantId: 't1',
    id: 's1',
    name: 'Shop',
    platform: 'generic',
    enabled: true,
    secrets: [{ value: SECRET }],
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
  });
  table.set(id(contactKeys.profile('t1', 'c1')), {
    ...contactKeys.profile('t1', 'c1'),
    tenantId: 't1',
    id: 'c1',
    name: 'Ana',
    channel: 'store',
    tags: [],
    status: 'active',
    addedAt: '2026-01-01T00:00:00.000Z',
    stage: 'prospect',
    stats: { orders: 0, spentMinor: 0 },
    version: 1,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
  });
}

const writePaths: [string, typeof contacts, () => ReturnType<typeof httpEvent>][] = [
  [
    'POST /v1/contacts',
    contacts,
    () =>
      httpEvent('POST /v1/contacts', {
        claims: admin,
        body: JSON.stringify({ name: 'Bo', phone: '+8613800138000', channel: 'store' }),
      }),
  ],
  [
    'PATCH /v1/contacts/{id}',
    contacts,
    () =>
      httpEvent('PATCH /v1/contacts/{id}', {
        claims: admin,
        path: '/v1/contacts/c1',
        pathParameters: { id: 'c1' },
        body: JSON.stringify({ name: 'Ana Li', tags: ['vip'] }),
      }),
  ],
  [
    'PUT /v1/settings',
    settings,
    () => httpEvent('PUT /v1/settings', { claims: admin, body: JSON.stringify({ currency: 'EUR' }) }),
  ],
  [
    'POST /v1/webhooks/shops/{shopId}',
    webhook,
    () => {
      const delivery = signGeneric(
        body({
          type: 'order.paid',
          order: {
            id: 'o1',
            total: '9.90',
            currency: 'CNY',
            paidAt: '2026-01-01T00:00:00Z',
            contact: { email: 'bo@example.com' },
          },
        }),
        SECRET,
      );
      return httpEvent('POST /v1/webhooks/shops/{shopId}', {
        path: '/v1/webhooks/shops/s1',
        pathParameters: { shopId: 's1' },
        headers: delivery.headers,
        body: delivery.body.toString('utf8'),
      });
    },
  ],
];

describe('a write path whose transaction is throttled or times out', () => {
  const cases = writePaths.flatMap(([route, fn, event]) =>
    (['throttling', 'throughput', 'timeout'] as const).map((kind) => [route, kind, fn, event] as const),
  );

  it.each(cases)(
    '%s under %s before the write: clean 503 with Retry-After, table unchanged',
    async (_, kind, fn, event) => {
      // Prepare
      seed();
      const before = snapshot();
      failing = { transactions: () => true, when: 'before', kind };

      // Act
      const res = await invoke(fn, event());

      // Assess
      expectCleanBusy(res);
      expect(snapshot()).toBe(before);
      expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
      for (const command of WRITE_COMMANDS.filter((c) => c !== TransactWriteCommand))
        expect(ddb.commandCalls(command as typeof PutCommand), command.name).toHaveLength(0);
    },
  );

  it.each(writePaths)(
    '%s with its answer lost after the write: 503, and the write is whole',
    async (_, fn, event) => {
      seed();
      failing = { transactions: () => true, when: 'after', kind: 'timeout' };

      const res = await invoke(fn, event());

      expectCleanBusy(res);
      // The one transaction was applied whole; nothing else was written beside it.
      expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
      for (const command of WRITE_COMMANDS.filter((c) => c !== TransactWriteCommand))
        expect(ddb.commandCalls(command as typeof PutCommand), command.name).toHaveLength(0);
    },
  );

  it.each(writePaths)(
    '%s with its first read throttled: 503 and nothing sent to write',
    async (_, fn, event) => {
      seed();
      const before = snapshot();
      ddb
        .on(GetCommand)
        .rejectsOnce(fault('throttling'))
        .callsFake((input) => ({ Item: table.get(id(input.Key)) }));

      const res = await invoke(fn, event());

      expectCleanBusy(res);
      expect(snapshot()).toBe(before);
      for (const command of WRITE_COMMANDS)
        expect(ddb.commandCalls(command as typeof PutCommand), command.name).toHaveLength(0);
    },
  );

  it('answers a contact write from what it read before the write, so no read can fail after it', async () => {
    seed();
    const reads: string[] = [];
    ddb.on(GetCommand).callsFake((input) => {
      reads.push(String(input.Key.sk));
      return { Item: table.get(id(input.Key)) };
    });
    let readsAtCommit = -1;
    ddb.on(TransactWriteCommand).callsFake((input: { TransactItems: Record<string, { Item?: Item }>[] }) => {
      readsAtCommit = reads.length;
      for (const action of input.TransactItems)
        if (action.Put) table.set(id(action.Put.Item!), action.Put.Item!);
      return {};
    });

    const res = await invoke(contacts, writePaths[0]![2]());

    expect(res.statusCode).toBe(201);
    expect(readsAtCommit).toBe(reads.length);
  });
});

// ─── the bulk import ────────────────────────────────────────────────────────

describe('a bulk import under throttling', () => {
  type Result = { index: number; id?: string; status: string; error?: string };
  const batch = (items: unknown[]) =>
    httpEvent('POST /v1/contacts/batch', { claims: admin, body: JSON.stringify({ contacts: items }) });
  const people = Array.from({ length: 60 }, (_, i) => ({
    name: `Person ${i}`,
    channel: 'store',
    ...(i % 3 ? {} : { email: `p${i}@example.com` }),
  }));
  const stored = () =>
    [...table.values()].filter((i) => i.sk === 'PROFILE' && String(i.pk).startsWith('C#t1#')) as (Item & {
      id: string;
      name: string;
    })[];
  /** The tenant already has data (its currency is fixed): the import packs transactions. */
  const hasData = () =>
    table.set(id(keys.settings('t1')), { ...keys.settings('t1'), hasData: true, version: 1 });

  it.each([
    ['throttled', 'before', 'throttling'],
    ['timed out after it was applied', 'after', 'timeout'],
  ] as const)(
    'with its second transaction %s, says exactly what it stored; a retry of the rest completes it',
    async (_, when, kind) => {
      // Prepare
      hasData();
      failing = { transactions: (n) => n === 2, when, kind };

      // Act
      const res = await invoke(contacts, batch(people));

      // Assess: every result is true to the table
      expect(res.statusCode).toBe(200);
      const results = json(res).results as Result[];
      const byId = new Map(stored().map((c) => [c.id, c]));
      const created = results.filter((r) => r.status === 'created');
      const busy = results.filter((r) => r.status === 'error');
      expect(created.length).toBeGreaterThan(0);
      // Before: the refused transaction's contacts are not stored. After: they are, and found so.
      if (when === 'before') expect(busy.length).toBeGreaterThan(0);
      for (const r of created) expect(byId.get(r.id!)?.name).toBe(`Person ${r.index}`);
      for (const r of busy) {
        expect(r.error).toMatch(/busy/);
        expect(r.id).toEqual(expect.any(String));
        expect(byId.has(r.id!)).toBe(false);
      }
      expect(byId.size).toBe(created.length);

      // Act: the client retries what is left, with the ids it was given
      failing = undefined;
      const retry = await invoke(contacts, batch(busy.map((r) => ({ ...people[r.index], id: r.id }))));

      // Assess: every contact exists once
      expect((json(retry).results as Result[]).map((r) => r.status)).toEqual(busy.map(() => 'created'));
      expect(
        stored()
          .map((c) => c.name)
          .sort(),
      ).toEqual(people.map((p) => p.name).sort());
    },
  );

  it('with every transaction throttled, answers a clean 503 and stores nothing', async () => {
    hasData();
    const before = snapshot();
    failing = { transactions: () => true, when: 'before', kind: 'throughput' };

    const res = await invoke(contacts, batch(people));

    expectCleanBusy(res);
    expect(snapshot()).toBe(before);
  });

  it('with its settings read throttled on the first contacts of a tenant, stores nothing', async () => {
    ddb.on(GetCommand).rejects(fault('throttling'));

    const res = await invoke(contacts, batch(people.slice(0, 5)));

    expectCleanBusy(res);
    expect(stored()).toEqual([]);
  });
});

// ─── batch operations retried to completion ─────────────────────────────────

describe('batch operations', () => {
  const deps = { db: DynamoDBDocumentClient.from(new DynamoDBClient({})), tableName: TABLE };

  it('reads every contact of a BatchGet that leaves keys unprocessed twice', async () => {
    // Prepare: 150 contacts; the store answers a third of what it is asked, the rest unprocessed
    for (let i = 0; i < 150; i++)
      table.set(id(contactKeys.profile('t1', `c${i}`)), {
        ...contactKeys.profile('t1', `c${i}`),
        id: `c${i}`,
        tags: [],
      });
    ddb.on(BatchGetCommand).callsFake((input: { RequestItems: Record<string, { Keys: Item[] }> }) => {
      const asked = input.RequestItems[TABLE]!.Keys;
      const answered = asked.length > 10 ? asked.slice(0, Math.ceil(asked.length / 3)) : asked;
      const rest = asked.slice(answered.length);
      return {
        Responses: { [TABLE]: answered.map((key) => table.get(id(key))) },
        ...(rest.length ? { UnprocessedKeys: { [TABLE]: { Keys: rest } } } : {}),
      };
    });

    // Act
    const found = await getContacts(
      deps,
      't1',
      Array.from({ length: 150 }, (_, i) => `c${i}`),
    );

    // Assess
    expect(found.map((c) => c.id)).toEqual(Array.from({ length: 150 }, (_, i) => `c${i}`));
    expect(ddb.commandCalls(BatchGetCommand).length).toBeGreaterThan(2);
  });

  it('finds every existing key of a BatchGet that leaves keys unprocessed', async () => {
    const wanted = Array.from({ length: 6 }, (_, i) => ({ pk: `REM#t1#a${i}`, sk: '2026-01-01#07:00' }));
    for (const key of wanted.filter((_, i) => i % 2)) table.set(id(key), { ...key });
    let calls = 0;
    ddb.on(BatchGetCommand).callsFake((input: { RequestItems: Record<string, { Keys: Item[] }> }) => {
      calls++;
      const [first, ...rest] = input.RequestItems[TABLE]!.Keys;
      return {
        Responses: { [TABLE]: [table.get(id(first!))].filter(Boolean) },
        ...(rest.length ? { UnprocessedKeys: { [TABLE]: { Keys: rest } } } : {}),
      };
    });

    const found = await existingKeys(deps, wanted);

    expect(found.size).toBe(3);
    expect(calls).toBe(6);
  });

  it('has no BatchWriteCommand in production code that does not retry its UnprocessedItems', () => {
    const root = join(import.meta.dirname, '..', '..');
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (path.endsWith('.ts')) files.push(path);
      }
    };
    for (const dir of ['shared', 'functions', 'infra']) walk(join(root, dir));
    const writers = files.filter((f) => /new BatchWriteCommand\(/.test(readFileSync(f, 'utf8')));
    const unretried = writers.filter((f) => {
      const text = readFileSync(f, 'utf8');
      return !/UnprocessedItems/.test(text) || !/sleep|setTimeout/.test(text);
    });
    expect(unretried.map((f) => relative(root, f))).toEqual([]);
  });
});

// ─── the SDK's own retries ──────────────────────────────────────────────────

describe('the document client the functions build', () => {
  let server: Server;
  afterAll(() => server?.close());

  it('retries a throttled call (with backoff) before any fault reaches the code', async () => {
    // Prepare: a DynamoDB endpoint on loopback that throttles twice, then answers
    let requests = 0;
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        requests++;
        if (requests <= 2) {
          res.writeHead(400, {
            'content-type': 'application/x-amz-json-1.0',
            'x-amzn-errortype': 'ThrottlingException',
          });
          res.end(
            JSON.stringify({
              __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException',
              message: 'Rate exceeded',
            }),
          );
          return;
        }
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify({ Item: { pk: { S: 'a' }, sk: { S: 'b' }, n: { N: '1' } } }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    ddb.restore();
    const { createDocumentClient } = await import('../../shared/db/client.js');
    const client = createDocumentClient(
      new DynamoDBClient({
        endpoint: `http://127.0.0.1:${port}`,
        region: 'us-east-1',
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      }),
    );

    // Act
    const out = await client.send(new GetCommand({ TableName: TABLE, Key: { pk: 'a', sk: 'b' } }));

    // Assess
    expect(out.Item).toEqual({ pk: 'a', sk: 'b', n: 1 });
    expect(requests).toBe(3);
    client.destroy();
  });
});
