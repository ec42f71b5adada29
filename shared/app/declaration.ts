import { z } from 'zod';
import { JobQueued } from '../events/catalog.js';
import { Health } from '../schemas/common.js';
import { Job, JobParams } from '../schemas/jobs.js';
import { Settings, SettingsInput } from '../schemas/settings.js';
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
