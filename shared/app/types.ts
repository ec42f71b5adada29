import type * as z from 'zod/mini';

export type Role = 'admin' | 'staff';
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What a function may touch; the CDK stack turns it into least-privilege grants. */
export interface FunctionDecl {
  /** Source of the Lambda entry point, relative to the project root. */
  entry: string;
  description: string;
  /**
   * `readWriteBatch` adds BatchWriteItem (puts and deletes, as PutItem and DeleteItem allow), for
   * a function that batch-writes items nobody else writes meanwhile (an RFM run's held contacts).
   */
  table: 'none' | 'read' | 'readWrite' | 'readWriteBatch';
  /** Reads the table's stream (exactly the functions named by the stream consumers). */
  tableStream?: boolean;
  /**
   * Partition key prefixes the function may write, and read by key (IAM `dynamodb:LeadingKeys`);
   * every item of the table when left out.
   */
  tablePartitions?: readonly string[];
  /** Calls events:PutEvents on the bus. */
  putEvents?: boolean;
  timeoutSeconds?: number;
  memoryMb?: number;
}

export interface RouteDecl<FnName extends string = string> {
  fn: FnName;
  /** `jwt`: bearer token checked by the authorizer; `public`: none; `signature`: the handler checks it. */
  auth: 'jwt' | 'public' | 'signature';
  /** Roles allowed on a `jwt` route. */
  roles: readonly Role[];
  summary: string;
  tags: readonly string[];
  params?: z.ZodMiniObject;
  query?: z.ZodMiniObject;
  body?: z.ZodMiniType;
  /**
   * The success status. Its body schema is not here: only the OpenAPI document reads it, so it
   * lives in `responses.ts` (a route whose status is not 204 must have one there), which no
   * function bundle imports.
   */
  success: { status: number; description?: string };
  /** Extra statuses documented for this route beyond the common ones. */
  errors?: readonly number[];
}

export interface ScheduleDecl<FnName extends string = string> {
  fn: FnName;
  /** EventBridge Scheduler expression; the local stack reads the same string. */
  expression: `rate(${number} ${'minute' | 'minutes' | 'hour' | 'hours'})`;
  description: string;
}

export interface EventRuleDecl<FnName extends string = string> {
  fn: FnName;
  source: readonly string[];
  detailType: readonly string[];
  description: string;
}

/** A function fed by the table stream: its own event source mapping (CDK) or poller (locally). */
export interface StreamConsumerDecl<FnName extends string = string> {
  fn: FnName;
  description: string;
  /** The records it is handed (the mapping's filter; the local poller applies the same). */
  filter: {
    /** Record kinds; all three when left out. */
    eventNames?: readonly ('INSERT' | 'MODIFY' | 'REMOVE')[];
    pkPrefix: string;
    skPrefix?: string;
  };
  batchSize: number;
}
