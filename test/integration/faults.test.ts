import { randomUUID } from 'node:crypto';
import { ProvisionedThroughputExceededException, ThrottlingException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient as DocumentClient, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '../../shared/app/deps.js';
import { contactKeys } from '../../shared/db/contact-store.js';
import type { Caller } from '../../shared/http/auth.js';
import { jobRegistry } from '../../shared/jobs/registry.js';
import { type RunOptions, runJob } from '../../shared/jobs/runner.js';
import { getJob } from '../../shared/jobs/store.js';
import { createContact, createContactsBatch } from '../../shared/usecases/contacts.js';
import { requestRfmRun } from '../../shared/usecases/rfm.js';
import { createShop } from '../../shared/usecases/shops.js';
import { createAccount, createStaff, startHandover } from '../../shared/usecases/staff.js';
import { importOrders } from '../../shared/usecases/webhooks.js';
import { tenantSession } from '../support/api.js';
import { startTestStack, type TestResponse, type TestStack } from '../support/local-stack.js';
import { failingAfter, freshTable, interceptSend, outboxEvents } from '../support/table.js';
import { body, deliver, signGeneric } from '../support/webhooks.js';

/**
 * Throttling and timeouts injected at the SDK client of the handlers, on every write path, through
 * the local HTTP server (its handlers run in this process, so their DynamoDB document clients pass
 * through the interceptor below). Every request under a fault is retried inside or answered 503
 * with `Retry-After`, and never leaves a partial write: the table holds nothing of the request or
 * all of it, and the client's retry completes it exactly once. Then: every job kind killed
 * mid-run resumes to the result of an undisturbed run.
 */

// ─── the interceptor ────────────────────────────────────────────────────────

type FaultKind = 'throttling' | 'throughput' | 'timeout';
interface FaultPlan {
  /** Which call of the request fails (counted from 0, per request). */
  fails: (command: string, call: number) => boolean;
  /** `before`: the call never reaches DynamoDB; `after`: it is applied and its answer is lost. */
  when: 'before' | 'after';
  kind: FaultKind;
}

let plan: FaultPlan | undefined;
let calls: string[] = [];
const originalSend = DynamoDBDocumentClient.prototype.send;

function fault(kind: FaultKind): Error {
  const $metadata = { httpStatusCode: 400, requestId: randomUUID(), attempts: 3 };
  if (kind === 'throttling') return new ThrottlingException({ message: 'Rate exceeded', $metadata });
  if (kind === 'throughput')
    return new ProvisionedThroughputExceededException({ message: 'Throughput exceeded', $metadata });
  return Object.assign(new Error('socket timed out'), { name: 'TimeoutError', $retryable: {} });
}

function intercept(): void {
  const send = async function (
    this: DocumentClient,
    command: { constructor: { name: string } },
    ...rest: unknown[]
  ) {
    const name = command.constructor.name;
    const pass = () =>
      (originalSend as (...args: unknown[]) => Promise<unknown>).call(this, command, ...rest);
    if (name === 'ScanCommand') return pass();
    const call = calls.length;
    calls.push(name);
    const failing = plan?.fails(name, call) ?? false;
    if (failing && plan!.when === 'before') throw fault(plan!.kind);
    const out = await pass();
    if (failing) throw fault(plan!.kind);
    return out;
  };
  DynamoDBDocumentClient.prototype.send = send as typeof originalSend;
}

const WRITES = new Set([
  'TransactWriteCommand',
  'PutCommand',
  'UpdateCommand',
  'DeleteCommand',
  'BatchWriteCommand',
]);

// ─── the HTTP write paths ───────────────────────────────────────────────────

let stack: TestStack;

/** The items of one tenant, canonical and sorted: equal = nothing of the tenant changed. */
async function tenantItems(tenant: string): Promise<string[]> {
  return (await stack.scan())
    .map((item) => JSON.stringify(item, Object.keys(item).sort()))
    .filter((text) => text.includes(tenant))
    .sort();
}

type Session = Awaited<ReturnType<typeof tenantSession>>;

interface Scenario<C> {
  /** Sets up a fresh tenant (no faults). */
  prepare(t: Session): Promise<C>;
  /** The request under test. */
  act(t: Session, ctx: C): Promise<TestResponse>;
  success: number[];
  /** Statuses a retry of an applied request may answer (a create whose identity is now taken: 409). */
  retried?: number[];
  /** The state after one successful application, whatever faults came before. */
  verify(t: Session, ctx: C): Promise<void>;
  /** Which calls to fail, one run each (default: every call of a clean run). */
  targets?: (names: string[]) => number[];
}

let tenantSeq = 0;
const freshTenant = async (label: string) =>
  tenantSession(stack, `flt-${label}-${++tenantSeq}-${randomUUID().slice(0, 6)}`);

function expectBusy(res: TestResponse, what: string): void {
  expect(res.status, `${what}: ${res.text}`).toBe(503);
  expect(res.headers.get('retry-after'), what).toMatch(/^\d+$/);
  expect(res.headers.get('content-type'), what).toBe('application/problem+json');
  expect(res.text, what).not.toMatch(/Exception|Throttl|socket|stack/i);
}

/**
 * Runs a scenario once cleanly (to list its SDK calls), then once per call with that call failing
 * before it is sent (throttling, throughput), then once per write call with the write applied and
 * its answer lost (timeout). After each: 503 (or a success, when retried inside), no partial
 * write, and a retry by the client ends in the verified state.
 */
async function sweep<C>(label: string, scenario: Scenario<C>): Promise<Record<string, number>> {
  const reference = await freshTenant(label);
  const refCtx = await scenario.prepare(reference);
  calls = [];
  plan = undefined;
  const clean = await scenario.act(reference, refCtx);
  const names = [...calls];
  expect(scenario.success, `${label} clean: ${clean.text}`).toContain(clean.status);
  await scenario.verify(reference, refCtx);

  const targets = scenario.targets?.(names) ?? names.map((_, i) => i);
  const runs: { at: number; when: FaultPlan['when']; kind: FaultKind }[] = [
    ...targets.map((at, i) => ({
      at,
      when: 'before' as const,
      kind: (i % 2 ? 'throughput' : 'throttling') as FaultKind,
    })),
    ...targets
      .filter((at) => WRITES.has(names[at] ?? ''))
      .map((at) => ({ at, when: 'after' as const, kind: 'timeout' as const })),
  ];
  const outcomes: Record<string, number> = {};
  for (const run of runs) {
    const what = `${label}: ${run.kind} ${run.when} call ${run.at} (${names[run.at]})`;
    const t = await freshTenant(label);
    const ctx = await scenario.prepare(t);
    // The stream consumers (funnel roll-ups) finish what the preparation wrote first.
    await stack.drain();
    const before = await tenantItems(t.tenant);

    calls = [];
    plan = { fails: (_, call) => call === run.at, when: run.when, kind: run.kind };
    const res = await scenario.act(t, ctx);
    plan = undefined;
    await stack.drain();
    const after = await tenantItems(t.tenant);

    outcomes[`${run.when} ${res.status}`] = (outcomes[`${run.when} ${res.status}`] ?? 0) + 1;
    if (!scenario.success.includes(res.status)) {
      expectBusy(res, what);
      // A fault before the write leaves nothing; a lost answer leaves the whole write (checked below).
      if (run.when === 'before' || !WRITES.has(names[run.at] ?? '')) expect(after, what).toEqual(before);
      const retry = await scenario.act(t, ctx);
      expect([...scenario.success, ...(scenario.retried ?? [])], `${what}, retried: ${retry.text}`).toContain(
        retry.status,
      );
    }
    await scenario.verify(t, ctx);
  }
  return outcomes;
}

interface ContactSeen {
  id: string;
  name: string;
  phone?: string;
  stats: { orders: number; spent: string };
  tags: string[];
}

async function contactsOf(t: Session): Promise<ContactSeen[]> {
  const out: ContactSeen[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: never[]; nextCursor: string | null } = await t.ok(
      'GET',
      `/v1/contacts?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

describe('faults on every write path, through the HTTP API', () => {
  beforeAll(async () => {
    stack = await startTestStack();
    intercept();
  });

  // The stack and its table (dropped by `stop`) go before the job tests: a large table with a
  // stream slows down the shared DynamoDB Local for every table on it.
  afterAll(async () => {
    DynamoDBDocumentClient.prototype.send = originalSend;
    await stack?.stop();
  });

  it('creating a contact: 503 with Retry-After or done, never half a contact', async () => {
    const outcomes = await sweep<undefined>('create', {
      prepare: async () => undefined,
      act: (t) =>
        t.call('POST', '/v1/contacts', {
          name: 'Fault Person',
          phone: '+8613800138999',
          email: 'fault@example.com',
          tags: ['a', 'b'],
          channel: 'store',
        }),
      success: [201],
      retried: [409],
      verify: async (t) => {
        const contacts = await contactsOf(t);
        expect(contacts).toHaveLength(1);
        expect(contacts[0]).toMatchObject({
          name: 'Fault Person',
          phone: '+8613800138999',
          tags: ['a', 'b'],
        });
        const byPhone = await t.ok<{ items: unknown[] }>('GET', '/v1/contacts?q=%2B8613800138999');
        expect(byPhone.items).toHaveLength(1);
        const byTag = await t.ok<{ items: unknown[] }>('GET', '/v1/contacts?tag=b');
        expect(byTag.items).toHaveLength(1);
      },
    });
    console.info('create under faults', outcomes);
  });

  it('patching a contact: 503 with Retry-After or done, never half a change', async () => {
    const outcomes = await sweep<{ id: string }>('patch', {
      prepare: async (t) => ({
        id: (
          await t.ok<{ id: string }>('POST', '/v1/contacts', {
            name: 'Before',
            phone: '+8613800138001',
            tags: ['old'],
            channel: 'store',
          })
        ).id,
      }),
      act: (t, ctx) =>
        t.call('PATCH', `/v1/contacts/${ctx.id}`, {
          name: 'After',
          phone: '+8613800138002',
          tags: ['new'],
          status: 'lost',
        }),
      success: [200],
      verify: async (t, ctx) => {
        expect(await t.ok('GET', `/v1/contacts/${ctx.id}`)).toMatchObject({
          name: 'After',
          phone: '+8613800138002',
          tags: ['new'],
          status: 'lost',
        });
        expect((await t.ok<{ items: unknown[] }>('GET', '/v1/contacts?q=%2B8613800138001')).items).toEqual(
          [],
        );
        expect(
          (await t.ok<{ items: unknown[] }>('GET', '/v1/contacts?q=%2B8613800138002')).items,
        ).toHaveLength(1);
        expect((await t.ok<{ items: unknown[] }>('GET', '/v1/contacts?tag=old')).items).toEqual([]);
        expect((await t.ok<{ items: unknown[] }>('GET', '/v1/contacts?status=lost')).items).toHaveLength(1);
      },
    });
    console.info('patch under faults', outcomes);
  });

  it('an order webhook: 503 with Retry-After or recorded, counted once after the platform retries', async () => {
    const outcomes = await sweep<{ shopId: string; delivery: ReturnType<typeof signGeneric> }>('webhook', {
      prepare: async (t) => {
        const shop = await t.ok<{ id: string; secret: string }>('POST', '/v1/shops', {
          name: 'Shop',
          platform: 'generic',
        });
        const payload = {
          type: 'order.paid',
          order: {
            id: 'F-1',
            total: '268.00',
            currency: 'CNY',
            paidAt: '2026-01-05T10:00:00+08:00',
            contact: { phone: '13800138777', name: 'Buyer' },
          },
        };
        return { shopId: shop.id, delivery: signGeneric(body(payload), shop.secret) };
      },
      act: (_, ctx) => deliver(stack, ctx.shopId, ctx.delivery),
      success: [200],
      verify: async (t, ctx) => {
        const contacts = await contactsOf(t);
        expect(contacts).toHaveLength(1);
        expect(contacts[0]!.stats).toEqual(expect.objectContaining({ orders: 1, spent: '268.00' }));
        const deliveries = await t.ok<{ items: { status: string }[] }>(
          'GET',
          `/v1/shops/${ctx.shopId}/deliveries`,
        );
        expect(deliveries.items.filter((d) => d.status === 'recorded')).toHaveLength(1);
        const again = await deliver(stack, ctx.shopId, ctx.delivery);
        expect(again.body).toEqual({ status: 'duplicate' });
      },
    });
    console.info('webhook under faults', outcomes);
  });

  it('changing the settings: 503 with Retry-After or done, never half of it', async () => {
    const outcomes = await sweep<undefined>('settings', {
      prepare: async () => undefined,
      act: (t) =>
        t.call('PUT', '/v1/settings', {
          timezone: 'Europe/Berlin',
          currency: 'EUR',
          rfm: { windowDays: 200 },
          lifecycle: { loyalMinOrders: 3 },
        }),
      success: [200],
      verify: async (t) => {
        expect(await t.ok('GET', '/v1/settings')).toEqual({
          timezone: 'Europe/Berlin',
          currency: 'EUR',
          rfm: { windowDays: 200 },
          lifecycle: { loyalMinOrders: 3, loyalWithinDays: 180 },
        });
      },
    });
    console.info('settings under faults', outcomes);
  });

  it('a bulk import: each contact created once, its result true to the table, the rest retried', async () => {
    const SIZE = 60;
    const contacts = Array.from({ length: SIZE }, (_, i) => ({
      name: `Bulk ${i}`,
      channel: 'store',
      ...(i % 2 ? { phone: `+86138001${String(40000 + i).padStart(5, '0')}` } : {}),
    }));
    type Result = { index: number; id?: string; status: string; error?: string };
    const withId = (i: number, results?: Result[]) => ({
      ...contacts[i],
      ...(results?.[i]?.id ? { id: results[i]!.id } : {}),
    });
    const outcomes = await sweep<{ results?: Result[] }>('batch', {
      // The tenant already has a contact, so its currency is fixed and the import packs transactions.
      prepare: async (t) => {
        await t.ok('POST', '/v1/contacts', { name: 'First', channel: 'store' });
        return {};
      },
      act: async (t, ctx) => {
        // A client retry sends only the contacts not reported created yet, with the ids reported.
        const pending = ctx.results
          ? ctx.results.filter((r) => r.status === 'error').map((r) => r.index)
          : contacts.map((_, i) => i);
        const res = await t.call<{ results: Result[] }>('POST', '/v1/contacts/batch', {
          contacts: pending.map((i) => withId(i, ctx.results)),
        });
        if (res.status === 200) {
          const merged = ctx.results ?? contacts.map((_, index) => ({ index, status: 'error' }));
          res.body.results.forEach((r, i) => {
            merged[pending[i]!] = { ...r, index: pending[i]! };
          });
          ctx.results = merged;
          // What the answer says is what the table holds.
          const stored = new Set((await contactsOf(t)).map((c) => c.name));
          for (const r of merged)
            expect(stored.has(`Bulk ${r.index}`), JSON.stringify(r)).toBe(r.status !== 'error');
          if (merged.some((r) => r.status === 'error')) return { ...res, status: 207 };
        }
        return res;
      },
      // 207 here: answered 200 with some contacts in error (busy); the client retries those.
      success: [200, 207],
      verify: async (t, ctx) => {
        for (let round = 0; round < 3 && ctx.results?.some((r) => r.status === 'error'); round++) {
          await (async () => {
            const pending = ctx.results!.filter((r) => r.status === 'error').map((r) => r.index);
            const res = await t.ok<{ results: Result[] }>('POST', '/v1/contacts/batch', {
              contacts: pending.map((i) => withId(i, ctx.results)),
            });
            res.results.forEach((r, i) => {
              ctx.results![pending[i]!] = { ...r, index: pending[i]! };
            });
          })();
        }
        const names = (await contactsOf(t)).map((c) => c.name).sort();
        expect(names).toEqual(['First', ...contacts.map((c) => c.name)].sort());
      },
      // The first reads, and five of the transactions spread over the import (the calls of its
      // four workers interleave, so a position is not always the same transaction).
      targets: (names) => {
        const writes = names.flatMap((name, i) => (name === 'TransactWriteCommand' ? [i] : []));
        const spread = Array.from(
          { length: Math.min(5, writes.length) },
          (_, k) => writes[Math.floor((k * writes.length) / Math.min(5, writes.length))]!,
        );
        return [0, 1, ...spread];
      },
    });
    console.info('bulk import under faults', outcomes);
  });
});

// ─── jobs killed mid-run ────────────────────────────────────────────────────

const admin = (tenantId: string): Caller => ({ tenantId, role: 'admin', staffId: 'admin-1' });
const runOptions = (owner: string): RunOptions => ({
  owner,
  leaseMs: 30,
  remainingMs: () => 900_000,
  reserveMs: 1_000,
});

/** Runs a job to the end, killing its process around the chosen transactions; returns the outcomes. */
async function runThroughKills(deps: Deps, job: { tenantId: string; jobId: string }): Promise<string[]> {
  const outcomes: string[] = [];
  for (let attempt = 0; attempt < 40; attempt++) {
    const outcome = await runJob(deps, jobRegistry, job, runOptions(`run-${attempt}`)).catch(() => 'crashed');
    outcomes.push(outcome);
    // A kill just after the last step's commit leaves a finished job: the next run says so.
    if (outcome === 'succeeded' || outcome === 'failed' || outcome === 'finished_already') break;
    await new Promise((r) => setTimeout(r, 40));
  }
  return outcomes;
}

/** A client that dies around the chosen transactions: after the write (answer lost) or before it. */
function killing(kills: Set<number>, when: 'before' | 'after') {
  let transactions = 0;
  return (db: DocumentClient): DocumentClient => {
    const isKill = (command: { constructor: { name: string } }) =>
      command.constructor.name === 'TransactWriteCommand' && kills.has(++transactions);
    if (when === 'after') return failingAfter(db, isKill);
    return interceptSend(db, async (command, send) => {
      if (isKill(command)) throw fault('throttling');
      return send(command);
    });
  };
}

describe('every job kind killed mid-run resumes', () => {
  it('has a resume test for every kind of the registry', () => {
    expect(Object.keys(jobRegistry).sort()).toEqual(['handover', 'rfm']);
  });

  it.each(['after', 'before'] as const)(
    'handover killed around its transactions (%s the write) moves every contact, account and shop once',
    async (when) => {
      // Prepare: a leaver with 30 contacts, an account and a shop
      const kills = new Set([2, 3, 5, 7]);
      const deps = await freshTable(killing(kills, when));
      const clean = { ...deps, db: deps.raw };
      const tenantId = `flt-handover-${when}`;
      const caller = admin(tenantId);
      await createStaff(clean, caller, { id: 'leaver', name: 'Leaver' });
      await createStaff(clean, caller, { id: 'heir', name: 'Heir' });
      await createAccount(clean, caller, { name: 'Phone', platform: 'wecom', operatorStaffId: 'leaver' });
      await createShop(clean, caller, { name: 'Shop', platform: 'generic', defaultOwnerStaffId: 'leaver' });
      for (let i = 0; i < 30; i++)
        await createContact(clean, caller, {
          name: `C${i}`,
          channel: 'store',
          ownerStaffId: 'leaver',
          tags: ['t'],
        });
      const { jobId } = await startHandover(clean, caller, 'leaver', 'heir');

      // Act
      const outcomes = await runThroughKills(deps, { tenantId, jobId });

      // Assess
      expect(outcomes.filter((o) => o === 'crashed').length).toBeGreaterThan(0);
      expect(['succeeded', 'finished_already']).toContain(outcomes.at(-1));
      const job = await getJob(clean, tenantId, jobId);
      expect(job?.status).toBe('succeeded');
      expect(job?.result).toEqual({ movedContacts: 30, movedAccounts: 1, movedShops: 1 });
      const items = await deps.scan();
      const owned = (owner: string) =>
        items.filter((i) => i.pk === contactKeys.index(tenantId, 'owner', owner)).length;
      expect(owned('leaver')).toBe(0);
      expect(owned('heir')).toBe(30);
      const profiles = items.filter((i) => String(i.pk).startsWith(`C#${tenantId}#`) && i.sk === 'PROFILE');
      expect(profiles.map((p) => p.ownerStaffId)).toEqual(profiles.map(() => 'heir'));
      // The funnel cells moved exactly once: 30 contacts in the heir's cells, none in the leaver's.
      const cells = items.filter(
        (i) => String(i.pk).startsWith(`FA#${tenantId}#`) && String(i.sk).startsWith('M#'),
      );
      const byOwner = (owner: string) =>
        cells.filter((c) => c.owner === owner).reduce((n, c) => n + Number(c.contacts ?? 0), 0);
      expect(byOwner('heir')).toBe(30);
      expect(byOwner('leaver')).toBe(0);
    },
    120_000,
  );
});

describe('an RFM run killed mid-run', () => {
  // One table: a reference tenant run undisturbed, and a tenant per way of dying with the same data.
  let dying: { kills: Set<number>; when: 'before' | 'after'; seen: number } | undefined;
  let deps: Awaited<ReturnType<typeof freshTable>>;
  let clean: Deps;
  const ASOF = '2026-03-01T00:00:00.000Z';
  const REFERENCE = 'flt-rfm-ref';
  let referenceJob: string;

  /** 45 buyers with 0–4 orders over 300 days: a first step spans several transactions. */
  async function setUp(tenantId: string) {
    const caller = admin(tenantId);
    await createContact(clean, caller, { id: 'b0', name: 'B0', channel: 'store', externalId: 'ext-0' });
    await createContactsBatch(
      clean,
      caller,
      Array.from({ length: 44 }, (_, n) => ({
        id: `b${n + 1}`,
        name: `B${n + 1}`,
        channel: 'store',
        externalId: `ext-${n + 1}`,
      })),
    );
    const orders = Array.from({ length: 90 }, (_, n) => ({
      id: `o${n}`,
      total: `${(n % 17) * 13 + 1}.00`,
      currency: 'CNY',
      paidAt: new Date(Date.parse(ASOF) - ((n * 7) % 300) * 86_400_000 - 3_600_000).toISOString(),
      contact: { externalId: `ext-${(n * 11) % 45}` },
    }));
    await importOrders(clean, caller, { orders });
    return requestRfmRun(clean, caller, ASOF);
  }

  beforeAll(async () => {
    deps = await freshTable((db) =>
      interceptSend(db, async (command, send) => {
        const kill =
          dying !== undefined &&
          command.constructor.name === 'TransactWriteCommand' &&
          dying.kills.has(++dying.seen);
        if (kill && dying!.when === 'before') throw fault('throttling');
        const out = await send(command);
        if (kill) throw fault('timeout');
        return out;
      }),
    );
    clean = { ...deps, db: deps.raw };
    referenceJob = (await setUp(REFERENCE)).jobId;
    expect(
      await runJob(clean, jobRegistry, { tenantId: REFERENCE, jobId: referenceJob }, runOptions('ref')),
    ).toBe('succeeded');
  }, 300_000);

  it.each(['after', 'before'] as const)(
    'killed around its transactions (%s the write), it resumes to the state of an undisturbed run',
    async (when) => {
      // Prepare: the same data and asOf as the reference
      const tenantId = `flt-rfm-${when}`;
      const { jobId } = await setUp(tenantId);

      // Act
      dying = { kills: new Set([1, 2, 4]), when, seen: 0 };
      const outcomes = await runThroughKills(deps, { tenantId, jobId });
      dying = undefined;

      // Assess
      expect(outcomes.filter((o) => o === 'crashed').length).toBeGreaterThan(0);
      expect(['succeeded', 'finished_already']).toContain(outcomes.at(-1));
      const a = await getJob(clean, REFERENCE, referenceJob);
      const b = await getJob(clean, tenantId, jobId);
      expect(b?.status).toBe('succeeded');
      // A crash between the transactions of one step replays the step, and the contacts it had
      // committed are found up to date: the data and events below are exact, but the job's
      // `written`/`events` counts can fall short, so only `scored` is compared.
      expect(b?.result?.scored).toBe(a?.result?.scored);
      const items = await deps.scan();
      const summary = (t: string) => {
        const {
          pk: _pk,
          jobId: _job,
          ...rest
        } = items.find((i) => i.pk === `T#${t}` && i.sk === 'SEGMENTS') ?? {};
        return rest;
      };
      expect(summary(tenantId)).toEqual(summary(REFERENCE));
      const rfmOf = (t: string) =>
        Object.fromEntries(
          items
            .filter((i) => String(i.pk).startsWith(`C#${t}#`) && i.sk === 'PROFILE')
            .map((i) => [i.id, { rfm: i.rfm, stage: i.stage }]),
        );
      expect(Object.keys(rfmOf(tenantId))).toHaveLength(45);
      expect(rfmOf(tenantId)).toEqual(rfmOf(REFERENCE));
      const changes = (t: string) =>
        outboxEvents(items)
          .filter((e) => ['SegmentChanged', 'StageChanged'].includes(e.detailType))
          .map((e) => e.detail as { metadata: { tenantId: string }; data: { asOf: string } })
          // The run's changes (orders announce their own stage changes at the time they are recorded).
          .filter((e) => e.metadata.tenantId === t && e.data.asOf === ASOF)
          .map((e) => JSON.stringify(e.data))
          .sort();
      expect(changes(tenantId).length).toBeGreaterThan(0);
      expect(changes(tenantId)).toEqual(changes(REFERENCE));
    },
    240_000,
  );
});
