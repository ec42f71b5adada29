/** How many gsi1 partitions hold a tenant's orders by paid time (`keys.paidShard`). */
export const PAID_SHARDS = 8;

/**
 * Every key of the single table, in one place (ARCHITECTURE.md has the catalogue).
 * Tenant ids and client ids never contain `#` (validated at the edge), so keys cannot collide.
 */
export const keys = {
  settings: (tenantId: string) => ({ pk: `T#${tenantId}`, sk: 'SETTINGS' }),
  staff: (tenantId: string, staffId: string) => ({ pk: `T#${tenantId}`, sk: `STAFF#${staffId}` }),
  account: (tenantId: string, accountId: string) => ({ pk: `T#${tenantId}`, sk: `ACCOUNT#${accountId}` }),
  /** Shops are found by id alone (the webhook path carries no tenant); gsi1 lists a tenant's. */
  shop: (shopId: string) => ({ pk: `SHOP#${shopId}`, sk: 'SHOP' }),
  shopsOf: (tenantId: string) => `SHOPS#${tenantId}`,
  deliveryLog: (tenantId: string, shopId: string) => `DLV#${tenantId}#${shopId}`,
  deliverySeen: (tenantId: string, shopId: string, deliveryId: string) => ({
    pk: `DID#${tenantId}#${shopId}#${deliveryId}`,
    sk: 'DID',
  }),
  order: (tenantId: string, orderId: string) => ({ pk: `O#${tenantId}#${orderId}`, sk: 'ORDER' }),
  refund: (tenantId: string, orderId: string, refundId: string) => ({
    pk: `O#${tenantId}#${orderId}`,
    sk: `R#${refundId}`,
  }),
  contactOrder: (tenantId: string, contactId: string, orderId: string) => ({
    pk: `C#${tenantId}#${contactId}`,
    sk: `O#${orderId}`,
  }),
  /** gsi1 partitions of contacts' orders by paid time (the RFM window), sharded. */
  paidShard: (tenantId: string, shard: number) => `PAID#${tenantId}#${shard}`,
  /** The latest RFM run's counts and means (`GET /v1/segments`). */
  segments: (tenantId: string) => ({ pk: `T#${tenantId}`, sk: 'SEGMENTS' }),
  /** One per tenant and local date: the nightly dispatcher starts at most one run a day. */
  rfmRunMarker: (tenantId: string, localDate: string) => ({ pk: `T#${tenantId}`, sk: `RFMRUN#${localDate}` }),
  job: (tenantId: string, jobId: string) => ({ pk: `T#${tenantId}`, sk: `JOB#${jobId}` }),
  /** One part of an RFM run's order of work (the contact ids it looks at, in the order it does). */
  rfmPlanPart: (tenantId: string, jobId: string, part: number) => ({
    pk: `RFMPLAN#${tenantId}#${jobId}`,
    sk: String(part).padStart(6, '0'),
  }),
  /** Queue of a tenant's unfinished jobs of one kind, in creation order (gsi1). */
  jobQueue: (tenantId: string, queue: string) => `JOBQ#${tenantId}#${queue}`,
  /** Pointer to every unfinished job, for the sweeper. */
  activeJob: (tenantId: string, jobId: string) => ({ pk: 'JOBS#ACTIVE', sk: `${tenantId}#${jobId}` }),
  idempotency: (scope: string) => ({ pk: `IDEM#${scope}`, sk: 'IDEM' }),
  /** gsi1 partition of the stored responses about one contact (erasure cuts them to ids). */
  idempotencyAbout: (tenantId: string, contactId: string) => `IDEMC#${tenantId}#${contactId}`,
  tenantRegistry: (tenantId: string) => ({ pk: 'TENANTS', sk: tenantId }),
  /** An account's posting plan (its open-slot entries are derived from it). */
  postingPlan: (tenantId: string, accountId: string) => ({ pk: `T#${tenantId}`, sk: `PLAN#${accountId}` }),
  /** Open-slot entry: an account slot covering a 5-minute bucket of local time in a zone. */
  slotEntry: (zone: string, bucket: string, tenantId: string, accountId: string, slotStart: string) => ({
    pk: `SLOT#${zone}#${bucket}`,
    sk: `${tenantId}#${accountId}#${slotStart}`,
  }),
  slotBucket: (zone: string, bucket: string) => `SLOT#${zone}#${bucket}`,
  /** Zones some posting plan uses: the reminder tick's list of zones. */
  zoneInUse: (zone: string) => ({ pk: 'ZONES', sk: zone }),
  reminder: (tenantId: string, accountId: string, date: string, slotStart: string) => ({
    pk: `REM#${tenantId}#${accountId}`,
    sk: `${date}#${slotStart}`,
  }),
  /** gsi1 partition of a tenant's reminders by due time. */
  remindersByDue: (tenantId: string) => `REM#${tenantId}`,
  post: (tenantId: string, postId: string) => ({ pk: `P#${tenantId}#${postId}`, sk: 'POST' }),
  /** gsi1 partition of an account's posts by time (`publishedAt ?? plannedAt`). */
  postsOfAccount: (tenantId: string, accountId: string) => `POSTS#${tenantId}#${accountId}`,
} as const;

/**
 * The funnel's key prefixes the table stream is filtered on (the declaration's stream consumers,
 * the CDK event source mapping and the local poller): month cells feed the roll-ups, which live
 * under `FR#`; each applied stream record leaves a marker under `FRAPPLIED#`.
 */
export const funnelStreamKeys = {
  cellPartitionPrefix: 'FA#',
  monthCellPrefix: 'M#',
  rollupPartitionPrefix: 'FR#',
  appliedPrefix: 'FRAPPLIED#',
} as const;
