import { z } from 'zod';
import { JobQueued } from '../events/catalog.js';
import { Health } from '../schemas/common.js';
import {
  ContactBatch,
  ContactBatchResult,
  ContactInput,
  ContactList,
  ContactParams,
  ContactPatch,
  ContactQuery,
  ContactTagParams,
  ContactView,
  TagsInput,
} from '../schemas/contacts.js';
import { Job, JobAccepted, JobParams } from '../schemas/jobs.js';
import { Settings, SettingsInput } from '../schemas/settings.js';
import {
  AccountInput,
  AccountList,
  AccountParams,
  AccountPatch,
  AccountView,
  HandoverInput,
  StaffInput,
  StaffList,
  StaffParams,
  StaffPatch,
  StaffQuery,
  StaffView,
} from '../schemas/staff.js';
import type { EventRuleDecl, FunctionDecl, RouteDecl, ScheduleDecl } from './types.js';

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
  jobs: {
    entry: 'functions/jobs.ts',
    description: 'Job status and job requests',
    table: 'readWrite',
  },
  jobWorker: {
    entry: 'functions/job-worker.ts',
    description: 'Runs queued jobs chunk by chunk under a lease',
    table: 'readWrite',
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
  outboxPublisher: {
    entry: 'functions/outbox-publisher.ts',
    description: 'Publishes committed outbox items to EventBridge',
    table: 'none',
    tableStream: true,
    putEvents: true,
    timeoutSeconds: 60,
  },
} as const satisfies Record<string, FunctionDecl>;

export type FunctionName = keyof typeof functions;

const jwt = (roles: readonly ('admin' | 'staff')[]) => ({ auth: 'jwt' as const, roles });
const open = { auth: 'public' as const, roles: [] as const };

export const routes = {
  'GET /v1/health': {
    fn: 'system',
    ...open,
    summary: 'Liveness check',
    tags: ['system'],
    success: { status: 200, body: Health },
  },
  'GET /v1/openapi.json': {
    fn: 'system',
    ...open,
    summary: 'This OpenAPI 3.1 document',
    tags: ['system'],
    success: { status: 200, body: z.record(z.string(), z.unknown()) },
  },
  'GET /v1/events.json': {
    fn: 'system',
    ...open,
    summary: "JSON Schema of each event's data, by detail-type",
    tags: ['system'],
    success: { status: 200, body: z.record(z.string(), z.unknown()) },
  },
  'GET /v1/settings': {
    fn: 'settings',
    ...jwt(['admin', 'staff']),
    summary: "The tenant's settings (defaults until changed)",
    tags: ['settings'],
    success: { status: 200, body: Settings },
  },
  'PUT /v1/settings': {
    fn: 'settings',
    ...jwt(['admin']),
    summary: 'Change settings; fields left out keep their value',
    tags: ['settings'],
    body: SettingsInput,
    success: { status: 200, body: Settings },
    errors: [409],
  },
  'POST /v1/staff': {
    fn: 'staff',
    ...jwt(['admin']),
    summary: "Add a staff member (`id` is the person's token `sub`)",
    tags: ['staff'],
    body: StaffInput,
    success: { status: 201, body: StaffView },
    errors: [409],
  },
  'GET /v1/staff': {
    fn: 'staff',
    ...jwt(['admin', 'staff']),
    summary: 'List staff',
    tags: ['staff'],
    query: StaffQuery,
    success: { status: 200, body: StaffList },
  },
  'GET /v1/staff/{id}': {
    fn: 'staff',
    ...jwt(['admin', 'staff']),
    summary: 'A staff member',
    tags: ['staff'],
    params: StaffParams,
    success: { status: 200, body: StaffView },
    errors: [404],
  },
  'PATCH /v1/staff/{id}': {
    fn: 'staff',
    ...jwt(['admin']),
    summary: 'Rename a staff member or mark them left',
    tags: ['staff'],
    params: StaffParams,
    body: StaffPatch,
    success: { status: 200, body: StaffView },
    errors: [404],
  },
  'POST /v1/staff/{id}/handover': {
    fn: 'staff',
    ...jwt(['admin']),
    summary: "Hand a leaver's contacts and accounts to a colleague (a job); the leaver becomes `left`",
    tags: ['staff'],
    params: StaffParams,
    body: HandoverInput,
    success: { status: 202, body: JobAccepted },
    errors: [404],
  },
  'POST /v1/accounts': {
    fn: 'staff',
    ...jwt(['admin']),
    summary: 'Add a company-owned WeChat/WeCom account',
    tags: ['accounts'],
    body: AccountInput,
    success: { status: 201, body: AccountView },
    errors: [409],
  },
  'GET /v1/accounts': {
    fn: 'staff',
    ...jwt(['admin', 'staff']),
    summary: 'List company accounts',
    tags: ['accounts'],
    query: StaffQuery,
    success: { status: 200, body: AccountList },
  },
  'GET /v1/accounts/{id}': {
    fn: 'staff',
    ...jwt(['admin', 'staff']),
    summary: 'A company account',
    tags: ['accounts'],
    params: AccountParams,
    success: { status: 200, body: AccountView },
    errors: [404],
  },
  'PATCH /v1/accounts/{id}': {
    fn: 'staff',
    ...jwt(['admin']),
    summary: 'Change a company account',
    tags: ['accounts'],
    params: AccountParams,
    body: AccountPatch,
    success: { status: 200, body: AccountView },
    errors: [404],
  },
  'POST /v1/contacts': {
    fn: 'contacts',
    ...jwt(['admin', 'staff']),
    summary: 'Add a contact (staff: owned by themselves); phone, email and externalId are unique',
    tags: ['contacts'],
    body: ContactInput,
    success: { status: 201, body: ContactView },
    errors: [409],
  },
  'POST /v1/contacts/batch': {
    fn: 'contacts',
    ...jwt(['admin']),
    summary: 'Bulk import of up to 500 contacts, each created, existing or in error',
    tags: ['contacts'],
    body: ContactBatch,
    success: { status: 200, body: ContactBatchResult },
  },
  'GET /v1/contacts': {
    fn: 'contacts',
    ...jwt(['admin', 'staff']),
    summary: 'List contacts, filtered from indexes (staff: their own)',
    tags: ['contacts'],
    query: ContactQuery,
    success: { status: 200, body: ContactList },
  },
  'GET /v1/contacts/{id}': {
    fn: 'contacts',
    ...jwt(['admin', 'staff']),
    summary: 'A contact',
    tags: ['contacts'],
    params: ContactParams,
    success: { status: 200, body: ContactView },
    errors: [404],
  },
  'PATCH /v1/contacts/{id}': {
    fn: 'contacts',
    ...jwt(['admin', 'staff']),
    summary: 'Change a contact; `status: lost` records `lostAt`; null clears a field',
    tags: ['contacts'],
    params: ContactParams,
    body: ContactPatch,
    success: { status: 200, body: ContactView },
    errors: [404, 409],
  },
  'POST /v1/contacts/{id}/tags': {
    fn: 'contacts',
    ...jwt(['admin', 'staff']),
    summary: 'Add tags to a contact',
    tags: ['contacts'],
    params: ContactParams,
    body: TagsInput,
    success: { status: 200, body: ContactView },
    errors: [404],
  },
  'DELETE /v1/contacts/{id}/tags/{tag}': {
    fn: 'contacts',
    ...jwt(['admin', 'staff']),
    summary: 'Remove a tag from a contact',
    tags: ['contacts'],
    params: ContactTagParams,
    success: { status: 200, body: ContactView },
    errors: [404],
  },
  'DELETE /v1/contacts/{id}': {
    fn: 'contacts',
    ...jwt(['admin']),
    summary: "Erase a contact's personal data everywhere; its orders stay, anonymous",
    tags: ['contacts'],
    params: ContactParams,
    success: { status: 204 },
    errors: [404],
  },
  'GET /v1/jobs/{jobId}': {
    fn: 'jobs',
    ...jwt(['admin']),
    summary: "A job's status, progress and result",
    tags: ['jobs'],
    params: JobParams,
    success: { status: 200, body: Job },
    errors: [404],
  },
} as const satisfies Record<string, RouteDecl<FunctionName>>;

export type RouteKey = keyof typeof routes;

export const schedules = {
  jobSweep: {
    fn: 'jobSweeper',
    expression: 'rate(1 minute)',
    description: 'Resume jobs whose lease expired',
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

/** The function that reads the table stream (outbox → EventBridge). */
export const streamConsumer: FunctionName = 'outboxPublisher';
