import { funnelStreamKeys } from '../db/keys.js';
import { JobQueued } from '../events/catalog.js';
import { OUTBOX_PK_PREFIX } from '../events/outbox.js';
import { contactsRoutes } from './routes/contacts.js';
import { jobsRoutes } from './routes/jobs.js';
import { metricsRoutes } from './routes/metrics.js';
import { ordersRoutes } from './routes/orders.js';
import { postingRoutes } from './routes/posting.js';
import { settingsRoutes } from './routes/settings.js';
import { shopsRoutes } from './routes/shops.js';
import { staffRoutes } from './routes/staff.js';
import { systemRoutes } from './routes/system.js';
import { webhookRoutes } from './routes/webhook.js';
import type { EventRuleDecl, FunctionDecl, RouteDecl, ScheduleDecl, StreamConsumerDecl } from './types.js';

/**
 * The one declaration of the app: functions, routes (with roles), schedules and event rules.
 * `infra/` builds the CDK stack from it and `infra/local/` builds the local stack from it, so the
 * two cannot drift. Entry modules under `functions/` implement the routes of their function.
 */
export const functions = {
  system: {
    entry: 'functions/system.ts',
    description: 'Health, OpenAPI document and event schemas',
    table: 'none',
  },
  settings: {
    entry: 'functions/settings.ts',
    description: 'Tenant settings',
    table: 'readWrite',
  },
  staff: {
    entry: 'functions/staff.ts',
    description: 'Staff, company accounts and handover',
    table: 'readWrite',
  },
  contacts: {
    entry: 'functions/contacts.ts',
    description: 'Contacts, tags, bulk import and erasure',
    table: 'readWrite',
    timeoutSeconds: 29,
  },
  shops: {
    entry: 'functions/shops.ts',
    description: 'Shops, secrets and the delivery log',
    table: 'readWrite',
  },
  webhook: {
    entry: 'functions/webhook.ts',
    description: 'Signed shop webhooks: orders and refunds, exactly once',
    table: 'readWrite',
    timeoutSeconds: 10,
  },
  orders: {
    entry: 'functions/orders.ts',
    description: 'Orders, history import',
    table: 'readWrite',
    timeoutSeconds: 29,
  },
  metrics: {
    entry: 'functions/metrics.ts',
    description: 'Funnel metrics from the aggregates',
    table: 'read',
  },
  jobs: {
    entry: 'functions/jobs.ts',
    description: 'Job status and job requests',
    table: 'readWrite',
  },
  rfmDispatch: {
    entry: 'functions/rfm-dispatch.ts',
    description: "Starts each tenant's nightly segmentation run after 02:00 local",
    table: 'readWrite',
    timeoutSeconds: 300,
  },
  jobWorker: {
    entry: 'functions/job-worker.ts',
    description: 'Runs queued jobs chunk by chunk under a lease',
    // An RFM run batch-writes the list entries of the contacts it holds (`releaseHolds`).
    table: 'readWriteBatch',
    putEvents: true,
    timeoutSeconds: 900,
    memoryMb: 1024,
  },
  jobSweeper: {
    entry: 'functions/job-sweeper.ts',
    description: 'Wakes jobs whose lease expired (crash or timeout) so they resume',
    table: 'read',
    putEvents: true,
    timeoutSeconds: 60,
  },
  posting: {
    entry: 'functions/posting.ts',
    description: 'Posting plans, posts, reminders and posting insights',
    table: 'readWrite',
  },
  postingTick: {
    entry: 'functions/posting-tick.ts',
    description: 'Reminds every account slot that is open (every 5 minutes)',
    table: 'readWrite',
    timeoutSeconds: 240,
    memoryMb: 512,
  },
  outboxPublisher: {
    entry: 'functions/outbox-publisher.ts',
    description: 'Publishes committed outbox items to EventBridge',
    table: 'none',
    tableStream: true,
    putEvents: true,
    timeoutSeconds: 60,
  },
  funnelRollups: {
    entry: 'functions/funnel-rollups.ts',
    description: 'Moves the funnel roll-ups by the month cells of the table stream, exactly once',
    table: 'readWrite',
    tablePartitions: [funnelStreamKeys.rollupPartitionPrefix, funnelStreamKeys.appliedPrefix],
    tableStream: true,
    timeoutSeconds: 60,
  },
} as const satisfies Record<string, FunctionDecl>;

export type FunctionName = keyof typeof functions;

/**
 * Each HTTP function's routes, declared beside it in `routes/<function>.ts` so a function entry
 * imports the schemas of its own routes only.
 */
export const routeTables = {
  system: systemRoutes,
  settings: settingsRoutes,
  staff: staffRoutes,
  contacts: contactsRoutes,
  orders: ordersRoutes,
  shops: shopsRoutes,
  webhook: webhookRoutes,
  metrics: metricsRoutes,
  jobs: jobsRoutes,
  posting: postingRoutes,
} as const satisfies Partial<Record<FunctionName, Readonly<Record<string, RouteDecl<FunctionName>>>>>;

/**
 * Every route of the app: the union of the route tables, which the CDK stack, the local server
 * and the OpenAPI document read.
 */
export const routes = {
  ...routeTables.system,
  ...routeTables.settings,
  ...routeTables.staff,
  ...routeTables.contacts,
  ...routeTables.orders,
  ...routeTables.shops,
  ...routeTables.webhook,
  ...routeTables.metrics,
  ...routeTables.jobs,
  ...routeTables.posting,
} as const satisfies Record<string, RouteDecl<FunctionName>>;

export type RouteKey = keyof typeof routes;

export const schedules = {
  rfmDispatch: {
    fn: 'rfmDispatch',
    expression: 'rate(15 minutes)',
    description: "Start each tenant's nightly RFM run once its local time has passed 02:00",
  },
  jobSweep: {
    fn: 'jobSweeper',
    expression: 'rate(1 minute)',
    description: 'Resume jobs whose lease expired',
  },
  postingTick: {
    fn: 'postingTick',
    expression: 'rate(5 minutes)',
    description: 'Remind every account slot open now, once per account, slot and local date',
  },
} as const satisfies Record<string, ScheduleDecl<FunctionName>>;

export const eventRules = {
  jobQueued: {
    fn: 'jobWorker',
    source: [JobQueued.source],
    detailType: [JobQueued.detailType],
    description: 'Run a queued or resumable job',
  },
} as const satisfies Record<string, EventRuleDecl<FunctionName>>;

/** The functions the table stream feeds, each through its own filter and checkpoint. */
export const streamConsumers = {
  outbox: {
    fn: 'outboxPublisher',
    description: 'Committed outbox items → EventBridge',
    filter: { eventNames: ['INSERT'], pkPrefix: OUTBOX_PK_PREFIX },
    batchSize: 100,
  },
  funnelRollups: {
    fn: 'funnelRollups',
    description: 'Month funnel cells → the roll-ups of their month',
    filter: { pkPrefix: funnelStreamKeys.cellPartitionPrefix, skPrefix: funnelStreamKeys.monthCellPrefix },
    // Large batches merge more: the moves of a batch on one roll-up are one write.
    batchSize: 1000,
  },
} as const satisfies Record<string, StreamConsumerDecl<FunctionName>>;
