import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantSession } from '../support/api.js';
import { startTestStack, type TestStack } from '../support/local-stack.js';
import { staffToken } from '../support/tokens.js';

let stack: TestStack;
let acme: Awaited<ReturnType<typeof tenantSession>>;

beforeAll(async () => {
  stack = await startTestStack();
  acme = await tenantSession(stack, 'acme');
});

afterAll(async () => {
  await stack?.stop();
});

async function scanTable(): Promise<string> {
  return JSON.stringify(await stack.scan());
}

describe('contacts', () => {
  it('creates a contact with normalised phone and email, and reads it back', async () => {
    const created = await acme.ok<{ id: string; phone: string; email: string; stage: string; stats: object }>(
      'POST',
      '/v1/contacts',
      {
        name: 'Li Lei',
        phone: '138 0013 8000',
        email: 'Li.Lei@Example.COM',
        channel: 'public',
        channelDetail: 'xiaohongshu',
        hook: 'coupon',
        tags: ['vip'],
      },
    );

    expect(created.phone).toBe('+8613800138000');
    expect(created.email).toBe('li.lei@example.com');
    expect(created.stage).toBe('prospect');
    expect(created.stats).toEqual({ orders: 0, spent: '0.00' });
    const read = await acme.ok('GET', `/v1/contacts/${created.id}`);
    expect(read).toEqual(created);
  });

  it('answers 409 with the existing id for a second contact with the same phone, email or externalId', async () => {
    const first = await acme.ok<{ id: string }>('POST', '/v1/contacts', {
      name: 'A',
      phone: '+14155550100',
      email: 'a@example.com',
      externalId: 'crm-1',
      channel: 'store',
    });

    for (const dup of [{ phone: '+1 415 555 0100' }, { email: 'A@example.com' }, { externalId: 'crm-1' }]) {
      const res = await acme.call<{ detail: string }>('POST', '/v1/contacts', {
        name: 'B',
        channel: 'store',
        ...dup,
      });
      expect(res.status).toBe(409);
      expect(res.body.detail).toContain(first.id);
    }
  });

  it('lets exactly one of 50 concurrent creates with one phone win', async () => {
    // Each racer keys its request, so one answered 504 under load can be resent safely.
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        acme.send<{ id?: string; detail?: string }>(
          'POST',
          '/v1/contacts',
          { name: `Racer ${i}`, phone: '13900139000', channel: 'referral' },
          undefined,
          { 'Idempotency-Key': `racer-${i}-${randomUUID()}` },
        ),
      ),
    );

    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(49);
    const winner = results.find((r) => r.status === 201)!.body.id!;
    expect(results.filter((r) => r.status === 409).every((r) => r.body.detail?.includes(winner))).toBe(true);
    const listed = await acme.ok<{ items: unknown[] }>('GET', '/v1/contacts?q=13900139000');
    expect(listed.items).toHaveLength(1);
  });

  it('records lostAt when a contact is marked lost, and clears it when they come back', async () => {
    const { id } = await acme.ok<{ id: string }>('POST', '/v1/contacts', { name: 'Gone', channel: 'other' });

    const lost = await acme.ok<{ status: string; lostAt?: string }>('PATCH', `/v1/contacts/${id}`, {
      status: 'lost',
    });
    expect(lost.status).toBe('lost');
    expect(Date.parse(lost.lostAt!)).toBeGreaterThan(Date.now() - 60_000);
    const back = await acme.ok<{ lostAt?: string }>('PATCH', `/v1/contacts/${id}`, { status: 'active' });
    expect(back.lostAt).toBeUndefined();
    await stack.drain();
    const lostEvents = stack.events({ detailType: 'ContactLost' });
    expect(lostEvents.some((e) => (e.detail as { data: { contactId: string } }).data.contactId === id)).toBe(
      true,
    );
  });

  it('adds and removes tags, and lists by tag from the index', async () => {
    const { id } = await acme.ok<{ id: string }>('POST', '/v1/contacts', {
      name: 'Tagged',
      channel: 'public',
    });

    await acme.ok('POST', `/v1/contacts/${id}/tags`, { tags: ['golf', 'tea'] });
    expect(
      (await acme.ok<{ items: { id: string }[] }>('GET', '/v1/contacts?tag=golf')).items.map((c) => c.id),
    ).toContain(id);
    const removed = await acme.ok<{ tags: string[] }>('DELETE', `/v1/contacts/${id}/tags/golf`);

    expect(removed.tags).toEqual(['tea']);
    expect(
      (await acme.ok<{ items: { id: string }[] }>('GET', '/v1/contacts?tag=golf')).items.map((c) => c.id),
    ).not.toContain(id);
  });

  it('combines filters and pages with a cursor bound to the caller and filter', async () => {
    const t = await tenantSession(stack, 'pager');
    for (let i = 0; i < 7; i++) {
      await t.ok('POST', '/v1/contacts', {
        name: `P${i}`,
        channel: i % 2 ? 'public' : 'store',
        hook: 'gift',
      });
    }

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: { id: string; channel: string }[]; nextCursor: string | null } = await t.ok(
        'GET',
        `/v1/contacts?channel=public&hook=gift&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.items.every((c) => c.channel === 'public')).toBe(true);
      seen.push(...page.items.map((c) => c.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(3);

    const first = await t.ok<{ nextCursor: string }>('GET', '/v1/contacts?limit=2');
    const otherFilter = await t.call('GET', `/v1/contacts?limit=2&channel=store&cursor=${first.nextCursor}`);
    const otherTenant = await acme.call('GET', `/v1/contacts?limit=2&cursor=${first.nextCursor}`);
    expect(otherFilter.status).toBe(400);
    expect(otherTenant.status).toBe(400);
  });
});

describe('staff scoping', () => {
  it('shows staff only their own contacts and hides the others as 404', async () => {
    const amy = await acme.staff('amy');
    const bob = await acme.staff('bob');
    const mine = await acme.ok<{ id: string; ownerStaffId: string }>(
      'POST',
      '/v1/contacts',
      { name: 'Amy customer', channel: 'store' },
      amy,
    );
    expect(mine.ownerStaffId).toBe('amy');

    expect((await acme.call('GET', `/v1/contacts/${mine.id}`, undefined, bob)).status).toBe(404);
    expect((await acme.call('PATCH', `/v1/contacts/${mine.id}`, { name: 'x' }, bob)).status).toBe(404);
    const bobsList = await acme.ok<{ items: { id: string }[] }>('GET', '/v1/contacts', undefined, bob);
    expect(bobsList.items.map((c) => c.id)).not.toContain(mine.id);
    expect((await acme.call('PATCH', `/v1/contacts/${mine.id}`, { ownerStaffId: 'bob' }, amy)).status).toBe(
      403,
    );
    expect(
      (await acme.call('POST', '/v1/contacts', { name: 'x', channel: 'store', ownerStaffId: 'bob' }, amy))
        .status,
    ).toBe(403);
  });

  it('forbids a staff token without a staff item, and one of a staff member who left', async () => {
    const ghost = await staffToken('acme', 'ghost');
    expect((await acme.call('GET', '/v1/settings', undefined, ghost)).status).toBe(403);

    const carl = await acme.staff('carl');
    await acme.ok('PATCH', '/v1/staff/carl', { status: 'left' });
    expect((await acme.call('GET', '/v1/settings', undefined, carl)).status).toBe(403);
  });
});

describe('bad input', () => {
  const cases: [string, string, string, unknown][] = [
    ['a missing name', 'POST', '/v1/contacts', { channel: 'store' }],
    ['a wrong type', 'POST', '/v1/contacts', { name: 42, channel: 'store' }],
    ['an unknown channel', 'POST', '/v1/contacts', { name: 'x', channel: 'tv' }],
    ['a tenantId field', 'POST', '/v1/contacts', { name: 'x', channel: 'store', tenantId: 'other' }],
    ['a stats field', 'POST', '/v1/contacts', { name: 'x', channel: 'store', stats: { orders: 9 } }],
    ['an rfm field', 'POST', '/v1/contacts', { name: 'x', channel: 'store', rfm: {} }],
    ['a stage field', 'POST', '/v1/contacts', { name: 'x', channel: 'store', stage: 'loyal' }],
    [
      'an 11-digit number that is no mobile',
      'POST',
      '/v1/contacts',
      { name: 'x', channel: 'store', phone: '12345678901' },
    ],
    ['a bad email', 'POST', '/v1/contacts', { name: 'x', channel: 'store', email: 'not-an-email' }],
    [
      'the reserved channelDetail none',
      'POST',
      '/v1/contacts',
      { name: 'x', channel: 'store', channelDetail: 'none' },
    ],
    ['limit=1000', 'GET', '/v1/contacts?limit=1000', undefined],
    ['a bad cursor', 'GET', '/v1/contacts?cursor=garbage', undefined],
    ['a batch over 500', 'POST', '/v1/contacts/batch', { contacts: Array.from({ length: 501 }, () => ({})) }],
  ];

  it.each(cases)('answers 4xx problem+json for %s and writes nothing', async (_, method, path, body) => {
    const before = await scanTable();

    const res = await acme.call<{ status: number; title: string }>(method, path, body);

    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.status).toBe(res.status);
    expect(await scanTable()).toBe(before);
  });

  it('answers 413 for a body over 1 MiB and writes nothing', async () => {
    const before = await scanTable();

    const res = await acme.call('POST', '/v1/contacts', {
      name: 'x'.repeat(1024 * 1024 + 10),
      channel: 'store',
    });

    expect(res.status).toBe(413);
    expect(await scanTable()).toBe(before);
  });
});

describe('erasure', () => {
  it('removes every trace of personal data and frees its phone for a new contact', async () => {
    const pii = {
      name: 'Zhang Sanfeng',
      phone: '13700137000',
      email: 'zsf@wudang.example',
      wechatId: 'wx_taiji_77',
      externalId: 'crm-taiji-77',
      tags: ['taiji-master'],
    };
    const created = await acme.ok<{ id: string }>(
      'POST',
      '/v1/contacts',
      { ...pii, channel: 'store' },
      acme.admin,
    );
    await acme.call('PATCH', `/v1/contacts/${created.id}`, { name: 'Zhang Sanfeng' }, acme.admin, {
      'idempotency-key': 'erase-me-1',
    });
    expect(await scanTable()).toContain('wx_taiji_77');

    const res = await acme.call('DELETE', `/v1/contacts/${created.id}`);

    expect(res.status).toBe(204);
    const everything = await scanTable();
    for (const value of [
      'Zhang Sanfeng',
      '+8613700137000',
      '13700137000',
      'zsf@wudang.example',
      'wx_taiji_77',
      'crm-taiji-77',
      'taiji-master',
    ]) {
      expect(everything).not.toContain(value);
    }
    expect((await acme.call('DELETE', `/v1/contacts/${created.id}`)).status).toBe(404);
    expect((await acme.call('GET', `/v1/contacts/${created.id}`)).status).toBe(404);
    // The phone is free again for a new contact.
    expect(
      (await acme.call('POST', '/v1/contacts', { name: 'New', phone: '13700137000', channel: 'store' }))
        .status,
    ).toBe(201);
    await stack.drain();
    expect(stack.events({ detailType: 'ContactErased' }).length).toBeGreaterThan(0);
  });
});

describe('idempotency', () => {
  it('replays the first 2xx answer for the same key and body, and refuses another body', async () => {
    const headers = { 'idempotency-key': 'create-once' };
    const body = { name: 'Once', channel: 'store', externalId: 'once-1' };

    const first = await acme.call<{ id: string }>('POST', '/v1/contacts', body, acme.admin, headers);
    const again = await acme.call<{ id: string }>('POST', '/v1/contacts', body, acme.admin, headers);
    const other = await acme.call('POST', '/v1/contacts', { ...body, name: 'Twice' }, acme.admin, headers);

    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(first.body.id);
    expect(other.status).toBe(422);
  });
});
