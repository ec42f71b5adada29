import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, ScanCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '../../shared/app/deps.js';
import { createDocumentClient } from '../../shared/db/client.js';
import type { Caller } from '../../shared/http/auth.js';
import { putPostingPlan, runPostingTick } from '../../shared/usecases/posting.js';
import { createAccount, createStaff } from '../../shared/usecases/staff.js';
import { tenantSession } from '../support/api.js';
import { startTestStack, type TestStack } from '../support/local-stack.js';
import { freshTable, interceptSend, outboxEvents } from '../support/table.js';

interface Reminder {
  id: string;
  accountId: string;
  date: string;
  slot: { start: string; end: string };
  dueAt: string;
  postsToday: number;
  dailyMin: number;
  dailyMax: number;
  suggestedCategory: string;
}
interface Plan {
  timezone: string;
  slots: { start: string; end: string }[];
  dailyMin: number;
  dailyMax: number;
  mix: Record<string, number>;
  updatedAt: string | null;
}
interface Problem {
  status: number;
  errors?: { path: string; message: string }[];
}

let stack: TestStack;
let acme: Awaited<ReturnType<typeof tenantSession>>;
let amy: string;
let bob: string;
let accountSeq = 0;

beforeAll(async () => {
  stack = await startTestStack();
  acme = await tenantSession(stack, 'acme');
  amy = await acme.staff('amy');
  bob = await acme.staff('bob');
});

afterAll(async () => {
  await stack?.stop();
});

/** A fresh account (default plan, tenant zone Asia/Shanghai) operated by amy. */
async function account(): Promise<string> {
  const id = `acc-${++accountSeq}`;
  await acme.ok('POST', '/v1/accounts', {
    id,
    name: `Phone ${accountSeq}`,
    platform: 'wechat',
    operatorStaffId: 'amy',
  });
  return id;
}

/** Runs the reminder job as the local scheduler would, at `now`. */
async function tick(now: string) {
  const res = await stack.request('POST', '/__local/schedules/postingTick', { body: { now } });
  expect(res.status, res.text).toBe(200);
  return res.body as { reminded: number; suppressed: number; alreadyReminded: number };
}

async function reminders(accountId: string, since?: string): Promise<Reminder[]> {
  const query = new URLSearchParams({ accountId, ...(since ? { since } : {}) });
  return (await acme.ok<{ items: Reminder[] }>('GET', `/v1/reminders?${query}`)).items;
}

async function post(accountId: string, body: Record<string, unknown>) {
  return acme.ok<{ id: string }>('POST', '/v1/posts', { accountId, category: 'life', ...body });
}

describe('posting plans', () => {
  it('gives a new account the default plan in the tenant zone', async () => {
    const id = await account();

    const plan = await acme.ok<Plan>('GET', `/v1/accounts/${id}/posting-plan`);

    expect(plan).toMatchObject({
      timezone: 'Asia/Shanghai',
      slots: [
        { start: '07:00', end: '08:30' },
        { start: '12:00', end: '13:00' },
        { start: '18:00', end: '19:30' },
        { start: '21:00', end: '22:30' },
      ],
      dailyMin: 3,
      dailyMax: 5,
      updatedAt: null,
    });
    expect(plan.mix.engagement).toBeCloseTo(1 / 3);
  });

  it.each([
    ['an end before its start', { slots: [{ start: '09:00', end: '08:00' }] }, 'slots.0.end'],
    [
      'overlapping slots',
      {
        slots: [
          { start: '07:00', end: '08:30' },
          { start: '08:00', end: '09:00' },
        ],
      },
      'slots.1',
    ],
    ['an unknown zone', { timezone: 'Mars/Olympus_Mons' }, 'timezone'],
    ['dailyMin over dailyMax', { dailyMin: 6, dailyMax: 5 }, 'dailyMin'],
    ['dailyMin over the dailyMax kept', { dailyMin: 6 }, 'dailyMin'],
    ['a mix not summing to 1', { mix: { engagement: 0.5, life: 0.5, product: 0.5 } }, 'mix'],
    ['a bad clock time', { slots: [{ start: '7:00', end: '08:00' }] }, 'slots.0.start'],
    ['an unknown field', { slots: [], colour: 'red' }, 'colour'],
  ])('refuses a plan with %s (400, naming the field)', async (_, body, path) => {
    const id = await account();

    const res = await acme.call<Problem>('PUT', `/v1/accounts/${id}/posting-plan`, body);

    expect(res.status).toBe(400);
    expect(res.body.errors?.map((e) => e.path)).toEqual([path]);
  });

  it('rewrites the open-slot index when the plan changes, leaving no entry of the old plan', async () => {
    // Prepare
    const id = await account();

    // Act
    const plan = await acme.ok<Plan>('PUT', `/v1/accounts/${id}/posting-plan`, {
      timezone: 'America/New_York',
      slots: [{ start: '10:00', end: '10:30' }],
    });

    // Assess: kept fields stay, the index holds exactly the new slot's 6 buckets
    expect(plan).toMatchObject({ timezone: 'America/New_York', dailyMax: 5, slots: [{ start: '10:00' }] });
    const db = createDocumentClient(new DynamoDBClient({ endpoint: stack.dynamoEndpoint }));
    const entries: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await db.send(
        new ScanCommand({
          TableName: stack.tableName,
          FilterExpression: 'begins_with(pk, :slot) AND accountId = :id',
          ExpressionAttributeValues: { ':slot': 'SLOT#', ':id': id },
          ExclusiveStartKey: start,
        }),
      );
      entries.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    expect(entries.map((i) => i.pk).sort()).toEqual(
      ['10:00', '10:05', '10:10', '10:15', '10:20', '10:25'].map((b) => `SLOT#America/New_York#${b}`),
    );
    const stored = await acme.ok<Plan>('GET', `/v1/accounts/${id}/posting-plan`);
    expect(stored).toEqual(plan);
    // 07:05 in Shanghai no longer reminds it; 10:05 in New York (EDT) does.
    await tick('2026-05-04T23:05:00Z');
    expect(await reminders(id)).toEqual([]);
    await tick('2026-05-05T14:05:00Z');
    expect(await reminders(id)).toMatchObject([
      { date: '2026-05-05', slot: { start: '10:00', end: '10:30' }, dueAt: '2026-05-05T14:00:00.000Z' },
    ]);
  });

  it('lets staff read the plan of an account they operate, and hides the others', async () => {
    const id = await account();

    const own = await acme.call('GET', `/v1/accounts/${id}/posting-plan`, undefined, amy);
    const other = await acme.call('GET', `/v1/accounts/${id}/posting-plan`, undefined, bob);
    const put = await acme.call('PUT', `/v1/accounts/${id}/posting-plan`, { dailyMax: 4 }, amy);

    expect(own.status).toBe(200);
    expect(other.status).toBe(404);
    expect(put.status).toBe(403);
  });
});

describe('posts', () => {
  it('logs a post with its time and plan-zone date, and refuses one without a time', async () => {
    const id = await account();

    const created = await acme.call<Record<string, unknown>>('POST', '/v1/posts', {
      accountId: id,
      category: 'product',
      plannedAt: '2026-04-10T07:30:00+08:00',
      text: 'New tea arrived',
    });
    const timeless = await acme.call<Problem>('POST', '/v1/posts', { accountId: id, category: 'life' });

    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      accountId: id,
      category: 'product',
      plannedAt: '2026-04-09T23:30:00.000Z',
      time: '2026-04-09T23:30:00.000Z',
      date: '2026-04-10',
      likes: 0,
      comments: 0,
    });
    expect(timeless.status).toBe(400);
  });

  it('lets staff post only for accounts they operate (404 otherwise)', async () => {
    const id = await account();

    const own = await acme.call(
      'POST',
      '/v1/posts',
      { accountId: id, category: 'life', plannedAt: '2026-04-10T09:00:00Z' },
      amy,
    );
    const other = await acme.call(
      'POST',
      '/v1/posts',
      { accountId: id, category: 'life', plannedAt: '2026-04-10T09:00:00Z' },
      bob,
    );
    const list = await acme.call('GET', `/v1/posts?accountId=${id}`, undefined, bob);

    expect(own.status).toBe(201);
    expect(other.status).toBe(404);
    expect(list.status).toBe(404);
  });

  it('lists posts by plan-zone dates or instants, in time order, page by page', async () => {
    // Prepare: three posts on 2026-04-11 (Shanghai) and one the day after
    const id = await account();
    for (const time of ['08:00', '12:30', '21:15'])
      await post(id, { plannedAt: `2026-04-11T${time}:00+08:00` });
    await post(id, { publishedAt: '2026-04-12T07:10:00+08:00' });

    // Act
    const first = await acme.ok<{ items: { time: string }[]; nextCursor: string }>(
      'GET',
      `/v1/posts?accountId=${id}&from=2026-04-11&to=2026-04-11&limit=2`,
    );
    const second = await acme.ok<{ items: { time: string }[]; nextCursor: string | null }>(
      'GET',
      `/v1/posts?accountId=${id}&from=2026-04-11&to=2026-04-11&limit=2&cursor=${first.nextCursor}`,
    );
    const byInstant = await acme.ok<{ items: unknown[] }>(
      'GET',
      `/v1/posts?accountId=${id}&from=${encodeURIComponent('2026-04-11T12:30:00+08:00')}&to=${encodeURIComponent('2026-04-11T21:15:00+08:00')}`,
    );
    const otherFilter = await acme.call(
      'GET',
      `/v1/posts?accountId=${id}&from=2026-04-12&limit=2&cursor=${first.nextCursor}`,
    );

    // Assess
    expect([...first.items, ...second.items].map((p) => p.time)).toEqual([
      '2026-04-11T00:00:00.000Z',
      '2026-04-11T04:30:00.000Z',
      '2026-04-11T13:15:00.000Z',
    ]);
    expect(second.nextCursor).toBeNull();
    expect(byInstant.items).toHaveLength(2);
    expect(otherFilter.status).toBe(400);
  });
});

describe('the reminder job', () => {
  it('reminds an open slot once, due at its start, with a PostingSlotDue event', async () => {
    // Prepare
    const id = await account();

    // Act: 07:00 in Shanghai is 23:00Z the day before
    const result = await tick('2026-04-01T23:00:00Z');
    await stack.drain();

    // Assess
    expect(result.reminded).toBeGreaterThanOrEqual(1);
    const [reminder, ...more] = await reminders(id);
    expect(more).toEqual([]);
    expect(reminder).toMatchObject({
      accountId: id,
      date: '2026-04-02',
      slot: { start: '07:00', end: '08:30' },
      dueAt: '2026-04-01T23:00:00.000Z',
      postsToday: 0,
      dailyMin: 3,
      dailyMax: 5,
      suggestedCategory: 'engagement',
    });
    const events = stack
      .events({ detailType: 'PostingSlotDue' })
      .filter((e) => (e.detail as { data: { accountId: string } }).data.accountId === id);
    expect(events).toHaveLength(1);
    expect(events[0]!.detail).toMatchObject({
      metadata: { tenantId: 'acme' },
      data: { reminderId: reminder!.id, date: '2026-04-02', dueAt: '2026-04-01T23:00:00.000Z' },
    });
  });

  it('does not remind a slot that already has a post in it today, and reminds once the post moves out', async () => {
    // Prepare: a post planned for 07:30 on 2026-04-03 (Shanghai)
    const id = await account();
    const planned = await post(id, { plannedAt: '2026-04-03T07:30:00+08:00' });

    // Act
    await tick('2026-04-02T23:05:00Z');
    const whilePlanned = await reminders(id);
    await acme.ok('PATCH', `/v1/posts/${planned.id}`, { plannedAt: '2026-04-03T10:00:00+08:00' });
    await tick('2026-04-02T23:10:00Z');

    // Assess: suppression is checked at each tick; the second one reminds
    expect(whilePlanned).toEqual([]);
    expect(await reminders(id)).toMatchObject([{ date: '2026-04-03', postsToday: 1 }]);
  });

  it("does not remind once today's posts reached dailyMax", async () => {
    // Prepare: dailyMax 2 and two posts today outside the lunch slot
    const id = await account();
    await acme.ok('PUT', `/v1/accounts/${id}/posting-plan`, { dailyMin: 1, dailyMax: 2 });
    await post(id, { publishedAt: '2026-04-04T07:15:00+08:00' });
    await post(id, { plannedAt: '2026-04-04T15:00:00+08:00' });

    // Act: 12:05 local
    await tick('2026-04-04T04:05:00Z');

    // Assess
    expect(await reminders(id)).toEqual([]);
  });

  it('creates one reminder when the same tick runs twice or two ticks run at once', async () => {
    // Prepare
    const id = await account();
    const scheduledTime = '2026-04-05T04:00:00Z'; // 12:00 local

    // Act: two overlapping invocations of the handler, then the same run twice more
    await Promise.all([
      stack.runtime.invoke('postingTick', { scheduledTime, schedule: 'postingTick' }),
      stack.runtime.invoke('postingTick', { scheduledTime: '2026-04-05T04:02:30Z', schedule: 'postingTick' }),
    ]);
    await tick(scheduledTime);
    await tick(scheduledTime);
    await stack.drain();

    // Assess
    expect(await reminders(id)).toHaveLength(1);
    const events = stack
      .events({ detailType: 'PostingSlotDue' })
      .filter((e) => (e.detail as { data: { accountId: string } }).data.accountId === id);
    expect(events).toHaveLength(1);
  });

  it('still reminds a slot missed at 07:00 when a tick comes at 07:20, but not at 08:31 after it closed', async () => {
    // Prepare: two accounts; the 07:00 runs failed for both
    const late = await account();
    const closed = await account();

    // Act: 07:20 local on 2026-04-06 for the first; 08:31 local on 2026-04-07 for the second
    await tick('2026-04-05T23:20:00Z');
    await tick('2026-04-07T00:31:00Z');

    // Assess
    expect(await reminders(late)).toMatchObject([{ date: '2026-04-06', dueAt: '2026-04-05T23:00:00.000Z' }]);
    expect((await reminders(closed)).filter((r) => r.date === '2026-04-07')).toEqual([]);
  });

  it('suggests the category furthest below its mix share over the 7 dates before today', async () => {
    // Prepare: three engagement posts and a life post in the week before 2026-04-20; older posts do not count
    const id = await account();
    for (const day of ['13', '15', '17'])
      await post(id, { category: 'engagement', publishedAt: `2026-04-${day}T09:00:00+08:00` });
    await post(id, { category: 'life', publishedAt: '2026-04-19T09:00:00+08:00' });
    await post(id, { category: 'product', publishedAt: '2026-04-12T09:00:00+08:00' });
    await post(id, { category: 'product', publishedAt: '2026-04-11T09:00:00+08:00' });

    // Act: 18:00 on 2026-04-20 (Shanghai)
    await tick('2026-04-20T10:00:00Z');

    // Assess
    expect(await reminders(id)).toMatchObject([{ slot: { start: '18:00' }, suggestedCategory: 'product' }]);
  });

  it('reminds at 07:00 New York time across the DST change (EST then EDT)', async () => {
    // Prepare
    const id = await account();
    await acme.ok('PUT', `/v1/accounts/${id}/posting-plan`, { timezone: 'America/New_York' });

    // Act: 07:00 local on the day before and the day of spring forward
    await tick('2026-03-07T12:00:00Z');
    await tick('2026-03-08T11:00:00Z');

    // Assess
    expect((await reminders(id)).map((r) => [r.date, r.dueAt])).toEqual([
      ['2026-03-07', '2026-03-07T12:00:00.000Z'],
      ['2026-03-08', '2026-03-08T11:00:00.000Z'],
    ]);
  });

  it('lists reminders by dueAt since an instant, and staff see only the accounts they operate', async () => {
    // Prepare
    const id = await account();
    await tick('2026-04-21T23:00:00Z');
    await tick('2026-04-22T04:00:00Z');

    // Act
    const since = await reminders(id, '2026-04-22T00:00:00Z');
    const asAmy = await acme.ok<{ items: Reminder[] }>(
      'GET',
      '/v1/reminders?since=2026-04-21T23:00:00Z',
      undefined,
      amy,
    );
    const asBob = await acme.ok<{ items: Reminder[] }>(
      'GET',
      '/v1/reminders?since=2026-04-21T23:00:00Z',
      undefined,
      bob,
    );

    // Assess
    expect(since.map((r) => r.slot.start)).toEqual(['12:00']);
    expect(asAmy.items.filter((r) => r.accountId === id)).toHaveLength(2);
    expect(asBob.items).toEqual([]);
  });
});

describe('posting insights', () => {
  it('reports engagement by slot and category, recommended slots and the actual mix', async () => {
    // Prepare: 5 published lunch posts with engagement, one planned evening post
    const id = await account();
    const now = Date.now();
    const lunch = (daysAgo: number) => {
      const d = new Date(now - daysAgo * 86_400_000);
      return `${d.toISOString().slice(0, 10)}T04:30:00Z`; // 12:30 Shanghai
    };
    for (let i = 2; i <= 6; i++) {
      const created = await post(id, { category: 'engagement', publishedAt: lunch(i) });
      await acme.ok('PATCH', `/v1/posts/${created.id}`, { likes: i, comments: 1 });
    }
    await post(id, { category: 'product', plannedAt: lunch(3).replace('04:30', '10:30') });

    // Act
    const insights = await acme.ok<{
      recommendationBasis: string;
      recommendedSlots: { slot: { start: string }; posts: number; meanEngagement: number }[];
      byCategory: { category: string; posts: number; engagement: number }[];
      mix: { posts: number; counts: Record<string, number> };
    }>('GET', `/v1/posting/insights?accountId=${id}`, undefined, amy);

    // Assess
    expect(insights.recommendationBasis).toBe('engagement');
    expect(insights.recommendedSlots).toEqual([
      { slot: { start: '12:00', end: '13:00' }, posts: 5, engagement: 25, meanEngagement: 5 },
    ]);
    expect(insights.byCategory[0]).toMatchObject({ category: 'engagement', posts: 5, engagement: 25 });
    expect(insights.mix).toMatchObject({ posts: 6, counts: { engagement: 5, life: 0, product: 1 } });
  });
});

describe('the reminder job and plan writes, on a table of their own', () => {
  const boss: Caller = { tenantId: 'solo', role: 'admin', staffId: 'boss' };

  async function tableWithAccount(): Promise<Awaited<ReturnType<typeof freshTable>>> {
    const deps = await freshTable();
    await createStaff(deps, boss, { id: 'amy', name: 'Amy' });
    await createAccount(deps, boss, { id: 'a1', name: 'Phone', platform: 'wechat', operatorStaffId: 'amy' });
    return deps;
  }

  it('lets exactly one of three overlapping runs create the reminder and its event', async () => {
    // Prepare
    const deps = await tableWithAccount();

    // Act: none has seen a reminder when it starts, so all three reach the conditional put
    const runs = await Promise.all([
      runPostingTick(deps, new Date('2026-04-05T04:00:00Z')),
      runPostingTick(deps, new Date('2026-04-05T04:00:00Z')),
      runPostingTick(deps, new Date('2026-04-05T04:03:00Z')),
    ]);

    // Assess
    expect(runs.reduce((n, r) => n + r.reminded, 0)).toBe(1);
    expect(runs.reduce((n, r) => n + r.reminded + r.alreadyReminded, 0)).toBe(3);
    const items = await deps.scan();
    expect(items.filter((i) => String(i.pk).startsWith('REM#'))).toHaveLength(1);
    expect(outboxEvents(items).filter((e) => e.detailType === 'PostingSlotDue')).toHaveLength(1);
  });

  it('finishes an interrupted plan rewrite with the next write: no entry of any older plan is left', async () => {
    // Prepare: a plan of 200 buckets, then a rewrite whose second transaction never happens
    const deps = await tableWithAccount();
    await putPostingPlan(deps, boss, 'a1', { slots: [{ start: '00:00', end: '16:40' }] });
    const crashing: Deps = { ...deps, db: failingTransaction(deps.db, 2) };
    await expect(
      putPostingPlan(crashing, boss, 'a1', {
        timezone: 'Europe/Berlin',
        slots: [{ start: '01:00', end: '20:00' }],
      }),
    ).rejects.toThrow('crashed');

    // Act
    await putPostingPlan(deps, boss, 'a1', { slots: [{ start: '10:00', end: '10:30' }] });

    // Assess
    const entries = (await deps.scan()).filter((i) => String(i.pk).startsWith('SLOT#'));
    expect(entries.map((i) => i.pk).sort()).toEqual(
      ['10:00', '10:05', '10:10', '10:15', '10:20', '10:25'].map((b) => `SLOT#Europe/Berlin#${b}`),
    );
    const plan = (await deps.scan()).find((i) => i.sk === 'PLAN#a1');
    expect(plan).not.toHaveProperty('staleKeys');
  });
});

/** A client whose n-th TransactWriteItems is lost: the process dies before sending it. */
function failingTransaction(db: DynamoDBDocumentClient, nth: number): DynamoDBDocumentClient {
  let transactions = 0;
  return interceptSend(db, async (command, send) => {
    if (command instanceof TransactWriteCommand && ++transactions === nth) throw new Error('crashed');
    return send(command);
  });
}
