import { CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

const ID = 'Alarms';

/**
 * The stack's one alarm topic (output `AlarmTopicArn`: operators subscribe to it), and the alarms
 * that publish to it. The topic is encrypted with a key of its own: CloudWatch cannot publish to a
 * topic under the AWS-managed SNS key, so the key policy lets CloudWatch use this one.
 */
export class Alarms extends Construct {
  readonly topic: sns.Topic;

  /** The stack's alarms, created with the first alarm. */
  static of(scope: Construct): Alarms {
    const stack = Stack.of(scope);
    return (stack.node.tryFindChild(ID) as Alarms | undefined) ?? new Alarms(stack, ID);
  }

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    const key = new kms.Key(this, 'Key', {
      description: 'Encrypts the siyu alarm topic',
      enableKeyRotation: true,
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', { masterKey: key, enforceSSL: true });
    new CfnOutput(Stack.of(this), 'AlarmTopicArn', { value: this.topic.topicArn });
  }

  /**
   * Alarms as soon as a message waits in `queue`: something failed every retry (a stream batch, an
   * event, a scheduled run) and waits for an operator to look and redrive it.
   */
  whenQueued(scope: Construct, queue: sqs.IQueue, what: string): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(scope, 'Alarm', {
      alarmDescription: `${what} failed every retry and waits in ${queue.node.path} for an operator`,
      metric: queue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new SnsAction(this.topic));
    return alarm;
  }
}
