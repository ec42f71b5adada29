import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type AttributeDefinition,
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  type GlobalSecondaryIndex,
  ListTablesCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  type TableDescription,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { tableDefinition } from '../../shared/db/table-definition.js';
import { localLog, sleep } from './log.js';

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const EMULATOR_DIR = resolve(PROJECT_ROOT, 'node_modules/amplify-dynamodb-simulator/emulator');
export const JAVA_REQUIRED = 'Java 17+ is required: apt-get install openjdk-17-jre-headless';

/** Credentials and region DynamoDB Local accepts (it checks neither). */
export const LOCAL_AWS = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
} as const;

export interface DynamoDbLocalOptions {
  /** Port to listen on; a free one is picked when left out. */
  port?: number;
  /** Directory of the database file (created); ignored with `inMemory`. */
  dataDir?: string;
  /** Keep the data in memory only (`-inMemory`): nothing survives `stop()`. */
  inMemory?: boolean;
  /** How long to wait for the first answer (ms). */
  startTimeoutMs?: number;
}

export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  /** Process id of the Java process itself (to simulate a crash: `process.kill(pid, 'SIGKILL')`). */
  pid: number;
  /** Stops the Java process (SIGTERM, then SIGKILL) and waits until it is gone. Idempotent. */
  stop(): Promise<void>;
}

/** Asks the OS for a free TCP port on `host`. */
export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolvePort(false));
    server.listen(port, () => server.close(() => resolvePort(true)));
  });
}

/** Throws a message naming the fix when no usable `java` is on the PATH. */
export function checkJava(): void {
  const out = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (out.error) throw new Error(`${JAVA_REQUIRED} (no \`java\` on the PATH)`);
  const match = /version "(\d+)(?:\.(\d+))?/.exec(`${out.stderr}${out.stdout}`);
  if (!match) return;
  const major = match[1] === '1' ? Number(match[2]) : Number(match[1]);
  if (major < 17) throw new Error(`${JAVA_REQUIRED} (found Java ${major})`);
}

/**
 * The Java process runs under a small `sh` guard in its own process group. The guard holds the
 * read end of a pipe from this process: when this process dies in any way (even SIGKILL), the
 * pipe closes and the guard stops Java — no orphan. When Java exits, the guard exits with its code.
 */
const GUARD = [
  'exec 3<&0',
  '"$@" </dev/null 3<&- &',
  'child=$!',
  'echo "dynamodb-local-pid $child"',
  '( while read -r _ <&3; do :; done; kill -TERM "$child" 2>/dev/null ) &',
  'watcher=$!',
  'exec 3<&-',
  'wait "$child"',
  'code=$?',
  'kill "$watcher" 2>/dev/null',
  'exit "$code"',
].join('\n');

/** Starts DynamoDB Local (the jar shipped with amplify-dynamodb-simulator) and waits until it answers. */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  checkJava();
  if (options.port !== undefined && !(await isPortFree(options.port)))
    throw new Error(
      `DynamoDB Local cannot start: port ${options.port} is in use (leave it unset to pick a free one)`,
    );
  const port = options.port ?? (await findFreePort());
  const args = [
    `-Djava.library.path=${resolve(EMULATOR_DIR, 'DynamoDBLocal_lib')}`,
    '-jar',
    resolve(EMULATOR_DIR, 'DynamoDBLocal.jar'),
    '-port',
    String(port),
  ];
  if (options.inMemory) {
    args.push('-inMemory');
  } else {
    const dataDir = resolve(options.dataDir ?? resolve(PROJECT_ROOT, '.data/dynamodb'));
    mkdirSync(dataDir, { recursive: true });
    args.push('-dbPath', dataDir);
  }
  args.push('-sharedDb', '-disableTelemetry');

  const child = spawn('sh', ['-c', GUARD, 'dynamodb-local', 'java', ...args], {
    cwd: EMULATOR_DIR,
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  let javaPid = 0;
  let exited = false;
  const exitPromise = new Promise<number | null>((done) => {
    child.once('exit', (code, signal) => {
      exited = true;
      done(code ?? (signal ? 128 : null));
    });
  });
  const pidPromise = new Promise<number>((done, fail) => {
    child.once('error', fail);
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        const pidLine = /^dynamodb-local-pid (\d+)$/.exec(line);
        if (pidLine && !javaPid) {
          javaPid = Number(pidLine[1]);
          done(javaPid);
        } else {
          remember(output, line);
        }
        newline = buffered.indexOf('\n');
      }
    });
    void exitPromise.then(() => fail(new Error('DynamoDB Local exited before it started')));
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line) remember(output, line);
  });
  // Neither the child nor its pipes keep this process alive; the exit hook and the guard clean up.
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr])
    (stream as unknown as { unref?: () => void } | null)?.unref?.();

  const onExit = () => killGroup(child, 'SIGTERM');
  process.once('exit', onExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.removeListener('exit', onExit);
      if (!exited && javaPid) {
        signal(javaPid, 'SIGTERM');
        if (!(await within(exitPromise, 5000))) {
          signal(javaPid, 'SIGKILL');
          await within(exitPromise, 3000);
        }
      }
      killGroup(child, 'SIGKILL');
      child.stdin?.destroy();
    })();
    return stopping;
  };

  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await within(pidPromise, 10_000);
    await waitUntilReady(endpoint, options.startTimeoutMs ?? 60_000, () => {
      if (exited) return 'the Java process exited';
      if (output.some((line) => /BindException|Address already in use/.test(line)))
        return `port ${port} is in use (leave the port unset to pick a free one)`;
      return undefined;
    });
  } catch (error) {
    await stop();
    const tail = output.slice(-15).join('\n');
    throw new Error(
      `DynamoDB Local did not start on port ${port}: ${(error as Error).message}${tail ? `\n${tail}` : ''}`,
    );
  }
  localLog.debug('DynamoDB Local started', { endpoint, pid: javaPid, inMemory: Boolean(options.inMemory) });
  return { endpoint, port, pid: javaPid, stop };
}

function remember(lines: string[], line: string): void {
  lines.push(line);
  if (lines.length > 100) lines.shift();
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

function killGroup(child: ChildProcess, name: NodeJS.Signals): void {
  if (child.pid) signal(-child.pid, name);
}

/** True when `promise` settled within `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((done) => {
    timer = setTimeout(() => done(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls ListTables until DynamoDB answers. */
export async function waitUntilReady(
  endpoint: string,
  timeoutMs: number,
  failure: () => string | undefined = () => undefined,
): Promise<void> {
  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint, maxAttempts: 1 });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const failed = failure();
      if (failed) throw new Error(failed);
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(2000) });
        return;
      } catch (error) {
        if (Date.now() > deadline)
          throw new Error(`no answer within ${timeoutMs} ms (${(error as Error).message})`);
      }
      await sleep(150);
    }
  } finally {
    client.destroy();
  }
}

/**
 * Creates the table from `shared/db/table-definition.ts`, or brings an existing one up to it:
 * missing GSIs are added, the stream is enabled, TTL is switched on (DynamoDB Local may not
 * expire items; that is fine). Safe to call on every start.
 */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<TableDescription> {
  const def = tableDefinition;
  const attribute = (name: string): AttributeDefinition => ({ AttributeName: name, AttributeType: 'S' });
  const gsiSpec = (gsi: (typeof def.globalSecondaryIndexes)[number]): GlobalSecondaryIndex => ({
    IndexName: gsi.indexName,
    KeySchema: [
      { AttributeName: gsi.partitionKey, KeyType: 'HASH' },
      { AttributeName: gsi.sortKey, KeyType: 'RANGE' },
    ],
    Projection: { ProjectionType: 'ALL' },
  });

  let table = await describe(client, tableName);
  if (!table) {
    const names = new Set<string>([def.partitionKey, def.sortKey]);
    for (const gsi of def.globalSecondaryIndexes) names.add(gsi.partitionKey).add(gsi.sortKey);
    try {
      await client.send(
        new CreateTableCommand({
          TableName: tableName,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [...names].map(attribute),
          KeySchema: [
            { AttributeName: def.partitionKey, KeyType: 'HASH' },
            { AttributeName: def.sortKey, KeyType: 'RANGE' },
          ],
          GlobalSecondaryIndexes: def.globalSecondaryIndexes.map(gsiSpec),
          StreamSpecification: { StreamEnabled: true, StreamViewType: def.streamView },
        }),
      );
      localLog.debug('table created', { tableName });
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    table = await waitActive(client, tableName);
  }

  for (const gsi of def.globalSecondaryIndexes) {
    if (table.GlobalSecondaryIndexes?.some((index) => index.IndexName === gsi.indexName)) continue;
    localLog.info('adding index', { tableName, index: gsi.indexName });
    await client.send(
      new UpdateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [attribute(gsi.partitionKey), attribute(gsi.sortKey)],
        GlobalSecondaryIndexUpdates: [{ Create: gsiSpec(gsi) }],
      }),
    );
    table = await waitActive(client, tableName);
  }

  const stream = table.StreamSpecification;
  if (!stream?.StreamEnabled || stream.StreamViewType !== def.streamView) {
    if (stream?.StreamEnabled) {
      await client.send(
        new UpdateTableCommand({ TableName: tableName, StreamSpecification: { StreamEnabled: false } }),
      );
      await waitActive(client, tableName);
    }
    await client.send(
      new UpdateTableCommand({
        TableName: tableName,
        StreamSpecification: { StreamEnabled: true, StreamViewType: def.streamView },
      }),
    );
    table = await waitActive(client, tableName);
  }

  try {
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
    if (ttl.TimeToLiveDescription?.TimeToLiveStatus !== 'ENABLED') {
      await client.send(
        new UpdateTimeToLiveCommand({
          TableName: tableName,
          TimeToLiveSpecification: { AttributeName: def.timeToLiveAttribute, Enabled: true },
        }),
      );
    }
  } catch (error) {
    localLog.debug('TTL not set (DynamoDB Local may not support it)', { error });
  }
  return table;
}

async function describe(client: DynamoDBClient, tableName: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

async function waitActive(client: DynamoDBClient, tableName: string): Promise<TableDescription> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const table = await describe(client, tableName);
    const ready =
      table?.TableStatus === 'ACTIVE' &&
      (table.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === 'ACTIVE');
    if (table && ready) return table;
    if (Date.now() > deadline) throw new Error(`Table ${tableName} did not become ACTIVE`);
    await sleep(100);
  }
}
