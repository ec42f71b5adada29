/**
 * The RFM scoring core against DuckDB on the same in-memory orders: CDNOW (asOf 1998-07-01,
 * 365-day window) and CDNOW replicated 10× under shifted customer ids. Loading (DuckDB
 * appenders, the core's columns) happens before timing; each side is timed on the scoring
 * alone, results kept in memory, median of several runs, the two alternating.
 */
import { pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { packFacts, type RfmOptions, rfmOf, scoreRfmColumns } from '../shared/domain/rfm.js';
import {
  CDNOW_PATH,
  groupByContact,
  type OrderRow,
  RfmReference,
  readCdnow,
} from '../test/support/rfm-reference.js';

const OPTIONS: RfmOptions = { asOf: Date.parse('1998-07-01T00:00:00Z'), windowDays: 365 };
const WARMUP = 3;
const RUNS = 9;

function replicate(orders: readonly OrderRow[], times: number): OrderRow[] {
  const copies: OrderRow[] = [];
  for (let k = 0; k < times; k++) {
    for (const order of orders) copies.push({ ...order, contactId: `${k}-${order.contactId}` });
  }
  return copies;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const round = (ms: number) => Math.round(ms * 100) / 100;

async function compare(orders: readonly OrderRow[]): Promise<Record<string, unknown>> {
  const facts = packFacts(groupByContact(orders));
  let started = performance.now();
  const reference = await RfmReference.load(orders);
  const duckdbLoadMs = performance.now() - started;
  try {
    const core: number[] = [];
    const duckdb: number[] = [];
    let scored = 0;
    for (let run = 0; run < WARMUP + RUNS; run++) {
      started = performance.now();
      scored = scoreRfmColumns(facts, OPTIONS).scored;
      const coreMs = performance.now() - started;
      started = performance.now();
      await reference.compute(OPTIONS);
      const duckdbMs = performance.now() - started;
      if (run >= WARMUP) {
        core.push(coreMs);
        duckdb.push(duckdbMs);
      }
    }
    // Outside the timings: both sides give every contact the same result (both number
    // contacts in order of first appearance).
    const table = scoreRfmColumns(facts, OPTIONS);
    const expected = await reference.score(OPTIONS);
    const matchesReference = reference.contactIds.every((id, i) =>
      isDeepStrictEqual(rfmOf(table, i), expected.scores.get(id)),
    );
    const threads = await reference.connection.runAndReadAll("SELECT current_setting('threads') AS threads");
    const coreMs = median(core);
    const duckdbMs = median(duckdb);
    return {
      contacts: facts.contacts,
      orders: facts.paidAtMs.length,
      scored,
      coreMs: round(coreMs),
      duckdbMs: round(duckdbMs),
      coreOverDuckdb: round(coreMs / duckdbMs),
      duckdbLoadMs: round(duckdbLoadMs),
      duckdbThreads: Number(threads.getRowObjectsJS()[0]?.threads),
      matchesReference,
    };
  } finally {
    reference.close();
  }
}

export async function benchRfmCore(): Promise<Record<string, unknown>> {
  const orders = readCdnow(CDNOW_PATH);
  return {
    runs: RUNS,
    cdnow: await compare(orders),
    cdnowTimes10: await compare(replicate(orders, 10)),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await benchRfmCore();
  console.log(JSON.stringify(result, null, 2));
}
