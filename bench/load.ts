/**
 * Sustained webhook load over HTTP on the local stack (loopback only, its own in-memory DynamoDB
 * Local, schedules off), with signed generic `order.paid` deliveries:
 *
 *  1. Capacity: closed-loop bursts from 8 and 32 concurrent senders give the maximum sustainable
 *     rate (the better of the two).
 *  2. Steady: 60 % of that rate, at fixed arrival times (open loop) for 60 s, 20 % of the requests
 *     duplicates (half the same delivery again, half the same order under a new delivery id).
 *     Expected: every request answered, no 5xx, orders recorded = distinct orders sent, and the
 *     contacts' stats add up exactly; p50/p99 reported.
 *  3. Overload: 150 % of the rate for 15 s. Every request must be answered (503 with Retry-After
 *     allowed); a client retries a 503 after its Retry-After (and a timeout after a pause), at most
 *     5 times; once the retries are done, every distinct order is counted exactly once.
 *
 * Every loop is bounded (request counts are fixed before a phase starts; retries are capped), and
 * the stack stops at the end. The figures depend on the machine and its load: compare them on one
 * machine. `SIYU_LOAD_SECONDS` shortens the steady phase for a quick look.
 *
 *   npx tsx bench/load.ts
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { signLocalToken } from '../infra/local/jwt.js';
import { formatMoney, parseMoney } from '../shared/domain/money.js';
import { seeded } from '../test/support/random.js';
import { type SignedDelivery, signGeneric } from '../test/support/webhooks.js';
import { jsonCaller, type Order, percentile, round, signedOrder, startQuietStack } from './support.js';
import { runWhenMain } from './when-main.js';

const BURST_SENDERS = 8;
const BURST_REQUESTS = 400;
const WARMUP_REQUESTS = 80;
const STEADY_SHARE = 0.6;
const STEADY_SECONDS = Number(process.env.SIYU_LOAD_SECONDS ?? 60);
const OVERLOAD_SHARE = 1.5;
const OVERLOAD_SECONDS = 15;
const DUPLICATE_SHARE = 0.2;
const BUYERS = 300;
/** In flight at once, at most: an open-loop client past it waits (reported as backlog). */
const MAX_IN_FLIGHT = 4000;
const REQUEST_TIMEOUT_MS = 30_000;
const MAX_ATTEMPTS = 5;

interface Planned {
  order: number;
  /** Reuse the delivery (same delivery id) of this earlier request. */
  sameDeliveryAs?: number;
}

interface Outcome {
  /** Status of each attempt (`timeout`/`error` when no answer came). */
  attempts: string[];
  /** Latency of the first attempt, ms. */
  firstMs: number;
  final: string;
  retryAfterSeconds: number[];
}

/** `count` requests over fresh orders, `DUPLICATE_SHARE` of them repeats of earlier ones. */
function plan(random: () => number, prefix: string, count: number, duplicateShare: number) {
  const orders: Order[] = [];
  const requests: Planned[] = [];
  for (let i = 0; i < count; i++) {
    if (i > 0 && random() < duplicateShare) {
      const earlier = Math.floor(random() * i);
      requests.push(
        random() < 0.5
          ? { order: requests[earlier]!.order, sameDeliveryAs: earlier }
          : { order: requests[earlier]!.order },
      );
      continue;
    }
    orders.push({
      id: `${prefix}-${orders.length}`,
      totalMinor: 100 + Math.floor(random() * 99_900),
      buyer: Math.floor(random() * BUYERS),
      paidAt: new Date(Date.now() - Math.floor(random() * 300) * 86_400_000).toISOString(),
    });
    requests.push({ order: orders.length - 1 });
  }
  return { orders, requests };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

export async function benchLoad(): Promise<Record<string, unknown>> {
  const stack = await startQuietStack(`siyu-bench-load-${randomUUID().slice(0, 8)}`, { host: '127.0.0.1' });
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(stack.url)) throw new Error(`not on loopback: ${stack.url}`);

  const call = jsonCaller(stack.url);

  /** A tenant with a generic shop, its plan of requests, and a sender for one planned request. */
  async function phase(name: string, random: () => number, count: number, duplicateShare: number) {
    const tenant = `bench-load-${name}`;
    const token = await signLocalToken({ tenant, role: 'admin', sub: 'bench' });
    const shop = await call<{ id: string; secret: string }>('POST', '/v1/shops', token, {
      name: `Load ${name}`,
      platform: 'generic',
    });
    const { orders, requests } = plan(random, `${name}`, count, duplicateShare);
    const signed = new Array<SignedDelivery | undefined>(requests.length);
    const deliveryOf = (index: number): SignedDelivery => {
      const planned = requests[index]!;
      const reused = planned.sameDeliveryAs !== undefined ? signed[planned.sameDeliveryAs] : undefined;
      if (reused) return reused;
      const delivery = signedOrder(orders[planned.order]!, shop.secret, { buyerPrefix: 'load-buyer' });
      signed[index] = delivery;
      return delivery;
    };

    /** One attempt: the status (or `timeout`/`error`), and Retry-After when given. */
    const attempt = async (delivery: SignedDelivery) => {
      try {
        // A retried delivery is signed again (the generic scheme's timestamp must be fresh).
        const res = await fetch(`${stack.url}/v1/webhooks/shops/${shop.id}`, {
          method: 'POST',
          headers: delivery.headers,
          body: delivery.body,
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        const text = await res.text();
        const status =
          res.status === 200 ? String((JSON.parse(text) as { status?: string }).status) : `${res.status}`;
        return { status, retryAfter: res.headers.get('retry-after') };
      } catch (error) {
        return { status: (error as Error).name === 'TimeoutError' ? 'timeout' : 'error', retryAfter: null };
      }
    };

    /** Sends a planned request, retrying a 503 after its Retry-After and a timeout after 1 s. */
    const send = async (index: number, retry: boolean): Promise<Outcome> => {
      const first = deliveryOf(index);
      const outcome: Outcome = { attempts: [], firstMs: 0, final: '', retryAfterSeconds: [] };
      let delivery = first;
      for (let n = 0; n < (retry ? MAX_ATTEMPTS : 1); n++) {
        const started = performance.now();
        const { status, retryAfter } = await attempt(delivery);
        if (n === 0) outcome.firstMs = performance.now() - started;
        outcome.attempts.push(status);
        outcome.final = status;
        const again = status === '503' || status === '504' || status === 'timeout' || status === 'error';
        if (!again || !retry) break;
        const seconds = Number(retryAfter ?? 1) || 1;
        outcome.retryAfterSeconds.push(seconds);
        await sleep(seconds * 1000);
        // The same delivery id, re-signed with a fresh timestamp, as a platform retries.
        delivery = signGeneric(first.body, shop.secret, {
          eventId: first.headers['siyu-event-id']!,
        });
      }
      return outcome;
    };

    /** The contacts' stats, summed: orders counted and money spent. */
    const totals = async () => {
      let orders = 0;
      let spentMinor = 0;
      let contacts = 0;
      let cursor: string | null = null;
      for (let page = 0; page < 1000; page++) {
        const out: { items: { stats: { orders: number; spent: string } }[]; nextCursor: string | null } =
          await call(
            'GET',
            `/v1/contacts?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
            token,
          );
        for (const c of out.items) {
          contacts++;
          orders += c.stats.orders;
          spentMinor += parseMoney(c.stats.spent, 'CNY') ?? Number.NaN;
        }
        cursor = out.nextCursor;
        if (!cursor) break;
      }
      return { contacts, orders, spentMinor };
    };
    return { orders, requests, send, totals };
  }

  /** Fires `count` requests at fixed arrival times (open loop); returns every outcome. */
  async function atRate(
    p: Awaited<ReturnType<typeof phase>>,
    rate: number,
    retry: boolean,
  ): Promise<{ outcomes: Outcome[]; wallMs: number; backlogMs: number; maxInFlight: number }> {
    const outcomes = new Array<Outcome>(p.requests.length);
    const pending = new Set<Promise<void>>();
    let backlogMs = 0;
    let maxInFlight = 0;
    const started = performance.now();
    for (let i = 0; i < p.requests.length; i++) {
      await sleep(started + (i * 1000) / rate - performance.now());
      if (pending.size >= MAX_IN_FLIGHT) {
        const waited = performance.now();
        await Promise.race(pending);
        backlogMs += performance.now() - waited;
      }
      const task = p.send(i, retry).then((o) => {
        outcomes[i] = o;
      });
      const tracked = task.finally(() => pending.delete(tracked));
      pending.add(tracked);
      maxInFlight = Math.max(maxInFlight, pending.size);
    }
    await Promise.all(pending);
    return { outcomes, wallMs: performance.now() - started, backlogMs, maxInFlight };
  }

  const count = (outcomes: Outcome[], pick: (o: Outcome) => string[]) => {
    const out: Record<string, number> = {};
    for (const o of outcomes) for (const s of pick(o)) out[s] = (out[s] ?? 0) + 1;
    return out;
  };

  try {
    const random = seeded(11);

    // 1. Capacity: closed-loop bursts of distinct orders from 8 and 32 senders (after a warm-up:
    //    handlers load, the table's first writes); the better rate is the maximum.
    const burstStatuses: Record<string, number> = {};
    const closedLoop = async (p: Awaited<ReturnType<typeof phase>>, senders: number) => {
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: senders }, async () => {
          while (next < p.requests.length) {
            const o = await p.send(next++, false);
            burstStatuses[o.final] = (burstStatuses[o.final] ?? 0) + 1;
          }
        }),
      );
      return p.requests.length / ((performance.now() - started) / 1000);
    };
    await closedLoop(await phase('warmup', random, WARMUP_REQUESTS, 0), BURST_SENDERS);
    const burstRates: Record<string, number> = {};
    for (const senders of [BURST_SENDERS, 4 * BURST_SENDERS])
      burstRates[senders] = round(
        await closedLoop(await phase(`burst${senders}`, random, BURST_REQUESTS, 0), senders),
        1,
      );
    const maxRate = Math.max(...Object.values(burstRates));

    // 2. Steady: 60 % of it for 60 s, 20 % duplicates.
    const steadyRate = maxRate * STEADY_SHARE;
    const steady = await phase('steady', random, Math.round(steadyRate * STEADY_SECONDS), DUPLICATE_SHARE);
    const s = await atRate(steady, steadyRate, false);
    const steadyTotals = await steady.totals();
    const latencies = s.outcomes.map((o) => o.firstMs).sort((a, b) => a - b);
    const steadyStatuses = count(s.outcomes, (o) => [o.final]);
    const steadyTotalMinor = steady.orders.reduce((sum, o) => sum + o.totalMinor, 0);
    const fiveHundreds = s.outcomes.filter((o) => /^5\d\d$/.test(o.final)).length;
    const unanswered = s.outcomes.filter((o) => o.final === 'timeout' || o.final === 'error').length;
    const steadyExact =
      unanswered === 0 &&
      fiveHundreds === 0 &&
      steadyStatuses.recorded === steady.orders.length &&
      steadyStatuses.duplicate === steady.requests.length - steady.orders.length &&
      steadyTotals.orders === steady.orders.length &&
      steadyTotals.spentMinor === steadyTotalMinor;

    // 3. Overload: 150 % for 15 s; clients retry 503s (Retry-After) and timeouts, at most 5 times.
    const overloadRate = maxRate * OVERLOAD_SHARE;
    const overload = await phase(
      'overload',
      random,
      Math.round(overloadRate * OVERLOAD_SECONDS),
      DUPLICATE_SHARE,
    );
    const o = await atRate(overload, overloadRate, true);
    const overloadTotals = await overload.totals();
    const overloadTotalMinor = overload.orders.reduce((sum, x) => sum + x.totalMinor, 0);
    const firstAttempts = count(o.outcomes, (x) => [x.attempts[0]!]);
    const finals = count(o.outcomes, (x) => [x.final]);
    const retried = o.outcomes.filter((x) => x.attempts.length > 1).length;
    const answered = o.outcomes.every((x) => x.attempts.every((a) => a !== 'timeout' && a !== 'error'));
    const overloadLatencies = o.outcomes.map((x) => x.firstMs).sort((a, b) => a - b);
    const overloadExact =
      o.outcomes.every((x) => x.final === 'recorded' || x.final === 'duplicate') &&
      overloadTotals.orders === overload.orders.length &&
      overloadTotals.spentMinor === overloadTotalMinor;

    const result = {
      machine: `${cpus().length} cores, load ${loadavg()
        .map((l) => l.toFixed(1))
        .join('/')}`,
      burstRequests: BURST_REQUESTS,
      burstRatesPerSecondBySenders: burstRates,
      burstStatuses,
      maxRatePerSecond: round(maxRate, 1),
      steadyRatePerSecond: round(steadyRate, 1),
      steadySeconds: STEADY_SECONDS,
      steadyRequests: steady.requests.length,
      steadyAchievedPerSecond: round(steady.requests.length / (s.wallMs / 1000), 1),
      steadyDistinctOrders: steady.orders.length,
      steadyStatuses,
      steadyLost: unanswered,
      steady5xx: fiveHundreds,
      steadyDoubleCounted: steadyTotals.orders - steady.orders.length,
      steadySpent: formatMoney(steadyTotals.spentMinor, 'CNY'),
      steadyOrdersTotal: formatMoney(steadyTotalMinor, 'CNY'),
      steadyP50Ms: round(percentile(latencies, 50), 1),
      steadyP99Ms: round(percentile(latencies, 99), 1),
      steadyMaxMs: round(latencies.at(-1) ?? Number.NaN, 1),
      steadyMaxInFlight: s.maxInFlight,
      steadyExact,
      overloadRatePerSecond: round(overloadRate, 1),
      overloadSeconds: OVERLOAD_SECONDS,
      overloadRequests: overload.requests.length,
      overloadServedPerSecond: round(overload.requests.length / (o.wallMs / 1000), 1),
      overloadDistinctOrders: overload.orders.length,
      overloadFirstAttempts: firstAttempts,
      overloadFinal: finals,
      overloadRetried: retried,
      overloadRetryAfterSeconds: [...new Set(o.outcomes.flatMap((x) => x.retryAfterSeconds))].sort(),
      overloadAllAnswered: answered,
      overloadP50Ms: round(percentile(overloadLatencies, 50), 1),
      overloadP99Ms: round(percentile(overloadLatencies, 99), 1),
      overloadMaxInFlight: o.maxInFlight,
      overloadClientBacklogMs: round(o.backlogMs, 1),
      overloadCounted: overloadTotals.orders,
      overloadExact,
    };
    if (!steadyExact || !overloadExact || !answered)
      throw new Error(`Load bench found lost, failed or double-counted orders: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await stack.stop();
  }
}

runWhenMain(import.meta.url, benchLoad);
