import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BUNDLE } from '../bundling.js';
import { DeadLetterQueue } from './dead-letter-queue.js';

/** The newest Node.js runtime this aws-cdk-lib knows; esbuild targets the same version. */
export const NODE_RUNTIME = Runtime.NODEJS_24_X;
const ESBUILD_TARGET = 'node24';
export const LOG_RETENTION = logs.RetentionDays.ONE_MONTH;

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The table and its global secondary indexes, which are granted by name rather than as `index/*`. */
export interface TableRef {
  readonly table: dynamodb.ITable;
  readonly indexNames: readonly string[];
}

export type TableAccess = 'read' | 'readWrite' | 'readWriteBatch';

/**
 * Item-level actions only. `grantReadData` would add `GetRecords`/`GetShardIterator` (stream
 * actions) and `Scan`, which no function needs: every list is answered from a key or an index.
 * `ConditionCheckItem` is what a transaction's condition check needs.
 */
export const TABLE_READ_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:ConditionCheckItem',
] as const;
export const TABLE_WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
] as const;

export interface SiyuFunctionProps {
  /** Entry module, relative to the project root (`functions/settings.ts`). */
  readonly entry: string;
  readonly description: string;
  /** @default 512 */
  readonly memoryMb?: number;
  /** @default 10 */
  readonly timeoutSeconds?: number;
  /**
   * Invoked asynchronously (EventBridge rule, Scheduler): Lambda retries a failed invocation
   * twice, then sends it to the function's dead-letter queue, which is also the queue the
   * rule or schedule targets use.
   */
  readonly asyncInvoked?: boolean;
}

/**
 * The one way this project builds a Lambda function: newest Node.js runtime on ARM, ESM bundle
 * with source maps, active X-Ray tracing, a log group with a retention and no managed policy,
 * and bind helpers that set an environment variable and its least-privilege grant together.
 */
export class SiyuFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly deadLetterQueue?: sqs.IQueue;

  constructor(scope: Construct, id: string, props: SiyuFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: LOG_RETENTION });
    // An explicit role instead of AWSLambdaBasicExecutionRole: write access to this log group only.
    this.role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    this.logGroup.grantWrite(this.role);
    this.deadLetterQueue = props.asyncInvoked
      ? new DeadLetterQueue(this, 'DeadLetters', `An invocation of ${id}`).queue
      : undefined;

    this.fn = new NodejsFunction(this, 'Handler', {
      entry: join(PROJECT_ROOT, props.entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      description: props.description,
      runtime: NODE_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memoryMb ?? 512,
      timeout: Duration.seconds(props.timeoutSeconds ?? 10),
      role: this.role,
      logGroup: this.logGroup,
      tracing: Tracing.ACTIVE,
      deadLetterQueue: this.deadLetterQueue,
      environment: {
        POWERTOOLS_SERVICE_NAME: 'siyu',
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        format: OutputFormat.ESM,
        target: ESBUILD_TARGET,
        mainFields: [...BUNDLE.mainFields],
        banner: BUNDLE.banner,
        minify: BUNDLE.minify,
        sourceMap: true,
        sourcesContent: false,
        // The SDK v3 clients are bundled too: the version we test is the version that runs, and
        // one tree-shaken, minified file loads faster on a cold start than the runtime's copy of
        // the full SDK resolved file by file from node_modules.
        bundleAwsSDK: true,
      },
    });

    if (!props.asyncInvoked) {
      Validations.of(this).acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason:
          'Invoked synchronously (HTTP API, Cognito trigger) or by the table stream: failures return ' +
          "to the caller or go to the event source mapping's on-failure queue; a function DLQ only " +
          'receives asynchronous invocations, which this function never gets.',
      });
    }
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Active tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which support no ' +
        'resource-level permissions. Every table, bus, queue and log statement names its resource.',
    });
  }

  /**
   * Sets `TABLE_NAME` and grants the item actions of `access` on the table and its indexes; with
   * `partitions`, only on items whose partition key starts with one of them (and no index).
   */
  bindTable(ref: TableRef, access: TableAccess, partitions?: readonly string[]): this {
    const { table } = ref;
    this.fn.addEnvironment('TABLE_NAME', table.tableName);
    const conditions = partitions
      ? { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': partitions.map((p) => `${p}*`) } }
      : undefined;
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [...TABLE_READ_ACTIONS],
        resources: partitions
          ? [table.tableArn]
          : [table.tableArn, ...ref.indexNames.map((index) => `${table.tableArn}/index/${index}`)],
        ...(conditions ? { conditions } : {}),
      }),
    );
    if (access !== 'read') {
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: [
            ...TABLE_WRITE_ACTIONS,
            ...(access === 'readWriteBatch' ? ['dynamodb:BatchWriteItem'] : []),
          ],
          resources: [table.tableArn],
          ...(conditions ? { conditions } : {}),
        }),
      );
    }
    return this;
  }

  /** Sets `EVENT_BUS_NAME` and grants `events:PutEvents` on that bus only. */
  bindBus(bus: events.IEventBus): this {
    this.fn.addEnvironment('EVENT_BUS_NAME', bus.eventBusName);
    bus.grantPutEventsTo(this.role);
    return this;
  }
}
