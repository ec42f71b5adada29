import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventsTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import type { StreamConsumerDecl } from '../../shared/app/types.js';
import { type AppDeclaration, checkDeclaration, pascalCase } from '../declaration.js';
import { DeadLetterQueue } from './dead-letter-queue.js';
import { SiyuFunction, type TableRef } from './siyu-function.js';

export interface ServicesProps {
  readonly declaration: AppDeclaration;
  readonly table: TableRef;
  readonly bus: events.IEventBus;
}

/** Retries before an event or a schedule run lands in the target function's dead-letter queue. */
const RULE_RETRIES = { retryAttempts: 8, maxEventAge: Duration.hours(2) };
const SCHEDULE_RETRIES = { retryAttempts: 3, maxEventAge: Duration.hours(1) };

/**
 * Every function of the declaration, with the grants its entry declares (`table`, `putEvents`,
 * `tableStream`) and nothing else, and what invokes the non-HTTP ones: schedules, event rules
 * on the bus and the table stream.
 */
export class Services extends Construct {
  readonly functions: Readonly<Record<string, SiyuFunction>>;

  constructor(scope: Construct, id: string, props: ServicesProps) {
    super(scope, id);
    const { declaration } = props;
    checkDeclaration(declaration);

    const asyncInvoked = new Set([
      ...Object.values(declaration.schedules).map((s) => s.fn),
      ...Object.values(declaration.eventRules).map((r) => r.fn),
    ]);
    const functions: Record<string, SiyuFunction> = {};
    for (const [name, decl] of Object.entries(declaration.functions)) {
      const fn = new SiyuFunction(this, pascalCase(name), {
        entry: decl.entry,
        description: decl.description,
        memoryMb: decl.memoryMb,
        timeoutSeconds: decl.timeoutSeconds,
        asyncInvoked: asyncInvoked.has(name),
      });
      if (decl.table !== 'none') fn.bindTable(props.table, decl.table, decl.tablePartitions);
      if (decl.putEvents) fn.bindBus(props.bus);
      functions[name] = fn;
    }
    this.functions = functions;
    const target = (name: string) => functions[name] as SiyuFunction;

    const schedules = new Construct(this, 'Schedules');
    for (const [name, decl] of Object.entries(declaration.schedules)) {
      this.schedule(schedules, name, decl.expression, decl.description, target(decl.fn));
    }

    const rules = new Construct(this, 'EventRules');
    for (const [name, decl] of Object.entries(declaration.eventRules)) {
      const fn = target(decl.fn);
      new events.Rule(rules, pascalCase(name), {
        eventBus: props.bus,
        description: decl.description,
        eventPattern: { source: [...decl.source], detailType: [...decl.detailType] },
        targets: [
          new eventsTargets.LambdaFunction(fn.fn, { deadLetterQueue: fn.deadLetterQueue, ...RULE_RETRIES }),
        ],
      });
    }

    for (const consumer of Object.values(declaration.streamConsumers)) {
      this.consumeStream(target(consumer.fn), props.table, consumer);
    }
  }

  /** An EventBridge Scheduler schedule invoking `fn` with the run's time and the schedule's name. */
  private schedule(
    scope: Construct,
    name: string,
    expression: string,
    description: string,
    fn: SiyuFunction,
  ) {
    const group = new Construct(scope, pascalCase(name));
    // Our own role, so the grant stays inside this construct (the default one is shared per stack).
    const role = new iam.Role(group, 'Role', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    });
    new scheduler.Schedule(group, 'Schedule', {
      schedule: scheduler.ScheduleExpression.expression(expression),
      description,
      target: new schedulerTargets.LambdaInvoke(fn.fn, {
        role,
        input: scheduler.ScheduleTargetInput.fromObject({
          scheduledTime: scheduler.ContextAttribute.scheduledTime,
          schedule: name,
        }),
        deadLetterQueue: fn.deadLetterQueue,
        ...SCHEDULE_RETRIES,
      }),
    });
    const functionLogicalId = Stack.of(fn).getLogicalId(fn.fn.node.defaultChild as lambda.CfnFunction);
    Validations.of(group).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${functionLogicalId}.Arn>:*]`,
      reason:
        "grantInvoke's `<function arn>:*` covers the versions and aliases of this one function; the " +
        'schedule may invoke nothing else.',
    });
  }

  /** Table stream → `consumer`: only the records its filter names invoke it, in order, per shard. */
  private consumeStream(consumer: SiyuFunction, ref: TableRef, decl: StreamConsumerDecl) {
    const failures = new DeadLetterQueue(
      consumer,
      'StreamFailures',
      `A stream batch for ${decl.fn} (${decl.description})`,
    );
    const { eventNames, pkPrefix, skPrefix } = decl.filter;
    consumer.fn.addEventSource(
      new DynamoEventSource(ref.table, {
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: decl.batchSize,
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        retryAttempts: 10,
        onFailure: new SqsDlq(failures.queue),
        filters: [
          lambda.FilterCriteria.filter({
            ...(eventNames ? { eventName: [...eventNames] } : {}),
            dynamodb: {
              Keys: {
                pk: { S: lambda.FilterRule.beginsWith(pkPrefix) },
                ...(skPrefix ? { sk: { S: lambda.FilterRule.beginsWith(skPrefix) } } : {}),
              },
            },
          }),
        ],
      }),
    );
    Validations.of(consumer).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'dynamodb:ListStreams (added by the stream event source) supports no resource-level ' +
        'permissions; the stream reads themselves are granted on this stream ARN only.',
    });
  }
}
