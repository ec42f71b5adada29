import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantSession } from '../support/api.js';
import { startTestStack, type TestStack } from '../support/local-stack.js';

const CONTACTS = 10_000;
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ ownDynamo: true });
});

afterAll(async () => {
  await stack?.stop();
});

describe('handover at scale', () => {
  it(`moves all ${CONTACTS.toLocaleString('en')} contacts of a leaver, and a rerun moves none`, async () => {
    // Prepare: a leaver with 10,000 contacts, an account and a colleague
    const acme = await tenantSession(stack, 'handover-co');
    await acme.staff('leaver');
    await acme.staff('heir');
    const account = await acme.ok<{ id: string }>('POST', '/v1/accounts', {
      name: 'Phone 1',
      platform: 'wecom',
      operatorStaffId: 'leaver',
    });
    const loadStarted = Date.now();
    for (let batch = 0; batch < CONTACTS / 500; batch++) {
      const contacts = Array.from({ length: 500 }, (_, i) => ({
        name: `Customer ${batch * 500 + i}`,
        channel: 'store',
        ownerStaffId: 'leaver',
        accountId: account.id,
        tags: ['imported'],
      }));
      const results = await acme.importContacts(contacts);
      expect(results.every((r) => r.status === 'created')).toBe(true);
    }
    const loadMs = Date.now() - loadStarted;

    // Act
    const started = Date.now();
    const { jobId } = await acme.ok<{ jobId: string }>('POST', '/v1/staff/leaver/handover', {
      toStaffId: 'heir',
    });
    const job = await acme.job(jobId, 600_000);
    const handoverMs = Date.now() - started;
    const rerun = await acme.ok<{ jobId: string }>('POST', '/v1/staff/leaver/handover', {
      toStaffId: 'heir',
    });
    const second = await acme.job(rerun.jobId);

    // Assess
    expect(job).toMatchObject({ status: 'succeeded', result: { movedContacts: CONTACTS, movedAccounts: 1 } });
    expect(second).toMatchObject({ status: 'succeeded', result: { movedContacts: 0, movedAccounts: 0 } });
    expect((await acme.ok<{ status: string }>('GET', '/v1/staff/leaver')).status).toBe('left');
    expect(
      (await acme.ok<{ operatorStaffId: string }>('GET', `/v1/accounts/${account.id}`)).operatorStaffId,
    ).toBe('heir');
    const ids = new Set<string>();
    let cursor: string | null = null;
    do {
      const page: { items: { id: string; ownerStaffId: string }[]; nextCursor: string | null } =
        await acme.ok('GET', `/v1/contacts?owner=heir&limit=200${cursor ? `&cursor=${cursor}` : ''}`);
      for (const c of page.items) {
        expect(c.ownerStaffId).toBe('heir');
        ids.add(c.id);
      }
      cursor = page.nextCursor;
    } while (cursor);
    expect(ids.size).toBe(CONTACTS);
    expect((await acme.ok<{ items: unknown[] }>('GET', '/v1/contacts?owner=leaver')).items).toHaveLength(0);
    console.info(
      `handover: ${CONTACTS} contacts loaded in ${(loadMs / 1000).toFixed(1)} s, handed over in ${(handoverMs / 1000).toFixed(1)} s`,
    );
  }, 1_800_000);
});
