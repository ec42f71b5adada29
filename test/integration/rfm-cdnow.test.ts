/**
 * Issue 5 end to end on real data: the whole CDNOW purchase log imported through
 * `POST /v1/orders/batch` into the local stack, then one RFM and lifecycle run at 1998-07-01
 * (365-day window, the default), checked contact by contact against the DuckDB reference.
 *
 * The import is the slow part (about 37 minutes on two cores shared with other work, where
 * DynamoDB Local answers a call in tens of ms). It runs once in
 * `beforeAll`, together with the first run, and the tests below assess what they produced. Load
 * and run figures are printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS, type RfmScore } from '../../shared/domain/rfm.js';
import { defaultSettings } from '../../shared/schemas/settings.js';
import { tenantSession } from '../support/api.js';
import { startTestStack, type TestStack } from '../support/local-stack.js';
import { CDNOW_PATH, type OrderRow, RfmReference, readCdnow } from '../support/rfm-reference.js';

const AS_OF = '1998-07-01T00:00:00Z';
const AS_OF_MS = Date.parse(AS_OF);
const WINDOW_DAYS = 365;
/** Batches small enough to finish well inside the function time limit on a loaded machine; two in flight. */
const BATCH = 100;
const IN_FLIGHT = 2;
const MINUTE = 60_000;

interface ContactView {
  id: string;
  externalId?: string;
  stage: string;
  stats: { orders: number; spent: string };
  rfm?: {
    r: number | null;
    f: number | null;
    m: number | null;
    recencyDays: number | null;
    frequency: number | null;
    monetary: string | null;
    segment: string;
    computedAt: string;
  };
}

interface JobView {
  status: string;
  result?: { scored: number; written: number; events: number };
  error?: string;
}

interface Expected {
  scores: Map<string, RfmScore>;
  stages: Map<string, string>;
  scored: number;
  means: { recencyDays: number; frequency: number; monetary: number };
}

let stack: TestStack;
let shop: Awaited<ReturnType<typeof tenantSession>>;
let expected: Expected;
let firstRun: JobView;
/** Every contact after the first run, by CDNOW customer id. */
let contacts: Map<string, ContactView>;
const figures: Record<string, number> = {};

/** Dollars and cents from integer cents (the file's two-decimal text). */
const dollars = (cents: number) => `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
const utcMidnight = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

/**
 * The reference, independent of the product: RFM from the DuckDB query of test/support, and the
 * lifecycle stage at asOf from the same orders in SQL (no refunds in CDNOW: every order counts).
 */
async function referenceOf(rows: readonly OrderRow[]): Promise<Expected> {
  const reference = await RfmReference.load(rows);
  try {
    const rfm = await reference.score({ asOf: AS_OF_MS, windowDays: WINDOW_DAYS });
    const { loyalMinOrders, loyalWithinDays } = defaultSettings.lifecycle;
    const reader = await reference.connection.runAndReadAll(`
      SELECT contact_no,
        CASE
          WHEN count(*) >= ${loyalMinOrders} AND ${AS_OF_MS} - max(paid_at_ms) <= ${loyalWithinDays * DAY_MS}
            THEN 'loyal'
          WHEN count(*) = 1 THEN 'first_purchase'
          ELSE 'repeat'
        END AS stage
      FROM orders WHERE paid_at_ms <= ${AS_OF_MS} GROUP BY contact_no`);
    const stages = new Map<string, string>();
    for (const row of reader.getRowObjectsJS()) {
      stages.set(reference.contactIds[Number(row.contact_no)]!, String(row.stage));
    }
    return {
      scores: rfm.scores,
      stages,
      scored: rfm.scored,
      means: rfm.means as Expected['means'],
    };
  } finally {
    reference.close();
  }
}

/**
 * Imports the rows in paid-time order (as a shop's history arrives), BATCH per call, IN_FLIGHT
 * calls at a time. A call that runs short of the function's time limit answers 503 after the rows
 * it started; it is sent again after its Retry-After, and the rows it had recorded come back
 * `duplicate` (import is idempotent per order id).
 */
async function importAll(rows: readonly OrderRow[]) {
  const payload = rows
    .map((row, index) => ({
      id: `${row.contactId}-${index}`,
      total: dollars(row.totalMinor),
      currency: 'USD',
      paidAt: utcMidnight(row.paidAtMs),
      contact: { externalId: row.contactId },
    }))
    .sort((a, b) => a.paidAt.localeCompare(b.paidAt));
  const batches: (typeof payload)[] = [];
  for (let i = 0; i < payload.length; i += BATCH) batches.push(payload.slice(i, i + BATCH));
  const outcome = { recorded: 0, duplicate: 0, errors: [] as string[], resent: 0 };
  let next = 0;
  const sender = async () => {
    while (next < batches.length) {
      const batch = batches[next++]!;
      for (let attempt = 1; ; attempt++) {
        const res = await shop.call<{ results: { id: string; status: string; error?: string }[] }>(
          'POST',
          '/v1/orders/batch',
          { orders: batch },
        );
        if (res.status === 200) {
          for (const r of res.body.results) {
            if (r.status === 'recorded') outcome.recorded++;
            else if (r.status === 'duplicate') outcome.duplicate++;
            else outcome.errors.push(`${r.id}: ${r.error}`);
          }
          break;
        }
        expect(res.status, res.text).toBe(503);
        expect(attempt, `batch still failing: ${res.text}`).toBeLessThan(30);
        outcome.resent++;
        await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after')) * 1000));
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, sender));
  return outcome;
}

async function waitForJob(jobId: string, timeoutMs: number): Promise<JobView> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const job = await shop.ok<JobView>('GET', `/v1/jobs/${jobId}`);
    if (job.status === 'succeeded' || job.status === 'failed') return job;
    await new Promise((r) => setTimeout(r, 2_000));
  }
  throw new Error(`job ${jobId} did not finish in ${timeoutMs} ms`);
}

async function runRfm(asOf: string): Promise<{ job: JobView; ms: number }> {
  const started = performance.now();
  const { jobId } = await shop.ok<{ jobId: string }>('POST', '/v1/jobs/rfm', { asOf });
  const job = await waitForJob(jobId, 120 * MINUTE);
  return { job, ms: performance.now() - started };
}

/** Every page of a contact list, by customer id. */
async function listContacts(filter: Record<string, string> = {}): Promise<Map<string, ContactView>> {
  const found = new Map<string, ContactView>();
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ ...filter, limit: '200', ...(cursor ? { cursor } : {}) });
    const page: { items: ContactView[]; nextCursor: string | null } = await shop.ok(
      'GET',
      `/v1/contacts?${query}`,
    );
    for (const contact of page.items) found.set(contact.externalId!, contact);
    cursor = page.nextCursor;
  } while (cursor);
  return found;
}

beforeAll(async () => {
  stack = await startTestStack({ ownDynamo: true });
  shop = await tenantSession(stack, 'cdnow');
  await shop.ok('PUT', '/v1/settings', { timezone: 'UTC', currency: 'USD' });
  const orders = readCdnow(CDNOW_PATH);
  expected = await referenceOf(orders);

  let started = performance.now();
  const loaded = await importAll(orders);
  figures.loadMinutes = (performance.now() - started) / MINUTE;
  figures.ordersPerSecond = orders.length / ((performance.now() - started) / 1000);
  figures.resentBatches = loaded.resent;
  expect(loaded.errors).toEqual([]);
  expect(loaded.recorded + loaded.duplicate).toBe(orders.length);
  started = performance.now();
  await stack.drain(30 * MINUTE);
  figures.drainSeconds = (performance.now() - started) / 1000;

  const run = await runRfm(AS_OF);
  firstRun = run.job;
  figures.runMinutes = run.ms / MINUTE;
  figures.scoredPerSecond = expected.scored / (run.ms / 1000);
  await stack.drain(10 * MINUTE);
  contacts = await listContacts();
  console.info('CDNOW through the local stack', JSON.stringify(figures));
}, 240 * MINUTE);

afterAll(async () => {
  await stack?.stop();
});

describe('nightly segmentation on the CDNOW purchase log', () => {
  it('imports every row once: 23,570 contacts with 69,659 orders worth 2,500,315.63', () => {
    expect(contacts.size).toBe(23_570);
    let count = 0;
    let cents = 0;
    for (const contact of contacts.values()) {
      count += contact.stats.orders;
      const [whole, fraction] = contact.stats.spent.split('.') as [string, string];
      cents += Number(whole) * 100 + Number(fraction);
    }
    expect(count).toBe(69_659);
    expect(dollars(cents)).toBe('2500315.63');
  });

  it('gives every contact the scores, values and segment of the DuckDB reference', () => {
    expect(firstRun).toMatchObject({ status: 'succeeded' });
    const mismatches: string[] = [];
    for (const [customer, score] of expected.scores) {
      const actual = contacts.get(customer)?.rfm;
      const wanted =
        score.segment === 'none'
          ? undefined
          : {
              r: score.r,
              f: score.f,
              m: score.m,
              recencyDays: score.recencyDays,
              frequency: score.frequency,
              monetary: dollars(score.monetaryMinor!),
              segment: score.segment,
              computedAt: new Date(AS_OF_MS).toISOString(),
            };
      if (JSON.stringify(actual) !== JSON.stringify(wanted)) {
        mismatches.push(`${customer}: ${JSON.stringify(actual)} ≠ ${JSON.stringify(wanted)}`);
      }
    }
    expect(mismatches.slice(0, 10)).toEqual([]);
    expect(mismatches).toHaveLength(0);
    expect(expected.scored).toBe(8_312);
  });

  it('gives every contact its lifecycle stage at asOf', () => {
    const mismatches = [...expected.stages]
      .filter(([customer, stage]) => contacts.get(customer)?.stage !== stage)
      .map(([customer, stage]) => `${customer}: ${contacts.get(customer)?.stage} ≠ ${stage}`);
    expect(mismatches.slice(0, 10)).toEqual([]);
    expect(expected.stages.size).toBe(23_570);
  });

  it('reports scored, written and events: one write per scored contact, events for each change', () => {
    const loyal = [...expected.stages.values()].filter((s) => s === 'loyal').length;
    expect(loyal).toBeGreaterThan(0);
    // Imported "now", every contact was first_purchase or repeat; at asOf the loyal ones change.
    expect(firstRun.result).toEqual({
      scored: expected.scored,
      written: expected.scored,
      events: expected.scored + loyal,
    });
  });

  it('serves the reference counts and means at GET /v1/segments', async () => {
    const segments = await shop.ok<{
      asOf: string;
      windowDays: number;
      means: { recencyDays: number; frequency: number; monetary: number };
      rfm: Record<string, number>;
      stages: Record<string, number>;
    }>('GET', '/v1/segments');

    const rfmCounts: Record<string, number> = {};
    for (const { segment } of expected.scores.values()) rfmCounts[segment] = (rfmCounts[segment] ?? 0) + 1;
    const stageCounts: Record<string, number> = { prospect: 0, first_purchase: 0, repeat: 0, loyal: 0 };
    for (const stage of expected.stages.values()) stageCounts[stage]!++;
    expect(segments.asOf).toBe(new Date(AS_OF_MS).toISOString());
    expect(segments.windowDays).toBe(WINDOW_DAYS);
    expect(Object.fromEntries(Object.entries(segments.rfm).filter(([, n]) => n > 0))).toEqual(rfmCounts);
    expect(segments.stages).toEqual(stageCounts);
    expect(segments.means.recencyDays).toBeCloseTo(expected.means.recencyDays, 9);
    expect(segments.means.frequency).toBeCloseTo(expected.means.frequency, 9);
    expect(segments.means.monetary).toBeCloseTo(expected.means.monetary / 100, 6);
  });

  it('lists exactly the reference important_value contacts from the segment index', async () => {
    const listed = await listContacts({ segment: 'important_value' });

    const wanted = [...expected.scores]
      .filter(([, score]) => score.segment === 'important_value')
      .map(([customer]) => customer);
    expect(wanted.length).toBeGreaterThan(1_000);
    expect([...listed.keys()].sort()).toEqual(wanted.sort());
  });

  it('emits SegmentChanged from null on a first scoring, to the reference segment', () => {
    // The local bus keeps the latest 1,000 events: the run's own, emitted last.
    const byId = new Map([...contacts].map(([customer, c]) => [c.id, customer]));
    const changes = stack
      .events({ detailType: 'SegmentChanged' })
      .map(
        (e) =>
          (e.detail as { data: { contactId: string; from: string | null; to: string; asOf: string } }).data,
      );
    expect(changes.length).toBeGreaterThan(100);
    for (const change of changes) {
      expect(change).toEqual({
        contactId: change.contactId,
        from: null,
        to: expected.scores.get(byId.get(change.contactId)!)?.segment,
        asOf: new Date(AS_OF_MS).toISOString(),
      });
    }
  });

  it(
    'writes no contact and emits no event when the same asOf runs again',
    async () => {
      const before = new Set(stack.events().map((e) => e.id));

      const { job, ms } = await runRfm(AS_OF);
      await stack.drain(5 * MINUTE);

      console.info('CDNOW rerun at the same asOf', JSON.stringify({ rerunMinutes: ms / MINUTE }));
      expect(job).toMatchObject({
        status: 'succeeded',
        result: { scored: expected.scored, written: 0, events: 0 },
      });
      const emitted = stack.events().filter((e) => !before.has(e.id));
      expect(
        emitted.filter((e) => e.detailType === 'SegmentChanged' || e.detailType === 'StageChanged'),
      ).toEqual([]);
    },
    120 * MINUTE,
  );

  it('refuses an asOf earlier than the latest run (409) and one in the future (400)', async () => {
    const earlier = await shop.call('POST', '/v1/jobs/rfm', { asOf: '1998-06-30T23:59:59Z' });
    const future = await shop.call('POST', '/v1/jobs/rfm', {
      asOf: new Date(Date.now() + 10 * MINUTE).toISOString(),
    });

    expect(earlier.status, earlier.text).toBe(409);
    expect(future.status, future.text).toBe(400);
  });
});
