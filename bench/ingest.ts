/**
 * Webhook ingest over HTTP on the local stack (its own in-memory DynamoDB Local, schedules off):
 * signed generic `order.paid` deliveries from 1, 8 and 32 concurrent senders, 600 requests per
 * level, 30 % of them duplicates (half the same delivery again — its event id, signed afresh —
 * half the same order under a new delivery id). Prints requests/s, p50 and p99 per level, and
 * checks the totals are exact: orders recorded = distinct orders sent, and the contacts' stats
 * add up to the orders' totals.
 *
 *   npx tsx bench/ingest.ts
 */
import { signLocalToken } from '../infra/local/jwt.js';
import { formatMoney, parseMoney } from '../shared/domain/money.js';
import { seeded } from '../test/support/random.js';
import type { SignedDelivery } from '../test/support/webhooks.js';
import { jsonCaller, type Order, percentile, round, signedOrder, startQuietStack } from './support.js';
import { runWhenMain } from './when-main.js';

const LEVELS = [1, 8, 32];
const REQUESTS = 600;
const DUPLICATE_SHARE = 0.3;
const BUYERS = 60;
const SEED = 7;

interface Planned {
  orderNo: number;
  /** Reuse the signed delivery of this earlier request (same delivery id) instead of signing anew. */
  sameDeliveryAs?: number;
}

/** 600 requests: 420 distinct orders, 180 duplicates of orders sent before them. */
function plan(random: () => number, level: number): { orders: Order[]; requests: Planned[] } {
  const duplicates = Math.round(REQUESTS * DUPLICATE_SHARE);
  const flags = Array.from({ length: REQUESTS }, (_, i) => i >= REQUESTS - duplicates);
  // Shuffle the duplicate flags over positions 1..n-1 (the first request is always new).
  for (let i = REQUESTS - 1; i > 1; i--) {
    const j = 1 + Math.floor(random() * i);
    [flags[i], flags[j]] = [flags[j]!, flags[i]!];
  }
  const orders: Order[] = [];
  const requests: Planned[] = [];
  for (const [position, duplicate] of flags.entries()) {
    if (!duplicate) {
      const buyer = Math.floor(random() * BUYERS);
      orders.push({
        id: `bench-${level}-${orders.length}`,
        totalMinor: 100 + Math.floor(random() * 99_900),
        buyer,
        paidAt: new Date(Date.now() - Math.floor(random() * 300) * 86_400_000).toISOString(),
      });
      requests.push({ orderNo: orders.length - 1 });
      continue;
    }
    const earlier = Math.floor(random() * position);
    requests.push(
      random() < 0.5
        ? { orderNo: requests[earlier]!.orderNo, sameDeliveryAs: earlier }
        : { orderNo: requests[earlier]!.orderNo },
    );
  }
  return { orders, requests };
}

export async function benchIngest(): Promise<Record<string, unknown>> {
  const stack = await startQuietStack('siyu-bench-ingest');
  const call = jsonCaller(stack.url);

  try {
    const random = seeded(SEED);
    const levels: Record<string, Record<string, unknown>> = {};
    for (const concurrency of LEVELS) {
      const tenant = `bench-ingest-${concurrency}`;
      const token = await signLocalToken({ tenant, role: 'admin', sub: 'bench' });
      const shop = await call<{ id: string; secret: string }>('POST', '/v1/shops', token, {
        name: 'Bench store',
        platform: 'generic',
      });
      const { orders, requests } = plan(random, concurrency);
      const signed = new Array<SignedDelivery>(requests.length);
      const sign = (index: number): SignedDelivery => {
        const planned = requests[index]!;
        // A redelivery keeps its event id and is signed afresh (a new timestamp), as senders retry.
        const eventId =
          planned.sameDeliveryAs === undefined
            ? undefined
            : signed[planned.sameDeliveryAs]?.headers['siyu-event-id'];
        return signedOrder(orders[planned.orderNo]!, shop.secret, { buyerPrefix: 'bench-buyer', eventId });
      };

      const statuses: Record<string, number> = {};
      const latencies: number[] = [];
      let retries = 0;
      let lostAnswers = 0;
      let next = 0;
      const sender = async () => {
        while (next < requests.length) {
          const index = next++;
          const delivery = sign(index);
          signed[index] = delivery;
          // Like a platform, retry a 503 or a gateway 5xx (the function ran out of time).
          for (let attempt = 1; ; attempt++) {
            const started = performance.now();
            const res = await fetch(`${stack.url}/v1/webhooks/shops/${shop.id}`, {
              method: 'POST',
              headers: delivery.headers,
              body: delivery.body,
            });
            const answer = (await res.json()) as { status?: string };
            latencies.push(performance.now() - started);
            const retry =
              res.status === 503 ||
              res.status === 504 ||
              (res.status >= 500 && !res.headers.get('content-type')?.includes('problem+json'));
            if (retry && attempt < 10) {
              retries++;
              lostAnswers += res.status === 503 ? 0 : 1;
              continue;
            }
            const key = res.status === 200 ? String(answer.status) : `http ${res.status}`;
            statuses[key] = (statuses[key] ?? 0) + 1;
            break;
          }
        }
      };
      const started = performance.now();
      await Promise.all(Array.from({ length: concurrency }, sender));
      const wallMs = performance.now() - started;

      // Exact totals: what was recorded, and what the contacts add up to.
      let contactOrders = 0;
      let contactSpentMinor = 0;
      let contacts = 0;
      let cursor: string | null = null;
      do {
        const page: { items: { stats: { orders: number; spent: string } }[]; nextCursor: string | null } =
          await call('GET', `/v1/contacts?limit=200${cursor ? `&cursor=${cursor}` : ''}`, token);
        for (const c of page.items) {
          contacts++;
          contactOrders += c.stats.orders;
          contactSpentMinor += parseMoney(c.stats.spent, 'CNY') ?? Number.NaN;
        }
        cursor = page.nextCursor;
      } while (cursor);
      const totalMinor = orders.reduce((sum, o) => sum + o.totalMinor, 0);
      // A lost answer may hide a `recorded` behind the retry's `duplicate`; the table decides.
      const answered = (statuses.recorded ?? 0) + (statuses.duplicate ?? 0);
      const exact =
        answered === requests.length &&
        (statuses.recorded ?? 0) <= orders.length &&
        (statuses.recorded ?? 0) + lostAnswers >= orders.length &&
        contactOrders === orders.length &&
        contactSpentMinor === totalMinor;

      latencies.sort((a, b) => a - b);
      levels[String(concurrency)] = {
        requests: latencies.length,
        requestsPerSecond: round(latencies.length / (wallMs / 1000), 1),
        p50Ms: round(percentile(latencies, 50), 1),
        p99Ms: round(percentile(latencies, 99), 1),
        statuses,
        retries,
        distinctOrders: orders.length,
        contacts,
        contactOrders,
        contactSpent: formatMoney(contactSpentMinor, 'CNY'),
        ordersTotal: formatMoney(totalMinor, 'CNY'),
        exact,
      };
      if (!exact)
        throw new Error(`Totals are not exact at ${concurrency} senders: ${JSON.stringify(levels)}`);
    }
    // Headline figures as flat numbers (the runner's summary table shows scalars only).
    const headline: Record<string, unknown> = {};
    for (const [concurrency, figures] of Object.entries(levels)) {
      headline[`c${concurrency}RequestsPerSecond`] = figures.requestsPerSecond;
      headline[`c${concurrency}P50Ms`] = figures.p50Ms;
      headline[`c${concurrency}P99Ms`] = figures.p99Ms;
    }
    return {
      requestsPerLevel: REQUESTS,
      duplicateShare: DUPLICATE_SHARE,
      buyers: BUYERS,
      ...headline,
      exact: Object.values(levels).every((l) => l.exact === true),
      levels,
    };
  } finally {
    await stack.stop();
  }
}

runWhenMain(import.meta.url, benchIngest);
