/**
 * An independent RFM reference in DuckDB SQL, for checking shared/domain/rfm.ts on real data
 * and for benchmarking it. Same definitions as API.md: counted and net at asOf, the window
 * (asOf − windowDays days, asOf], worse = strictly worse values counted with rank(), and the
 * mean comparisons made exactly as value × n against the integer sum (HUGEINT).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { RfmContact, RfmMeans, RfmOptions, RfmOrder, RfmScore } from '../../shared/domain/rfm.js';

/** The CDNOW purchase log in the shared data sets beside the repository. */
export const CDNOW_PATH = fileURLToPath(
  new URL('../../../shared/datasets/cdnow/CDNOW_master.txt', import.meta.url),
);

/** One order of one contact, as rows arrive from a shop's history. */
export interface OrderRow extends RfmOrder {
  contactId: string;
}

/**
 * The CDNOW purchase log as orders: customer_id is the contact, each row one order paid at
 * 00:00 UTC on its date, total = dollar_value in cents, no refunds.
 */
export function readCdnow(path: string): OrderRow[] {
  const rows: OrderRow[] = [];
  const lines = readFileSync(path, 'utf8').split(/\r?\n/);
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 4) continue;
    const [customerId, date, , dollars] = fields as [string, string, string, string];
    const cents = /^(\d+)\.(\d\d)$/.exec(dollars);
    if (!cents) throw new Error(`bad dollar_value in CDNOW line: ${line}`);
    rows.push({
      contactId: customerId,
      paidAtMs: Date.UTC(Number(date.slice(0, 4)), Number(date.slice(4, 6)) - 1, Number(date.slice(6, 8))),
      totalMinor: Number(cents[1]) * 100 + Number(cents[2]),
    });
  }
  return rows;
}

/** The orders grouped per contact, contacts in order of first appearance. */
export function groupByContact(orders: readonly OrderRow[]): RfmContact[] {
  const contacts = new Map<string, RfmOrder[]>();
  for (const { contactId, ...order } of orders) {
    const list = contacts.get(contactId);
    if (list) list.push(order);
    else contacts.set(contactId, [order]);
  }
  return [...contacts].map(([contactId, list]) => ({ contactId, orders: list }));
}

export interface ReferenceResult {
  /** Every contact with an order; not scored ones have segment "none" and nulls. */
  scores: Map<string, RfmScore>;
  scored: number;
  means: RfmMeans;
}

/** The RFM query over tables orders(order_no, contact_no, paid_at_ms, total_minor) and refunds. */
export function rfmQuery({ asOf, windowDays }: RfmOptions): string {
  if (!Number.isSafeInteger(asOf) || !Number.isSafeInteger(windowDays)) throw new RangeError('integers only');
  const windowStart = asOf - windowDays * 86_400_000;
  return `
    WITH refunded AS (
      SELECT order_no, sum(amount_minor)::BIGINT AS amount
      FROM refunds WHERE refunded_at_ms <= ${asOf} GROUP BY order_no
    ),
    counted AS (
      SELECT o.contact_no, o.paid_at_ms, o.total_minor - least(o.total_minor, coalesce(r.amount, 0)) AS net
      FROM orders o LEFT JOIN refunded r ON r.order_no = o.order_no
      WHERE o.paid_at_ms > ${windowStart} AND o.paid_at_ms <= ${asOf}
        AND (r.amount IS NULL OR r.amount < o.total_minor)
    ),
    facts AS (
      SELECT contact_no, (${asOf} - max(paid_at_ms)) // 86400000 AS recency_days,
             count(*) AS frequency, sum(net) AS monetary
      FROM counted GROUP BY contact_no
    ),
    totals AS (
      SELECT count(*) AS n, sum(recency_days)::HUGEINT AS sum_r, sum(frequency)::HUGEINT AS sum_f,
             sum(monetary)::HUGEINT AS sum_m
      FROM facts
    ),
    ranked AS (
      SELECT f.*, t.n,
             rank() OVER (ORDER BY f.recency_days DESC) - 1 AS worse_r,
             rank() OVER (ORDER BY f.frequency) - 1 AS worse_f,
             rank() OVER (ORDER BY f.monetary) - 1 AS worse_m,
             f.recency_days * t.n < t.sum_r AS r_high,
             f.frequency * t.n > t.sum_f AS f_high,
             f.monetary::HUGEINT * t.n > t.sum_m AS m_high
      FROM facts f CROSS JOIN totals t
    )
    SELECT contact_no, recency_days, frequency, monetary::BIGINT AS monetary,
           1 + (5 * worse_r) // n AS r, 1 + (5 * worse_f) // n AS f, 1 + (5 * worse_m) // n AS m,
           CASE
             WHEN r_high AND f_high AND m_high THEN 'important_value'
             WHEN r_high AND NOT f_high AND m_high THEN 'important_develop'
             WHEN NOT r_high AND f_high AND m_high THEN 'important_retain'
             WHEN NOT r_high AND NOT f_high AND m_high THEN 'important_winback'
             WHEN r_high AND f_high AND NOT m_high THEN 'general_value'
             WHEN r_high AND NOT f_high AND NOT m_high THEN 'general_develop'
             WHEN NOT r_high AND f_high AND NOT m_high THEN 'general_retain'
             ELSE 'general_winback'
           END AS segment
    FROM ranked`;
}

const MEANS_QUERY = (options: RfmOptions) => `
  WITH scored AS (${rfmQuery(options)})
  SELECT count(*) AS n, avg(recency_days) AS r, avg(frequency) AS f, avg(monetary::DOUBLE) AS m FROM scored`;

/** An in-memory DuckDB holding the orders, for repeated RFM queries. */
export class RfmReference {
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
    readonly contactIds: readonly string[],
  ) {}

  /** Loads the orders with appenders; contacts are numbered in order of first appearance. */
  static async load(orders: readonly OrderRow[]): Promise<RfmReference> {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    await connection.run(
      'CREATE TABLE orders (order_no INTEGER, contact_no INTEGER, paid_at_ms BIGINT, total_minor BIGINT)',
    );
    await connection.run(
      'CREATE TABLE refunds (order_no INTEGER, amount_minor BIGINT, refunded_at_ms BIGINT)',
    );
    const numbers = new Map<string, number>();
    const contactIds: string[] = [];
    const orderAppender = await connection.createAppender('orders');
    const refundAppender = await connection.createAppender('refunds');
    orders.forEach((order, orderNo) => {
      let contactNo = numbers.get(order.contactId);
      if (contactNo === undefined) {
        contactNo = contactIds.length;
        numbers.set(order.contactId, contactNo);
        contactIds.push(order.contactId);
      }
      orderAppender.appendInteger(orderNo);
      orderAppender.appendInteger(contactNo);
      orderAppender.appendBigInt(BigInt(order.paidAtMs));
      orderAppender.appendBigInt(BigInt(order.totalMinor));
      orderAppender.endRow();
      for (const refund of order.refunds ?? []) {
        refundAppender.appendInteger(orderNo);
        refundAppender.appendBigInt(BigInt(refund.amountMinor));
        refundAppender.appendBigInt(BigInt(refund.refundedAtMs));
        refundAppender.endRow();
      }
    });
    orderAppender.closeSync();
    refundAppender.closeSync();
    return new RfmReference(instance, connection, contactIds);
  }

  /** Runs the RFM query and keeps its result inside DuckDB (what a benchmark should time). */
  async compute(options: RfmOptions): Promise<number> {
    const result = await this.connection.run(rfmQuery(options));
    return result.rowCount;
  }

  async score(options: RfmOptions): Promise<ReferenceResult> {
    const reader = await this.connection.runAndReadAll(rfmQuery(options));
    const scores = new Map<string, RfmScore>();
    for (const id of this.contactIds) {
      scores.set(id, {
        r: null,
        f: null,
        m: null,
        recencyDays: null,
        frequency: null,
        monetaryMinor: null,
        segment: 'none',
      });
    }
    for (const row of reader.getRowObjectsJS()) {
      scores.set(this.contactIds[Number(row.contact_no)]!, {
        r: Number(row.r),
        f: Number(row.f),
        m: Number(row.m),
        recencyDays: Number(row.recency_days),
        frequency: Number(row.frequency),
        monetaryMinor: Number(row.monetary),
        segment: row.segment as RfmScore['segment'],
      });
    }
    const [means] = (await this.connection.runAndReadAll(MEANS_QUERY(options))).getRowObjectsJS();
    const n = Number(means!.n);
    return {
      scores,
      scored: n,
      means:
        n === 0
          ? { recencyDays: null, frequency: null, monetary: null }
          : { recencyDays: Number(means!.r), frequency: Number(means!.f), monetary: Number(means!.m) },
    };
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

/** One-shot reference: the CDNOW file at `source`, or the given orders. */
export async function referenceRfm(
  source: string | readonly OrderRow[],
  options: RfmOptions,
): Promise<ReferenceResult> {
  const reference = await RfmReference.load(typeof source === 'string' ? readCdnow(source) : source);
  try {
    return await reference.score(options);
  } finally {
    reference.close();
  }
}
