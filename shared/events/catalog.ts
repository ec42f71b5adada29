import * as z from 'zod/mini';
import { NONE, SEGMENTS, STAGES } from '../domain/contact.js';
import '../zod.js';
import { defineEvent, type EventDefinition } from './outbox.js';

/**
 * The public event catalogue (EventBridge, source `siyu`). Each `data` carries ids and facts,
 * never personal data. `GET /v1/events.json` publishes these schemas.
 */
const Id = z.string().check(z.minLength(1));
const Instant = z.string().check(z.describe('RFC 3339, UTC'));
const Stage = z.enum(STAGES);
const Segment = z.enum([...SEGMENTS, NONE]);

export const ContactCreated = defineEvent({
  detailType: 'ContactCreated',
  version: '1',
  description: 'A contact joined the private domain.',
  data: z.object({
    contactId: Id,
    channel: z.string(),
    accountId: z.nullable(Id),
    ownerStaffId: z.nullable(Id),
    addedAt: Instant,
  }),
});

export const ContactLost = defineEvent({
  detailType: 'ContactLost',
  version: '1',
  description: 'The customer deleted or blocked the company account.',
  data: z.object({ contactId: Id, lostAt: Instant }),
});

export const ContactErased = defineEvent({
  detailType: 'ContactErased',
  version: '1',
  description: "The contact's personal data was erased.",
  data: z.object({ contactId: Id, erasedAt: Instant }),
});

export const OrderRecorded = defineEvent({
  detailType: 'OrderRecorded',
  version: '1',
  description: 'A paid order was recorded (once per order).',
  data: z.object({
    orderId: Id,
    contactId: Id,
    shopId: z.nullable(Id),
    total: z.string(),
    currency: z.string(),
    paidAt: Instant,
  }),
});

export const OrderRefunded = defineEvent({
  detailType: 'OrderRefunded',
  version: '1',
  description: 'A refund was applied to a recorded order (once per refund).',
  data: z.object({
    orderId: Id,
    contactId: Id,
    refundId: Id,
    amount: z.string(),
    refundedAt: Instant,
    net: z.string(),
  }),
});

export const StageChanged = defineEvent({
  detailType: 'StageChanged',
  version: '1',
  description: "A contact's lifecycle stage changed.",
  data: z.object({ contactId: Id, from: z.nullable(Stage), to: Stage, asOf: Instant }),
});

export const SegmentChanged = defineEvent({
  detailType: 'SegmentChanged',
  version: '1',
  description: "A contact's RFM segment changed in a nightly or requested run.",
  data: z.object({ contactId: Id, from: z.nullable(Segment), to: Segment, asOf: Instant }),
});

export const PostingSlotDue = defineEvent({
  detailType: 'PostingSlotDue',
  version: '1',
  description: 'A company account should post in the slot that just opened.',
  data: z.object({
    reminderId: Id,
    accountId: Id,
    date: z.string(),
    slot: z.object({ start: z.string(), end: z.string() }),
    dueAt: Instant,
    suggestedCategory: z.enum(['engagement', 'life', 'product']),
  }),
});

/** Internal: wakes the job worker for a queued or resumable job. */
export const JobQueued = defineEvent({
  detailType: 'JobQueued',
  version: '1',
  description: 'A job is ready to run (internal).',
  internal: true,
  data: z.object({ jobId: Id }),
});

export const publicEvents: readonly EventDefinition[] = [
  ContactCreated,
  ContactLost,
  ContactErased,
  OrderRecorded,
  OrderRefunded,
  StageChanged,
  SegmentChanged,
  PostingSlotDue,
];
