import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import { tableDefinition } from '../../shared/db/table-definition.js';
import type { TableRef } from './siyu-function.js';

export const EVENT_BUS_NAME = 'siyu';

const STREAM_VIEWS = {
  NEW_IMAGE: dynamodb.StreamViewType.NEW_IMAGE,
  NEW_AND_OLD_IMAGES: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
  OLD_IMAGE: dynamodb.StreamViewType.OLD_IMAGE,
  KEYS_ONLY: dynamodb.StreamViewType.KEYS_ONLY,
} as const;

const stringKey = (name: string): dynamodb.Attribute => ({ name, type: dynamodb.AttributeType.STRING });

/**
 * The stateful core: the single table (built from `tableDefinition`, like the local stack) and
 * the event bus. Both outlive any deployment of the functions: the table is retained, protected
 * against deletion and continuously backed up.
 */
export class Storage extends Construct implements TableRef {
  readonly table: dynamodb.Table;
  readonly indexNames: readonly string[];
  readonly bus: events.EventBus;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: stringKey(tableDefinition.partitionKey),
      sortKey: stringKey(tableDefinition.sortKey),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      stream: STREAM_VIEWS[tableDefinition.streamView],
      timeToLiveAttribute: tableDefinition.timeToLiveAttribute,
      // AWS owned key: encrypted at rest at no cost and with no key grants to keep in sync.
      encryption: dynamodb.TableEncryption.DEFAULT,
    });
    for (const index of tableDefinition.globalSecondaryIndexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: stringKey(index.partitionKey),
        sortKey: stringKey(index.sortKey),
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
    this.indexNames = tableDefinition.globalSecondaryIndexes.map((index) => index.indexName);
    this.bus = new events.EventBus(this, 'Bus', { eventBusName: EVENT_BUS_NAME });
  }
}
