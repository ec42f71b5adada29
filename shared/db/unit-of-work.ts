import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { ConflictError, ServiceUnavailableError } from '../errors.js';
import { type OutboxEvent, outboxItem } from '../events/outbox.js';

export interface Key {
  pk: string;
  sk: string;
}

export interface Condition {
  expression: string;
  names?: Record<string, string>;
  values?: Record<string, unknown>;
}

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

interface Op {
  key: Key;
  item: TransactItem;
  /** The error to raise when this item's condition fails (the default is a generic 409). */
  onConditionFailed?: () => Error;
}

interface CounterDelta {
  key: Key;
  add: Record<string, number>;
  setIfMissing: Record<string, unknown>;
}

class Group {
  readonly ops: Op[] = [];
  readonly counters = new Map<string, CounterDelta>();
  readonly events: OutboxEvent[] = [];
  /** Items it writes: its events share one outbox item. */
  get size(): number {
    return this.ops.length + this.counters.size + (this.events.length ? 1 : 0);
  }
}

/** Event bytes one outbox item holds at most (DynamoDB's item limit is 400 KB). */
const MAX_OUTBOX_BYTES = 300_000;
const eventBytes = (event: OutboxEvent) => Buffer.byteLength(JSON.stringify(event.detail));

/** DynamoDB's ceiling for one TransactWriteItems call. */
export const MAX_TRANSACTION_ITEMS = 100;
const CONFLICT_RETRIES = 9;

const keyId = (key: Key) => `${key.pk}\u0000${key.sk}`;

/** What a condition check asks of its item (undefined for a write): equal checks are one. */
function checkSignature(op: Op): string | undefined {
  const check = op.item.ConditionCheck;
  if (!check) return undefined;
  return JSON.stringify([
    check.ConditionExpression,
    check.ExpressionAttributeNames,
    check.ExpressionAttributeValues,
  ]);
}

export interface UpdateSpec {
  key: Key;
  /** A full UpdateExpression (`SET ... REMOVE ...`). */
  expression: string;
  names?: Record<string, string>;
  values?: Record<string, unknown>;
  condition?: Condition;
  onConditionFailed?: () => Error;
}

/**
 * Collects domain writes, funnel-aggregate counter moves and outbox events, and commits them
 * with conditional TransactWriteItems.
 *
 * Primary course:
 *  1. A use case adds items to the current atomic group (`put`, `update`, `delete`, `check`,
 *     `addCounters`, `emit`); `atomic()` opens the next group.
 *  2. `commit` packs whole groups into transactions of at most 100 items — a group is never
 *     split, so each group commits all-or-nothing — and merges counter moves on one item
 *     inside a transaction (DynamoDB refuses two actions on one item).
 *  3. A failed condition raises the error its item names; transaction conflicts are retried;
 *     throttling surfaces as a 503.
 */
export class UnitOfWork {
  private readonly groups: Group[] = [new Group()];
  private concurrency = 1;

  constructor(readonly tableName: string) {}

  /**
   * Declares that the groups do not depend on each other's commit order: `commit` may then run up
   * to `transactions` transactions at once. The last transaction still starts only once every
   * other one has committed (a job's checkpoint rides in it).
   */
  independentGroups(transactions: number): this {
    this.concurrency = Math.max(1, transactions);
    return this;
  }

  private get current(): Group {
    return this.groups[this.groups.length - 1]!;
  }

  /** Opens a new atomic group; the previous one is closed. */
  atomic(): this {
    if (this.current.size > 0) this.groups.push(new Group());
    return this;
  }

  get isEmpty(): boolean {
    return this.groups.every((g) => g.size === 0);
  }

  /** Number of items the commit will write (after merging counters). */
  get size(): number {
    return this.groups.reduce((n, g) => n + g.size, 0);
  }

  put(item: Key & Record<string, unknown>, condition?: Condition, onConditionFailed?: () => Error): this {
    this.addOp({
      key: { pk: item.pk, sk: item.sk },
      item: { Put: { TableName: this.tableName, Item: item, ...conditionParams(condition) } },
      ...(onConditionFailed ? { onConditionFailed } : {}),
    });
    return this;
  }

  update(spec: UpdateSpec): this {
    const names = { ...spec.names, ...spec.condition?.names };
    const values = { ...spec.values, ...spec.condition?.values };
    this.addOp({
      key: spec.key,
      item: {
        Update: {
          TableName: this.tableName,
          Key: spec.key,
          UpdateExpression: spec.expression,
          ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
          ...(Object.keys(values).length ? { ExpressionAttributeValues: values } : {}),
          ...(spec.condition ? { ConditionExpression: spec.condition.expression } : {}),
        },
      },
      ...(spec.onConditionFailed ? { onConditionFailed: spec.onConditionFailed } : {}),
    });
    return this;
  }

  delete(key: Key, condition?: Condition, onConditionFailed?: () => Error): this {
    this.addOp({
      key,
      item: { Delete: { TableName: this.tableName, Key: key, ...conditionParams(condition) } },
      ...(onConditionFailed ? { onConditionFailed } : {}),
    });
    return this;
  }

  check(key: Key, condition: Condition, onConditionFailed?: () => Error): this {
    this.addOp({
      key,
      item: {
        ConditionCheck: {
          TableName: this.tableName,
          Key: key,
          ConditionExpression: condition.expression,
          ...(condition.names ? { ExpressionAttributeNames: condition.names } : {}),
          ...(condition.values ? { ExpressionAttributeValues: condition.values } : {}),
        },
      },
      ...(onConditionFailed ? { onConditionFailed } : {}),
    });
    return this;
  }

  /**
   * Moves counters on an aggregate item (`ADD`), creating it with `setIfMissing` attributes.
   * Moves on one item within a group — or within a transaction — are summed.
   */
  addCounters(key: Key, add: Record<string, number>, setIfMissing: Record<string, unknown> = {}): this {
    const id = keyId(key);
    const existing = this.current.counters.get(id);
    if (existing) {
      for (const [name, n] of Object.entries(add)) existing.add[name] = (existing.add[name] ?? 0) + n;
      Object.assign(existing.setIfMissing, setIfMissing);
    } else {
      this.current.counters.set(id, { key, add: { ...add }, setIfMissing: { ...setIfMissing } });
    }
    return this;
  }

  emit(event: OutboxEvent): this {
    this.current.events.push(event);
    return this;
  }

  /** Events of every group, in order (for callers that report what they emitted). */
  get events(): readonly OutboxEvent[] {
    return this.groups.flatMap((g) => g.events);
  }

  private addOp(op: Op): void {
    const id = keyId(op.key);
    if (this.current.ops.some((o) => keyId(o.key) === id) || this.current.counters.has(id)) {
      throw new Error(`One atomic group writes ${op.key.pk}/${op.key.sk} twice`);
    }
    this.current.ops.push(op);
  }

  /** Packs the groups into transactions of at most 100 items, never splitting a group. */
  chunks(): TransactItem[][] {
    const chunks: { items: TransactItem[]; ops: Op[] }[] = [];
    let opIds = new Set<string>();
    /** The checks of the transaction being packed, by item: one identical check serves all groups. */
    let checks = new Map<string, string>();
    let counters = new Map<string, CounterDelta>();
    let ops: Op[] = [];
    let events: OutboxEvent[] = [];
    let bytes = 0;
    const flush = () => {
      if (ops.length + counters.size + events.length === 0) return;
      const items = [
        ...ops.map((o) => o.item),
        ...[...counters.values()].filter(hasMove).map((c) => this.counterItem(c)),
        // The transaction's events, in order, in one outbox item (the publisher sends each).
        ...(events.length
          ? [
              {
                Put: {
                  TableName: this.tableName,
                  Item: outboxItem(events),
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              },
            ]
          : []),
      ];
      if (items.length) chunks.push({ items, ops });
      opIds = new Set();
      checks = new Map();
      counters = new Map();
      ops = [];
      events = [];
      bytes = 0;
    };
    for (const group of this.groups) {
      if (group.size === 0) continue;
      if (group.size > MAX_TRANSACTION_ITEMS) {
        throw new Error(`An atomic group of ${group.size} items exceeds ${MAX_TRANSACTION_ITEMS}`);
      }
      const groupBytes = group.events.reduce((n, e) => n + eventBytes(e), 0);
      if (groupBytes > MAX_OUTBOX_BYTES) {
        // Its events must share one outbox item, and a DynamoDB item holds at most 400 KB.
        throw new Error(`An atomic group's events of ${groupBytes} bytes exceed ${MAX_OUTBOX_BYTES}`);
      }
      // A check the transaction already makes (the same owner of many imported contacts) is shared.
      const shared = (op: Op) => {
        const signature = checkSignature(op);
        return signature !== undefined && checks.get(keyId(op.key)) === signature;
      };
      let groupOps = group.ops.filter((op) => !shared(op));
      const clashes =
        groupOps.some((op) => opIds.has(keyId(op.key)) || counters.has(keyId(op.key))) ||
        [...group.counters.keys()].some((id) => opIds.has(id));
      const newCounters = [...group.counters.keys()].filter((id) => !counters.has(id)).length;
      const size = ops.length + counters.size + (events.length ? 1 : 0);
      const newOutbox = events.length === 0 && group.events.length > 0 ? 1 : 0;
      if (
        clashes ||
        size + groupOps.length + newCounters + newOutbox > MAX_TRANSACTION_ITEMS ||
        (events.length > 0 && bytes + groupBytes > MAX_OUTBOX_BYTES)
      ) {
        flush();
        groupOps = group.ops; // a new transaction shares no check yet
      }
      for (const op of groupOps) {
        ops.push(op);
        opIds.add(keyId(op.key));
        const signature = checkSignature(op);
        if (signature) checks.set(keyId(op.key), signature);
      }
      for (const [id, delta] of group.counters) {
        const existing = counters.get(id);
        if (!existing) {
          counters.set(id, {
            key: delta.key,
            add: { ...delta.add },
            setIfMissing: { ...delta.setIfMissing },
          });
        } else {
          for (const [name, n] of Object.entries(delta.add))
            existing.add[name] = (existing.add[name] ?? 0) + n;
          Object.assign(existing.setIfMissing, delta.setIfMissing);
        }
      }
      events.push(...group.events);
      bytes += groupBytes;
    }
    flush();
    this.chunkOps = chunks.map((c) => c.ops);
    return chunks.map((c) => c.items);
  }

  private chunkOps: Op[][] = [];

  private counterItem(delta: CounterDelta): TransactItem {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const adds: string[] = [];
    const sets: string[] = [];
    let i = 0;
    for (const [name, n] of Object.entries(delta.add)) {
      if (n === 0) continue;
      names[`#a${i}`] = name;
      values[`:a${i}`] = n;
      adds.push(`#a${i} :a${i}`);
      i++;
    }
    let j = 0;
    for (const [name, v] of Object.entries(delta.setIfMissing)) {
      names[`#s${j}`] = name;
      values[`:s${j}`] = v;
      sets.push(`#s${j} = if_not_exists(#s${j}, :s${j})`);
      j++;
    }
    const expression = [
      adds.length ? `ADD ${adds.join(', ')}` : '',
      sets.length ? `SET ${sets.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join(' ');
    return {
      Update: {
        TableName: this.tableName,
        Key: delta.key,
        UpdateExpression: expression,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    };
  }

  /**
   * Commits every chunk in order. `token` makes each chunk's transaction idempotent for
   * DynamoDB's 10-minute window (a blind retry of the same commit applies nothing twice).
   */
  async commit(db: DynamoDBDocumentClient, options: { token?: string } = {}): Promise<void> {
    const chunks = this.chunks();
    const commitOne = (index: number) => {
      const token = options.token ? requestToken(`${options.token}:${index}`) : undefined;
      return this.commitChunk(db, chunks[index]!, this.chunkOps[index] ?? [], token);
    };
    const last = chunks.length - 1;
    let next = 0;
    let failed = false;
    // After a failure no further transaction starts; those in flight settle before it is raised.
    const settled = await Promise.allSettled(
      Array.from({ length: Math.min(this.concurrency, Math.max(0, last)) }, async () => {
        while (next < last && !failed) {
          try {
            await commitOne(next++);
          } catch (error) {
            failed = true;
            throw error;
          }
        }
      }),
    );
    const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (rejected) throw rejected.reason;
    if (last >= 0) await commitOne(last);
  }

  private async commitChunk(
    db: DynamoDBDocumentClient,
    items: TransactItem[],
    ops: Op[],
    token: string | undefined,
  ): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await db.send(
          new TransactWriteCommand({ TransactItems: items, ...(token ? { ClientRequestToken: token } : {}) }),
        );
        return;
      } catch (error) {
        if (
          !(error instanceof TransactionCanceledException) &&
          (error as Error).name !== 'TransactionCanceledException'
        ) {
          throw error;
        }
        const reasons = (error as TransactionCanceledException).CancellationReasons ?? [];
        const failed = reasons.findIndex((r) => r.Code === 'ConditionalCheckFailed');
        if (failed >= 0) {
          const op = ops[failed];
          throw op?.onConditionFailed
            ? op.onConditionFailed()
            : new ConflictError('The data changed concurrently; retry.');
        }
        const transient = reasons.some((r) =>
          ['TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded'].includes(r.Code ?? ''),
        );
        if (!transient) throw error;
        if (attempt >= CONFLICT_RETRIES) throw new ServiceUnavailableError();
        await sleep(Math.min(1_000, 20 * 2 ** attempt) + Math.random() * 20);
      }
    }
  }
}

function hasMove(delta: CounterDelta): boolean {
  return Object.values(delta.add).some((n) => n !== 0);
}

function conditionParams(condition?: Condition) {
  if (!condition) return {};
  return {
    ConditionExpression: condition.expression,
    ...(condition.names ? { ExpressionAttributeNames: condition.names } : {}),
    ...(condition.values ? { ExpressionAttributeValues: condition.values } : {}),
  };
}

function requestToken(seed: string): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, 36);
}
