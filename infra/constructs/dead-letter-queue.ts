import { Duration, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { Alarms } from './alarms.js';

/**
 * Where failed deliveries and invocations end up: SSE-SQS encrypted, TLS only, kept the SQS
 * maximum (14 days) so an operator has time to inspect and redrive them, and alarmed on the
 * stack's alarm topic as soon as a message waits. `what` names what lands here, for the alarm.
 */
export class DeadLetterQueue extends Construct {
  readonly queue: sqs.Queue;

  constructor(scope: Construct, id: string, what: string) {
    super(scope, id);
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Alarms.of(this).whenQueued(this, this.queue, what);
    const reason =
      'This queue is itself a dead-letter queue (failed events and invocations); a DLQ of a DLQ ' +
      'would only move the same messages again. Operators inspect and redrive it.';
    Validations.of(this).acknowledge(
      { id: 'AwsSolutions-SQS3', reason },
      { id: 'Serverless-SQSRedrivePolicy', reason },
    );
  }
}
