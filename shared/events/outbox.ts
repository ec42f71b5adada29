import { ulid } from 'ulid';
import type * as z from 'zod/mini';

export const EVENT_SOURCE = 'siyu';
/** Events the product sends to itself (job wake-ups); not part of the public catalogue. */
export const INTERNAL_SOURCE = 'siyu.internal';
const OUTBOX_TTL_SECONDS = 7 * 24 * 3600;

export interface EventMetadata {
  eventId: string;
  eventVersion: string;
  occurredAt: string;
  tenantId: string;
}

export interface EventEnvelope<D = unknown> {
  metadata: EventMetadata;
  data: D;
}

/** An event as committed to the outbox: the publisher sends exactly these fields. */
export interface OutboxEvent {
  source: string;
  detailType: string;
  detail: EventEnvelope;
}

export interface EventDefinition<S extends z.ZodMiniType = z.ZodMiniType> {
  detailType: string;
  version: string;
  source: string;
  description: string;
  data: S;
}

export function defineEvent<S extends z.ZodMiniType>(def: {
  detailType: string;
  version: string;
  description: string;
  data: S;
  internal?: boolean;
}): EventDefinition<S> {
  return {
    detailType: def.detailType,
    version: def.version,
    description: def.description,
    data: def.data,
    source: def.internal ? INTERNAL_SOURCE : EVENT_SOURCE,
  };
}

/** Builds an event with a fresh, fixed `eventId`; the data is checked against its schema. */
export function makeEvent<S extends z.ZodMiniType>(
  definition: EventDefinition<S>,
  tenantId: string,
  data: z.input<S>,
  occurredAt: Date = new Date(),
): OutboxEvent {
  return {
    source: definition.source,
    detailType: definition.detailType,
    detail: {
      metadata: {
        eventId: ulid(),
        eventVersion: definition.version,
        occurredAt: occurredAt.toISOString(),
        tenantId,
      },
      data: definition.data.parse(data),
    },
  };
}

export const OUTBOX_PK_PREFIX = 'EV#';

/** One event as an outbox item stores it (`detail` serialised once, sent as is). */
export interface StoredEvent {
  source: string;
  detailType: string;
  detail: string;
}

/**
 * The outbox item of the events one transaction commits, in order: one item however many there
 * are (each keeps its own `eventId`; the item is keyed by the first).
 */
export function outboxItem(
  events: readonly OutboxEvent[],
): Record<string, unknown> & { pk: string; sk: string; events: StoredEvent[] } {
  const first = events[0];
  if (!first) throw new Error('An outbox item holds at least one event');
  return {
    pk: `${OUTBOX_PK_PREFIX}${first.detail.metadata.eventId}`,
    sk: 'EV',
    events: events.map((e) => ({
      source: e.source,
      detailType: e.detailType,
      detail: JSON.stringify(e.detail),
    })),
    ttl: Math.floor(Date.now() / 1000) + OUTBOX_TTL_SECONDS,
  };
}

/** The events a stored item holds; none unless it is an outbox item. */
export function storedEvents(item: Record<string, unknown>): StoredEvent[] {
  if (typeof item.pk !== 'string' || !item.pk.startsWith(OUTBOX_PK_PREFIX)) return [];
  return Array.isArray(item.events) ? (item.events as StoredEvent[]) : [];
}
