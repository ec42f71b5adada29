import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { type FunctionName, functions } from '../../shared/app/declaration.js';
import type { FunctionDecl } from '../../shared/app/types.js';
import { PROJECT_ROOT } from './dynamodb-local.js';
import { localLog } from './log.js';

export interface RuntimeOptions {
  tableName: string;
  eventBusName: string;
  /** DynamoDB endpoint the handlers' SDK clients use. */
  dynamoEndpoint: string;
  /** EventBridge endpoint (the local server's `/__aws/events`). */
  eventsEndpoint: string;
  region?: string;
}

export interface Runtime {
  /** The environment every handler sees (also set on `process.env`). */
  readonly env: Readonly<Record<string, string>>;
  /** Invokes a function's handler like Lambda would (one event, a fresh Context). */
  invoke(fn: FunctionName, event: unknown): Promise<unknown>;
  /** Releases this runtime; another one with a different environment may then load. */
  close(): void;
}

type Handler = (event: unknown, context: Context) => unknown;

/**
 * Handlers read their environment once, when their module loads (like a Lambda cold start), and
 * AWS SDK clients resolve endpoints on their first call. So one process can serve one
 * environment at a time: a runtime with another environment loads fresh module instances, and
 * refuses to start while a runtime of another environment is open.
 */
const loaded = new Map<string, Promise<Map<FunctionName, Handler>>>();
let generation = 0;
const open = new Map<string, number>();

export async function createRuntime(options: RuntimeOptions): Promise<Runtime> {
  const region = options.region ?? 'us-east-1';
  const env: Record<string, string> = {
    TABLE_NAME: options.tableName,
    EVENT_BUS_NAME: options.eventBusName,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: options.dynamoEndpoint,
    AWS_ENDPOINT_URL_DYNAMODB_STREAMS: options.dynamoEndpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: options.eventsEndpoint,
  };
  const signature = JSON.stringify(env);
  const others = [...open.keys()].filter((s) => s !== signature);
  if (others.length) {
    throw new Error(
      'Another local stack with a different table or endpoints is running in this process; ' +
        'stop it first (handlers read their environment once, when they load).',
    );
  }
  open.set(signature, (open.get(signature) ?? 0) + 1);

  try {
    Object.assign(process.env, env);
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
    let handlers = loaded.get(signature);
    if (!handlers) {
      handlers = loadHandlers(++generation);
      loaded.set(signature, handlers);
      handlers.catch(() => loaded.delete(signature));
    }
    const table = await handlers;

    let closed = false;
    return {
      env,
      invoke: (fn, event) => {
        const handler = table.get(fn);
        if (!handler) return Promise.reject(new Error(`Unknown function ${fn}`));
        return invokeHandler(fn, functions[fn], handler, event, region);
      },
      close: () => {
        if (closed) return;
        closed = true;
        const count = (open.get(signature) ?? 1) - 1;
        if (count > 0) open.set(signature, count);
        else open.delete(signature);
      },
    };
  } catch (error) {
    const count = (open.get(signature) ?? 1) - 1;
    if (count > 0) open.set(signature, count);
    else open.delete(signature);
    throw error;
  }
}

async function loadHandlers(instance: number): Promise<Map<FunctionName, Handler>> {
  const table = new Map<FunctionName, Handler>();
  // Loaded one after the other: each module builds its clients from the environment at load.
  for (const [name, decl] of Object.entries(functions) as [FunctionName, FunctionDecl][]) {
    const url = pathToFileURL(resolve(PROJECT_ROOT, decl.entry));
    // A later environment needs fresh module instances (new clients); the first load keeps clean URLs.
    if (instance > 1) url.search = `local=${instance}`;
    const module = (await import(url.href)) as { handler?: unknown };
    if (typeof module.handler !== 'function') throw new Error(`${decl.entry} exports no handler`);
    table.set(name, module.handler as Handler);
  }
  return table;
}

async function invokeHandler(
  fn: FunctionName,
  decl: FunctionDecl,
  handler: Handler,
  event: unknown,
  region: string,
): Promise<unknown> {
  const timeoutMs = (decl.timeoutSeconds ?? 30) * 1000;
  const started = Date.now();
  const deadline = started + timeoutMs;
  const functionName = `siyu-local-${fn}`;
  const context: Context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${functionName}`,
    memoryLimitInMB: String(decl.memoryMb ?? 128),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/${functionName}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
  try {
    return await handler(event, context);
  } finally {
    const ms = Date.now() - started;
    // Lambda would have stopped the run; locally it finishes, but the overrun is reported.
    if (ms > timeoutMs) localLog.warn('invocation exceeded its timeout', { fn, ms, timeoutMs });
  }
}
