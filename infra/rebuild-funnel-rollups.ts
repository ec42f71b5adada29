import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDocumentClient } from '../shared/db/client.js';
import { rebuildFunnelRollups } from '../shared/usecases/funnel-rollups-rebuild.js';
import { LOCAL_AWS } from './local/dynamodb-local.js';

/**
 * `npm run funnel:rebuild -- --table <name> [--tenant <id>]… [--endpoint <url>]`: rebuilds funnel
 * roll-ups from the month cells (`rebuildFunnelRollups`, one Scan of the table), for every tenant
 * with funnel items or the ones named. Pause writes and let the roll-up consumer catch up first.
 *   On AWS: the stack output `TableName`, with the usual AWS credentials.
 *   Locally: the table `siyu-local` and the DynamoDB Local endpoint `npm start` logs.
 */
const { values } = parseArgs({
  options: {
    table: { type: 'string' },
    tenant: { type: 'string', multiple: true },
    endpoint: { type: 'string' },
  },
});
if (!values.table) {
  console.error('Usage: npm run funnel:rebuild -- --table <name> [--tenant <id>]… [--endpoint <url>]');
  process.exit(2);
}
const client = new DynamoDBClient(values.endpoint ? { ...LOCAL_AWS, endpoint: values.endpoint } : {});
const deps = { db: createDocumentClient(client), tableName: values.table };
const results = await rebuildFunnelRollups(deps, values.tenant);
for (const [tenantId, result] of results) console.log(JSON.stringify({ tenantId, ...result }));
client.destroy();
