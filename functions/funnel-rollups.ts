import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { createDeps } from '../shared/app/deps.js';
import { logger } from '../shared/logger.js';
import { applyFunnelRecords, type CellStreamRecord } from '../shared/usecases/funnel-rollups.js';

const deps = createDeps();

/** Table stream (month funnel cells) → funnel roll-ups, exactly once. Failed records are reported. */
export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const result = await applyFunnelRecords(deps, event.Records as CellStreamRecord[]);
  if (result.applied || result.skipped)
    logger.info('funnel roll-ups moved', { applied: result.applied, skipped: result.skipped });
  if (result.failedSequenceNumbers.length)
    logger.warn('funnel roll-ups not moved; the stream retries', {
      records: result.failedSequenceNumbers.length,
    });
  return { batchItemFailures: result.failedSequenceNumbers.map((itemIdentifier) => ({ itemIdentifier })) };
};
