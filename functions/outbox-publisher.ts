import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { BusEnv, loadEnv } from '../shared/config.js';
import { publishOutbox, type StreamRecord } from '../shared/events/publisher.js';
import { logger } from '../shared/logger.js';

const { EVENT_BUS_NAME } = loadEnv(BusEnv);
const eventBridge = new EventBridgeClient({});

/** Table stream → EventBridge. A failed record is reported so the stream retries from it. */
export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const result = await publishOutbox(event.Records as StreamRecord[], {
    eventBridge,
    busName: EVENT_BUS_NAME,
  });
  if (result.published) logger.info('events published', { count: result.published });
  const first = result.failedSequenceNumbers[0];
  return { batchItemFailures: first ? [{ itemIdentifier: first }] : [] };
};
