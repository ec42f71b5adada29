/**
 * RFM scoring and the lifecycle stage at an instant, from per-contact order facts. Pure, no
 * AWS imports; scoring from columns allocates a fixed set of typed arrays per run and nothing
 * per contact, so one run scores millions of contacts.
 *
 * Definitions (API.md, "Counted and net" and "Segments: lifecycle and RFM"); all instants in
 * epoch ms, all money in integer minor units, a day is DAY_MS:
 * - At instant T an order is *counted* when paidAt ≤ T and not (it has ≥ 1 refund with
 *   refundedAt ≤ T and those refunds sum to ≥ total); its *net* = total − min(total, that
 *   sum). A 0.00 order without refunds is counted with net 0.
 * - The window is (asOf − windowDays × DAY_MS, asOf]. A contact is *scored* when it has ≥ 1
 *   order counted at asOf with paidAt in the window; n = the number of scored contacts.
 * - recencyDays = floor((asOf − its last counted paidAt in the window) / DAY_MS), so
 *   0 ≤ recencyDays < windowDays; frequency = its counted orders in the window;
 *   monetary = the sum of their net.
 * - Score of a value: 1 + floor(5 × worse / n), worse = the number of scored contacts with a
 *   strictly worse value (R: strictly larger recencyDays; F, M: strictly smaller). Ties share
 *   a score. Computed as 1 + #{k ∈ 1..4 : 5 × worse ≥ k × n}, integers only.
 * - R high ⇔ recencyDays × n < ΣrecencyDays ⇔ recencyDays < ⌈ΣrecencyDays / n⌉;
 *   F high ⇔ frequency × n > Σfrequency ⇔ frequency > ⌊Σfrequency / n⌋;
 *   M high ⇔ monetary × n > Σmonetary ⇔ monetary > ⌊Σmonetary / n⌋ (the values are
 *   integers, so each side is exact). Σmonetary is kept exact past 2^53 (BigInt once a
 *   double would round); the other sums stay far below 2^53. With n = 1 or all values equal
 *   every comparison is low.
 * - Segment by (R, F, M) high/low: HHH important_value, HLH important_develop, LHH
 *   important_retain, LLH important_winback, HHL general_value, HLL general_develop, LHL
 *   general_retain, LLL general_winback; a contact not scored is "none" with null values.
 * - Means: ΣrecencyDays / n, Σfrequency / n and Σmonetary / n as plain numbers (the monetary
 *   mean is a decimal number of minor units, e.g. 1234.5 for 12.345 USD); all null when n = 0.
 * - Stage at asOf: stageOf over the contact's orders counted at asOf at any time (not only in
 *   the window) and the last of their paidAt.
 *
 * Cost: one pass over orders and refunds, counting sorts for R and F, an LSD radix sort for
 * M; O(orders + refunds + contacts + windowDays).
 */
import { type LifecycleRules, NONE, SEGMENTS, type Segment, STAGES, type Stage, stageOf } from './contact.js';
import { DAY_MS } from './zone.js';

export { DAY_MS };

export interface RfmRefund {
  amountMinor: number;
  refundedAtMs: number;
}

export interface RfmOrder {
  paidAtMs: number;
  totalMinor: number;
  refunds?: readonly RfmRefund[];
}

export interface RfmContact {
  contactId: string;
  orders: readonly RfmOrder[];
}

/**
 * The same facts in columns. Contact c owns orders orderStart[c] ..< orderStart[c + 1]; order
 * o owns refunds refundStart[o] ..< refundStart[o + 1]. Without refundStart no order has a
 * refund. Times are integer epoch ms and money non-negative integer minor units (≤ 2^53 − 1),
 * stored in doubles.
 */
export interface RfmColumns {
  contacts: number;
  orderStart: Uint32Array;
  paidAtMs: Float64Array;
  totalMinor: Float64Array;
  refundStart?: Uint32Array;
  refundAmountMinor?: Float64Array;
  refundedAtMs?: Float64Array;
}

export interface RfmOptions {
  /** The instant of evaluation, epoch ms. */
  asOf: number;
  windowDays: number;
}

export interface RfmMeans {
  recencyDays: number | null;
  frequency: number | null;
  /** Decimal minor units. */
  monetary: number | null;
}

/** The eight segments then "none": a segment code is an index into this list. */
export const RFM_CLASSES = [...SEGMENTS, NONE] as const satisfies readonly Segment[];
export const NOT_SCORED = RFM_CLASSES.length - 1;

/**
 * A run's result in columns, index = contact. A contact not scored has r = f = m = 0,
 * recencyDays = -1, frequency = 0, monetaryMinor = 0 and segment = NOT_SCORED.
 */
export interface RfmTable {
  scored: number;
  r: Uint8Array;
  f: Uint8Array;
  m: Uint8Array;
  recencyDays: Int32Array;
  frequency: Uint32Array;
  monetaryMinor: Float64Array;
  /** Index into RFM_CLASSES. */
  segment: Uint8Array;
  means: RfmMeans;
  counts: Record<Segment, number>;
}

export interface RfmScore {
  r: number | null;
  f: number | null;
  m: number | null;
  recencyDays: number | null;
  frequency: number | null;
  monetaryMinor: number | null;
  segment: Segment;
}

export interface ContactRfmScore extends RfmScore {
  contactId: string;
}

export interface RfmRun {
  /** In the order of the input. */
  contacts: ContactRfmScore[];
  scored: number;
  means: RfmMeans;
  counts: Record<Segment, number>;
}

/** Scores contacts given as objects; the result keeps their order. */
export function scoreRfm(contacts: readonly RfmContact[], options: RfmOptions): RfmRun {
  const table = scoreRfmColumns(packFacts(contacts), options);
  return {
    contacts: contacts.map((contact, i) => ({ contactId: contact.contactId, ...rfmOf(table, i) })),
    scored: table.scored,
    means: table.means,
    counts: table.counts,
  };
}

/** The score of a contact without orders that count in the window. */
export const UNSCORED: Readonly<RfmScore> = {
  r: null,
  f: null,
  m: null,
  recencyDays: null,
  frequency: null,
  monetaryMinor: null,
  segment: NONE,
};

/** One contact's row of a columnar result. */
export function rfmOf(table: RfmTable, index: number): RfmScore {
  const code = table.segment[index]!;
  if (code === NOT_SCORED) return { ...UNSCORED };
  return {
    r: table.r[index]!,
    f: table.f[index]!,
    m: table.m[index]!,
    recencyDays: table.recencyDays[index]!,
    frequency: table.frequency[index]!,
    monetaryMinor: table.monetaryMinor[index]!,
    segment: RFM_CLASSES[code]!,
  };
}

/** The columnar form of object facts (two passes, no intermediate arrays). */
export function packFacts(contacts: readonly RfmContact[]): RfmColumns {
  let orders = 0;
  let refunds = 0;
  for (const contact of contacts) {
    orders += contact.orders.length;
    for (const order of contact.orders) refunds += order.refunds?.length ?? 0;
  }
  const orderStart = new Uint32Array(contacts.length + 1);
  const paidAtMs = new Float64Array(orders);
  const totalMinor = new Float64Array(orders);
  const refundStart = refunds > 0 ? new Uint32Array(orders + 1) : undefined;
  const refundAmountMinor = new Float64Array(refunds);
  const refundedAtMs = new Float64Array(refunds);
  let o = 0;
  let k = 0;
  for (let c = 0; c < contacts.length; c++) {
    orderStart[c] = o;
    for (const order of contacts[c]!.orders) {
      paidAtMs[o] = order.paidAtMs;
      totalMinor[o] = order.totalMinor;
      if (refundStart) {
        refundStart[o] = k;
        for (const refund of order.refunds ?? []) {
          refundAmountMinor[k] = refund.amountMinor;
          refundedAtMs[k] = refund.refundedAtMs;
          k++;
        }
      }
      o++;
    }
  }
  orderStart[contacts.length] = o;
  if (!refundStart) return { contacts: contacts.length, orderStart, paidAtMs, totalMinor };
  refundStart[orders] = k;
  return {
    contacts: contacts.length,
    orderStart,
    paidAtMs,
    totalMinor,
    refundStart,
    refundAmountMinor,
    refundedAtMs,
  };
}

/** The net of an order counted at instant `at`, or -1 when it is not counted then. */
export function countedNetAt(order: RfmOrder, at: number): number {
  if (order.paidAtMs > at) return -1;
  let refunded = 0;
  let any = false;
  for (const refund of order.refunds ?? []) {
    if (refund.refundedAtMs <= at) {
      refunded += refund.amountMinor;
      any = true;
    }
  }
  if (!any) return order.totalMinor;
  return refunded >= order.totalMinor ? -1 : order.totalMinor - refunded;
}

/** The lifecycle stage at asOf: counted orders at asOf, all time, and the last one's paidAt. */
export function lifecycleStage(orders: readonly RfmOrder[], asOf: number, rules: LifecycleRules): Stage {
  let count = 0;
  let last = Number.NEGATIVE_INFINITY;
  for (const order of orders) {
    if (countedNetAt(order, asOf) < 0) continue;
    count++;
    if (order.paidAtMs > last) last = order.paidAtMs;
  }
  return stageAt(count, last, new Date(asOf), rules);
}

/** Each contact's lifecycle stage at asOf, as an index into STAGES. */
export function lifecycleStages(facts: RfmColumns, asOf: number, rules: LifecycleRules): Uint8Array {
  const { orderStart, paidAtMs, totalMinor, refundStart, refundAmountMinor, refundedAtMs } = facts;
  const stages = new Uint8Array(facts.contacts);
  const at = new Date(asOf);
  for (let c = 0; c < facts.contacts; c++) {
    let count = 0;
    let last = Number.NEGATIVE_INFINITY;
    for (let o = orderStart[c]!, end = orderStart[c + 1]!; o < end; o++) {
      const paid = paidAtMs[o]!;
      if (paid > asOf) continue;
      if (refundStart && refundStart[o] !== refundStart[o + 1]) {
        const net = netAfterRefunds(
          totalMinor[o]!,
          refundStart[o]!,
          refundStart[o + 1]!,
          refundAmountMinor!,
          refundedAtMs!,
          asOf,
        );
        if (net < 0) continue;
      }
      count++;
      if (paid > last) last = paid;
    }
    stages[c] = STAGES.indexOf(stageAt(count, last, at, rules));
  }
  return stages;
}

function stageAt(orders: number, lastPaidAtMs: number, at: Date, rules: LifecycleRules): Stage {
  // The last paid time only matters to the loyalty test, so fewer orders skip the ISO string.
  const lastOrderAt =
    orders > 0 && orders >= rules.loyalMinOrders ? new Date(lastPaidAtMs).toISOString() : undefined;
  return stageOf({ orders, lastOrderAt }, rules, at);
}

/** The net after the refunds of [from, to) made by `at`, or -1 when they cancel the order. */
function netAfterRefunds(
  total: number,
  from: number,
  to: number,
  amounts: Float64Array,
  times: Float64Array,
  at: number,
): number {
  let refunded = 0;
  let any = false;
  for (let k = from; k < to; k++) {
    if (times[k]! <= at) {
      refunded += amounts[k]!;
      any = true;
    }
  }
  if (!any) return total;
  return refunded >= total ? -1 : total - refunded;
}

/** Scores contacts given as columns (the hot path). */
export function scoreRfmColumns(facts: RfmColumns, options: RfmOptions): RfmTable {
  const { asOf, windowDays } = options;
  if (!Number.isSafeInteger(asOf)) throw new RangeError('asOf must be an integer epoch ms');
  if (!Number.isSafeInteger(windowDays) || windowDays < 1) throw new RangeError('windowDays must be ≥ 1');
  const contacts = facts.contacts;
  const { orderStart, paidAtMs, totalMinor, refundStart, refundAmountMinor, refundedAtMs } = facts;
  const windowStart = asOf - windowDays * DAY_MS;

  const recencyDays = new Int32Array(contacts);
  const frequency = new Uint32Array(contacts);
  const monetaryMinor = new Float64Array(contacts);
  const segment = new Uint8Array(contacts);
  const r = new Uint8Array(contacts);
  const f = new Uint8Array(contacts);
  const m = new Uint8Array(contacts);

  // 1. Per contact: its counted orders in the window, their net, the last paidAt.
  let n = 0;
  let sumRecency = 0;
  let sumFrequency = 0;
  let maxRecency = 0;
  let maxFrequency = 0;
  let maxMonetary = 0;
  const monetarySum = new ExactSum();
  for (let c = 0; c < contacts; c++) {
    let count = 0;
    let money = 0;
    let last = windowStart;
    for (let o = orderStart[c]!, end = orderStart[c + 1]!; o < end; o++) {
      const paid = paidAtMs[o]!;
      if (paid <= windowStart || paid > asOf) continue;
      let net = totalMinor[o]!;
      if (refundStart && refundStart[o] !== refundStart[o + 1]) {
        net = netAfterRefunds(
          net,
          refundStart[o]!,
          refundStart[o + 1]!,
          refundAmountMinor!,
          refundedAtMs!,
          asOf,
        );
        if (net < 0) continue;
      }
      count++;
      money += net;
      if (paid > last) last = paid;
    }
    if (count === 0) {
      recencyDays[c] = -1;
      segment[c] = NOT_SCORED;
      continue;
    }
    // Non-negative integer addends: the double sum is exact unless it ends past 2^53 - 1.
    if (money > Number.MAX_SAFE_INTEGER) throw new RangeError('a contact monetary sum exceeds 2^53 - 1');
    const recency = Math.floor((asOf - last) / DAY_MS);
    recencyDays[c] = recency;
    frequency[c] = count;
    monetaryMinor[c] = money;
    n++;
    sumRecency += recency;
    sumFrequency += count;
    monetarySum.add(money);
    if (recency > maxRecency) maxRecency = recency;
    if (count > maxFrequency) maxFrequency = count;
    if (money > maxMonetary) maxMonetary = money;
  }

  const counts = Object.fromEntries(RFM_CLASSES.map((name) => [name, 0])) as Record<Segment, number>;
  counts[NONE] = contacts - n;
  if (n === 0) {
    return {
      scored: 0,
      r,
      f,
      m,
      recencyDays,
      frequency,
      monetaryMinor,
      segment,
      means: { recencyDays: null, frequency: null, monetary: null },
      counts,
    };
  }

  // 2. Scores per distinct R and F value from counting histograms.
  const recencyScore = new Uint8Array(maxRecency + 1);
  const frequencyScore = new Uint8Array(maxFrequency + 1);
  {
    const recencyCount = new Uint32Array(maxRecency + 1);
    const frequencyCount = new Uint32Array(maxFrequency + 1);
    for (let c = 0; c < contacts; c++) {
      const recency = recencyDays[c]!;
      if (recency < 0) continue;
      recencyCount[recency]!++;
      frequencyCount[frequency[c]!]!++;
    }
    let larger = 0;
    for (let v = maxRecency; v >= 0; v--) {
      recencyScore[v] = scoreOf(larger, n);
      larger += recencyCount[v]!;
    }
    let smaller = 0;
    for (let v = 0; v <= maxFrequency; v++) {
      frequencyScore[v] = scoreOf(smaller, n);
      smaller += frequencyCount[v]!;
    }
  }

  // 3. M scores: scored contacts sorted by monetary, each tie group scored once.
  scoreMonetary(monetaryMinor, recencyDays, n, maxMonetary, m);

  // 4. Segments against the exact means.
  const recencyHighBelow = Math.ceil(sumRecency / n);
  const frequencyHighAbove = Math.floor(sumFrequency / n);
  const monetaryHighAbove = monetarySum.floorDiv(n);
  const segmentCount = new Uint32Array(RFM_CLASSES.length);
  for (let c = 0; c < contacts; c++) {
    const recency = recencyDays[c]!;
    if (recency < 0) continue;
    r[c] = recencyScore[recency]!;
    f[c] = frequencyScore[frequency[c]!]!;
    const code =
      (monetaryMinor[c]! > monetaryHighAbove ? 0 : 4) +
      (recency < recencyHighBelow ? 0 : 2) +
      (frequency[c]! > frequencyHighAbove ? 0 : 1);
    segment[c] = code;
    segmentCount[code]!++;
  }
  for (let code = 0; code < SEGMENTS.length; code++) counts[SEGMENTS[code]!] = segmentCount[code]!;

  return {
    scored: n,
    r,
    f,
    m,
    recencyDays,
    frequency,
    monetaryMinor,
    segment,
    means: { recencyDays: sumRecency / n, frequency: sumFrequency / n, monetary: monetarySum.mean(n) },
    counts,
  };
}

/** 1 + floor(5 × worse / n) without division. */
function scoreOf(worse: number, n: number): number {
  const five = 5 * worse;
  return (
    1 + (five >= n ? 1 : 0) + (five >= 2 * n ? 1 : 0) + (five >= 3 * n ? 1 : 0) + (five >= 4 * n ? 1 : 0)
  );
}

/** A sum of non-negative safe integers, exact at any size: a double until it would round. */
class ExactSum {
  private small = 0;
  private big = 0n;

  add(value: number): void {
    if (this.small > Number.MAX_SAFE_INTEGER - value) {
      this.big += BigInt(this.small);
      this.small = 0;
    }
    this.small += value;
  }

  floorDiv(n: number): number {
    if (this.big === 0n) return Math.floor(this.small / n);
    return Number((this.big + BigInt(this.small)) / BigInt(n));
  }

  mean(n: number): number {
    if (this.big === 0n) return this.small / n;
    const total = this.big + BigInt(this.small);
    const divisor = BigInt(n);
    return Number(total / divisor) + Number(total % divisor) / n;
  }
}

const DIGIT_BITS = 11;
const DIGIT_MASK = (1 << DIGIT_BITS) - 1;
const TWO_32 = 2 ** 32;

/**
 * Writes the M score of each scored contact (recencyDays ≥ 0) into `m`: the scored contacts
 * sorted by monetary, ascending, with a stable LSD radix sort on 11-bit digits of the
 * value's low then high 32-bit word (only the digits the largest value has, skipping a digit
 * every key shares); then each run of equal values gets the score of its first position.
 */
function scoreMonetary(
  monetary: Float64Array,
  recencyDays: Int32Array,
  n: number,
  max: number,
  m: Uint8Array,
): void {
  const wide = max >= TWO_32;
  let order = new Uint32Array(n);
  let low = new Uint32Array(n);
  let high = new Uint32Array(wide ? n : 0);
  for (let c = 0, i = 0; i < n; c++) {
    if (recencyDays[c]! < 0) continue;
    const value = monetary[c]!;
    order[i] = c;
    if (wide) {
      const hi = Math.floor(value / TWO_32);
      high[i] = hi;
      low[i] = value - hi * TWO_32;
    } else {
      low[i] = value;
    }
    i++;
  }
  const lowBits = wide ? 32 : Math.ceil(Math.log2(max + 1));
  const highBits = wide ? Math.ceil(Math.log2(Math.floor(max / TWO_32) + 1)) : 0;
  const passes: [onHigh: boolean, shift: number][] = [];
  for (let shift = 0; shift < lowBits; shift += DIGIT_BITS) passes.push([false, shift]);
  for (let shift = 0; shift < highBits; shift += DIGIT_BITS) passes.push([true, shift]);

  let spareOrder = new Uint32Array(n);
  let spareLow = new Uint32Array(n);
  let spareHigh = new Uint32Array(wide ? n : 0);
  const start = new Uint32Array(DIGIT_MASK + 1);
  for (const [onHigh, shift] of passes) {
    const keys = onHigh ? high : low;
    start.fill(0);
    for (let i = 0; i < n; i++) start[(keys[i]! >>> shift) & DIGIT_MASK]!++;
    if (start[(keys[0]! >>> shift) & DIGIT_MASK] === n) continue;
    let total = 0;
    for (let d = 0; d <= DIGIT_MASK; d++) {
      const size = start[d]!;
      start[d] = total;
      total += size;
    }
    for (let i = 0; i < n; i++) {
      const to = start[(keys[i]! >>> shift) & DIGIT_MASK]!++;
      spareOrder[to] = order[i]!;
      spareLow[to] = low[i]!;
      if (wide) spareHigh[to] = high[i]!;
    }
    [order, spareOrder] = [spareOrder, order];
    [low, spareLow] = [spareLow, low];
    [high, spareHigh] = [spareHigh, high];
  }
  let i = 0;
  while (i < n) {
    const lowValue = low[i]!;
    const highValue = wide ? high[i]! : 0;
    const score = scoreOf(i, n);
    for (; i < n && low[i] === lowValue && (!wide || high[i] === highValue); i++) m[order[i]!] = score;
  }
}
