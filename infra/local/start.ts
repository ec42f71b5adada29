import { localLog } from './log.js';
import { type LocalStack, startLocalStack } from './stack.js';

/**
 * `npm start`: the whole backend on this machine. Env: `PORT` (3000), `HOST` (127.0.0.1),
 * `SIYU_SCHEDULES=off` (no timed schedule runs), `DYNAMODB_PORT` (a free one), `JWT_SECRET`.
 */
const port = Number(process.env.PORT ?? 3000);
const dynamoPort = process.env.DYNAMODB_PORT ? Number(process.env.DYNAMODB_PORT) : undefined;
const schedules = (process.env.SIYU_SCHEDULES ?? 'on').toLowerCase() !== 'off';

let stack: LocalStack | undefined;
let stopping = false;

async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (stopping) {
    // A second Ctrl-C: leave now (the exit hook still stops DynamoDB Local).
    process.exit(130);
  }
  stopping = true;
  localLog.info(`${signal}: stopping`);
  try {
    await stack?.stop();
  } finally {
    process.exit(0);
  }
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

try {
  stack = await startLocalStack({
    port,
    ...(process.env.HOST ? { host: process.env.HOST } : {}),
    ...(dynamoPort ? { dynamoPort } : {}),
    schedules,
  });
  if (stopping) await stack.stop();
  const host =
    process.env.HOST && !['127.0.0.1', '0.0.0.0', '::', '::1'].includes(process.env.HOST)
      ? process.env.HOST
      : 'localhost';
  console.log(`siyu local stack on http://${host}:${stack.port}`);
  localLog.info('ready', {
    dynamodb: stack.dynamoEndpoint,
    table: stack.tableName,
    schedules: schedules ? 'on' : 'off (run one with: npm run job -- <name>)',
  });
} catch (error) {
  console.error(`The local stack did not start: ${(error as Error).message}`);
  process.exit(1);
}
