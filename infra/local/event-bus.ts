import { randomUUID } from 'node:crypto';
import { eventRules, type FunctionName } from '../../shared/app/declaration.js';
import type { EventRuleDecl } from '../../shared/app/types.js';
import { localLog, sleep } from './log.js';

/** One PutEvents entry as the EventBridge JSON protocol carries it. */
export interface PutEventsEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  Resources?: string[];
  /** Epoch seconds (the SDK's wire format) or an ISO string. */
  Time?: number | string;
}

export interface PutEventsResultEntry {
  EventId?: string;
  ErrorCode?: string;
  ErrorMessage?: string;
}

export interface Delivery {
  rule: string;
  fn: FunctionName;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  error?: string;
}

/** A published event as the local log keeps it. */
export interface PublishedEvent {
  id: string;
  time: string;
  eventBusName: string;
  source: string;
  detailType: string;
  detail: unknown;
  resources: string[];
  deliveries: Delivery[];
}

export interface EventBridgeEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
}

export interface LocalEventBusOptions {
  busName: string;
  region: string;
  invoke: (fn: FunctionName, event: EventBridgeEvent) => Promise<unknown>;
  /** Events kept for `GET /__local/events` (oldest dropped first). */
  maxLog?: number;
  /** Retries after a failed delivery (default 3) and the first backoff in ms (doubling). */
  retries?: number;
  backoffMs?: number;
}

export class PutEventsValidationError extends Error {
  override readonly name = 'ValidationException';
}

const ACCOUNT = '000000000000';
const MAX_ENTRY_BYTES = 256 * 1024;

/**
 * The EventBridge bus of the local stack: PutEvents answers at once, and each event is delivered
 * asynchronously to the target of every matching rule of the declaration, with retries.
 */
export class LocalEventBus {
  private readonly log: PublishedEvent[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly rules: [string, EventRuleDecl<FunctionName>][];
  private closed = false;

  constructor(private readonly options: LocalEventBusOptions) {
    this.rules = Object.entries(eventRules) as [string, EventRuleDecl<FunctionName>][];
  }

  /** Deliveries not finished yet. */
  get pending(): number {
    return this.inFlight.size;
  }

  /** Handles a PutEvents request body. */
  putEvents(request: { Entries?: PutEventsEntry[] }): {
    FailedEntryCount: number;
    Entries: PutEventsResultEntry[];
  } {
    const entries = request.Entries;
    if (!Array.isArray(entries) || entries.length < 1 || entries.length > 10) {
      throw new PutEventsValidationError('Entries must hold between 1 and 10 entries.');
    }
    const results = entries.map((entry) => this.putOne(entry));
    return { FailedEntryCount: results.filter((r) => r.ErrorCode).length, Entries: results };
  }

  /** Published events, oldest first, optionally of one detail-type and/or source. */
  events(filter: { detailType?: string; source?: string } = {}): PublishedEvent[] {
    return this.log.filter(
      (e) =>
        (!filter.detailType || e.detailType === filter.detailType) &&
        (!filter.source || e.source === filter.source),
    );
  }

  /** Resolves when no delivery is in flight (including ones started meanwhile). */
  async idle(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  /** Stops retrying and starting deliveries; waits up to `graceMs` for those in flight. */
  async close(graceMs = 5000): Promise<void> {
    this.closed = true;
    await Promise.race([this.idle(), sleep(graceMs)]);
  }

  private putOne(entry: PutEventsEntry): PutEventsResultEntry {
    const fail = (ErrorCode: string, ErrorMessage: string) => ({ ErrorCode, ErrorMessage });
    if (!entry.Source)
      return fail('InvalidArgument', 'Parameter Source is not valid. Reason: Source is a required argument.');
    if (!entry.DetailType)
      return fail(
        'InvalidArgument',
        'Parameter DetailType is not valid. Reason: DetailType is a required argument.',
      );
    if (!entry.Detail)
      return fail('InvalidArgument', 'Parameter Detail is not valid. Reason: Detail is a required argument.');
    if (Buffer.byteLength(JSON.stringify(entry)) > MAX_ENTRY_BYTES)
      return fail('InvalidArgument', 'Entry exceeds the 256 KB limit.');
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail);
    } catch {
      return fail('MalformedDetail', 'Detail is malformed.');
    }
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail))
      return fail('MalformedDetail', 'Detail is malformed.');
    const busName = this.busNameOf(entry.EventBusName);
    if (busName !== this.options.busName && busName !== 'default')
      return fail('ResourceNotFoundException', `Event bus ${busName} does not exist.`);

    const published: PublishedEvent = {
      id: randomUUID(),
      time: eventTime(entry.Time),
      eventBusName: busName,
      source: entry.Source,
      detailType: entry.DetailType,
      detail,
      resources: entry.Resources ?? [],
      deliveries: [],
    };
    this.log.push(published);
    const max = this.options.maxLog ?? 1000;
    if (this.log.length > max) this.log.splice(0, this.log.length - max);

    if (busName === this.options.busName && !this.closed) {
      for (const [ruleName, rule] of this.rules) {
        if (!rule.source.includes(published.source) || !rule.detailType.includes(published.detailType))
          continue;
        const delivery: Delivery = { rule: ruleName, fn: rule.fn, status: 'pending', attempts: 0 };
        published.deliveries.push(delivery);
        const running = this.deliver(published, delivery).finally(() => this.inFlight.delete(running));
        this.inFlight.add(running);
      }
    }
    return { EventId: published.id };
  }

  private busNameOf(name: string | undefined): string {
    if (!name) return 'default';
    const arn = /^arn:aws[\w-]*:events:[^:]*:\d*:event-bus\/(.+)$/.exec(name);
    return arn ? arn[1]! : name;
  }

  private async deliver(published: PublishedEvent, delivery: Delivery): Promise<void> {
    // Never inside the PutEvents call: the caller gets its answer first.
    await new Promise((r) => setImmediate(r));
    const event: EventBridgeEvent = {
      version: '0',
      id: published.id,
      'detail-type': published.detailType,
      source: published.source,
      account: ACCOUNT,
      time: published.time,
      region: this.options.region,
      resources: published.resources,
      detail: published.detail,
    };
    const retries = this.options.retries ?? 3;
    const backoffMs = this.options.backoffMs ?? 200;
    for (;;) {
      delivery.attempts++;
      try {
        await this.options.invoke(delivery.fn, structuredClone(event));
        delivery.status = 'succeeded';
        delete delivery.error;
        return;
      } catch (error) {
        delivery.error = (error as Error)?.message ?? String(error);
        if (delivery.attempts > retries || this.closed) {
          delivery.status = 'failed';
          localLog.error('event delivery failed', {
            eventId: published.id,
            detailType: published.detailType,
            rule: delivery.rule,
            fn: delivery.fn,
            attempts: delivery.attempts,
            error: delivery.error,
          });
          return;
        }
        localLog.warn('event delivery failed; retrying', {
          eventId: published.id,
          rule: delivery.rule,
          attempt: delivery.attempts,
          error: delivery.error,
        });
        await sleep(backoffMs * 2 ** (delivery.attempts - 1));
      }
    }
  }
}

function eventTime(time: number | string | undefined): string {
  if (typeof time === 'number') return new Date(time * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (typeof time === 'string' && !Number.isNaN(Date.parse(time)))
    return new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}
