import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { type FunctionName, routes } from '../../shared/app/declaration.js';
import type { RouteDecl } from '../../shared/app/types.js';
import { type LocalEventBus, PutEventsValidationError } from './event-bus.js';
import { bearerToken, claimsForEvent, verifyLocalToken } from './jwt.js';
import { localLog, sleep } from './log.js';
import { type LocalScheduler, UnknownScheduleError } from './scheduler.js';

/** API Gateway's own payload limit; larger bodies are refused without reaching a function. */
export const GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;
const LOCAL_MAX_BODY_BYTES = 64 * 1024;

export interface LocalServerDeps {
  invoke: (fn: FunctionName, event: unknown) => Promise<unknown>;
  bus: LocalEventBus;
  scheduler: LocalScheduler;
  /** Waits until the stream, the bus and the work they caused are quiet. */
  drain: (timeoutMs: number) => Promise<void>;
  jwtSecret: string;
  /** Resolves once every write the database acknowledged so far is durable (see stack.ts). */
  durable?: () => Promise<void>;
}

export interface LocalServer {
  readonly port: number;
  /** Base URL for this process (loopback). */
  readonly url: string;
  /** Routes requests to `deps` from now on (until then they wait). */
  attach(deps: LocalServerDeps): void;
  close(): Promise<void>;
}

interface CompiledRoute {
  key: string;
  method: string;
  fn: FunctionName;
  auth: RouteDecl['auth'];
  segments: ({ literal: string } | { param: string; greedy: boolean })[];
}

export function compileRoutes(declared: Record<string, RouteDecl<FunctionName>> = routes): CompiledRoute[] {
  const compiled = Object.entries(declared).map(([key, route]) => {
    const [method, path] = key.split(' ') as [string, string];
    const segments = path
      .split('/')
      .slice(1)
      .map((segment) => {
        const param = /^\{([A-Za-z0-9_]+)(\+)?\}$/.exec(segment);
        return param ? { param: param[1]!, greedy: Boolean(param[2]) } : { literal: segment };
      });
    return {
      key,
      method,
      fn: route.fn,
      auth: route.auth,
      segments,
    };
  });
  // The most specific route wins, as in API Gateway: segment by segment from the left, a literal
  // before a parameter before a greedy parameter.
  const rank = (s: CompiledRoute['segments'][number] | undefined) =>
    s === undefined ? 3 : 'literal' in s ? 0 : s.greedy ? 2 : 1;
  return compiled.sort((a, b) => {
    for (let i = 0; i < Math.max(a.segments.length, b.segments.length); i++) {
      const diff = rank(a.segments[i]) - rank(b.segments[i]);
      if (diff) return diff;
    }
    return 0;
  });
}

export function matchRoute(
  compiled: CompiledRoute[],
  method: string,
  rawPath: string,
): { route: CompiledRoute; pathParameters: Record<string, string> } | undefined {
  const parts = rawPath.split('/').slice(1);
  for (const route of compiled) {
    if (route.method !== method) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < route.segments.length && ok; i++) {
      const segment = route.segments[i]!;
      const part = parts[i];
      if ('literal' in segment) {
        ok = part === segment.literal;
      } else if (segment.greedy) {
        const rest = parts.slice(i).join('/');
        ok = rest !== '' && i === route.segments.length - 1;
        if (ok) params[segment.param] = decode(rest);
        i = parts.length;
      } else {
        ok = part !== undefined && part !== '';
        if (ok) params[segment.param] = decode(part!);
      }
    }
    const greedyLast = route.segments.some((s) => 'param' in s && s.greedy);
    if (ok && (greedyLast || parts.length === route.segments.length))
      return { route, pathParameters: params };
  }
  return undefined;
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** Starts the HTTP server that stands in for API Gateway (and the local EventBridge endpoint). */
export async function startLocalServer(options: { port: number; host?: string }): Promise<LocalServer> {
  const compiled = compileRoutes();
  let deps: LocalServerDeps | undefined;
  // Requests that arrive while the handlers still load wait for them (like a cold start).
  let ready: () => void = () => {};
  const attached = new Promise<void>((resolve) => {
    ready = resolve;
  });

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      localLog.error('local server failed on a request', { url: req.url, error });
      if (!res.headersSent) sendJson(res, 500, { message: 'Internal Server Error' });
      else res.destroy();
    });
  });
  server.requestTimeout = 300_000;
  server.headersTimeout = 60_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q >= 0 ? url.slice(0, q) : url;
    const rawQueryString = q >= 0 ? url.slice(q + 1) : '';
    const method = (req.method ?? 'GET').toUpperCase();
    if (!deps) {
      const timeout = new AbortController();
      await Promise.race([attached, sleep(30_000, timeout.signal)]);
      timeout.abort();
      if (!deps) return sendJson(res, 503, { message: 'Service Unavailable' });
    }

    if (rawPath === '/__aws/events' || rawPath === '/__aws/events/') {
      if (method !== 'POST') return sendJson(res, 404, { message: 'Not Found' });
      return handlePutEvents(req, res, deps);
    }
    if (rawPath.startsWith('/__local/')) return handleLocal(req, res, deps, method, rawPath, rawQueryString);

    const match = matchRoute(compiled, method, rawPath);
    if (!match) return sendJson(res, 404, { message: 'Not Found' });
    const { route, pathParameters } = match;

    // The token is checked before the body is read: nothing is buffered for an anonymous caller.
    let claims: Record<string, string> | undefined;
    if (route.auth === 'jwt') {
      const token = bearerToken(req.headers.authorization);
      try {
        if (!token) throw new Error('no bearer token');
        claims = claimsForEvent(await verifyLocalToken(token, deps.jwtSecret));
      } catch {
        res.setHeader('www-authenticate', 'Bearer');
        return sendJson(res, 401, { message: 'Unauthorized' });
      }
    }

    const body = await readBody(req, GATEWAY_MAX_BODY_BYTES);
    if (body === 'too-large') {
      res.setHeader('connection', 'close');
      return sendJson(
        res,
        413,
        {
          type: 'about:blank',
          title: 'Payload too large',
          status: 413,
          detail: 'The request body exceeds 10 MiB.',
        },
        'application/problem+json',
      );
    }

    const requestId = randomUUID();
    const event = toHttpApiEvent(req, {
      routeKey: route.key,
      method,
      rawPath,
      rawQueryString,
      pathParameters,
      body,
      requestId,
      ...(claims ? { claims } : {}),
    });
    let result: unknown;
    try {
      result = await deps.invoke(route.fn, event);
    } catch (error) {
      localLog.error('function failed', { fn: route.fn, routeKey: route.key, error });
      if (error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
      res.setHeader('apigw-requestid', requestId);
      return sendJson(res, 500, { message: 'Internal Server Error' });
    }
    res.setHeader('apigw-requestid', requestId);
    if (deps.durable && statusOf(result) < 400) {
      try {
        await deps.durable();
      } catch (error) {
        // Whether the write is on disk is unknown: answer as a lost response would (never a 503,
        // which tells the client nothing was done).
        localLog.error('could not confirm the write is durable', { routeKey: route.key, error });
        return sendJson(res, 504, { message: 'Gateway Timeout' });
      }
    }
    writeResult(res, result);
  }

  async function handlePutEvents(req: IncomingMessage, res: ServerResponse, d: LocalServerDeps) {
    const target = String(req.headers['x-amz-target'] ?? '');
    const body = await readBody(req, GATEWAY_MAX_BODY_BYTES);
    const amzJson = 'application/x-amz-json-1.1';
    const requestId = randomUUID();
    res.setHeader('x-amzn-requestid', requestId);
    const error = (status: number, type: string, message: string) => {
      res.setHeader('x-amzn-errortype', type);
      sendJson(res, status, { __type: type, message }, amzJson);
    };
    if (body === 'too-large') return error(413, 'ValidationException', 'Request too large.');
    if (target !== 'AWSEvents.PutEvents')
      return error(
        400,
        'UnknownOperationException',
        `The local bus supports PutEvents only (got ${target || 'none'}).`,
      );
    let request: unknown;
    try {
      request = JSON.parse(body.toString('utf8') || '{}');
    } catch {
      return error(400, 'SerializationException', 'The request body is not valid JSON.');
    }
    try {
      sendJson(res, 200, d.bus.putEvents(request as Parameters<LocalEventBus['putEvents']>[0]), amzJson);
    } catch (e) {
      if (e instanceof PutEventsValidationError) return error(400, 'ValidationException', e.message);
      throw e;
    }
  }

  async function handleLocal(
    req: IncomingMessage,
    res: ServerResponse,
    d: LocalServerDeps,
    method: string,
    rawPath: string,
    rawQueryString: string,
  ) {
    const query = new URLSearchParams(rawQueryString);
    if (rawPath === '/__local/events' && method === 'GET') {
      const detailType = query.get('detailType') ?? undefined;
      const source = query.get('source') ?? undefined;
      return sendJson(res, 200, {
        items: d.bus.events({ ...(detailType ? { detailType } : {}), ...(source ? { source } : {}) }),
      });
    }
    if (rawPath === '/__local/drain' && method === 'POST') {
      const timeoutMs = Math.min(Number(query.get('timeoutMs') ?? 30_000) || 30_000, 600_000);
      await readBody(req, LOCAL_MAX_BODY_BYTES);
      try {
        await d.drain(timeoutMs);
        return sendJson(res, 200, { drained: true });
      } catch (error) {
        return sendJson(res, 503, { drained: false, message: (error as Error).message });
      }
    }
    const schedule = /^\/__local\/schedules\/([^/]+)$/.exec(rawPath);
    if (schedule && method === 'POST') {
      const name = decode(schedule[1]!);
      const body = await readBody(req, LOCAL_MAX_BODY_BYTES);
      let now: string | undefined;
      if (body === 'too-large') return sendJson(res, 413, { message: 'Request body too large' });
      if (body.length && body.toString('utf8').trim()) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(body.toString('utf8'));
        } catch {
          return sendJson(res, 400, { message: 'The body must be JSON: {"now": "<RFC 3339>"}' });
        }
        const value = (parsed as { now?: unknown } | null)?.now;
        if (value !== undefined) {
          if (typeof value !== 'string' || Number.isNaN(Date.parse(value)))
            return sendJson(res, 400, { message: '`now` must be an RFC 3339 date-time' });
          now = new Date(value).toISOString();
        }
      }
      try {
        const result = await d.scheduler.runNow(name, now);
        return sendJson(res, 200, result ?? null);
      } catch (error) {
        if (error instanceof UnknownScheduleError)
          return sendJson(res, 404, { message: error.message, schedules: d.scheduler.names });
        // The error itself is in the log (as in CloudWatch), not in the answer.
        return sendJson(res, 500, { message: 'The scheduled function failed; see the stack log' });
      }
    }
    return sendJson(res, 404, { message: 'Not Found' });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host ?? '127.0.0.1';
  const loopback =
    host === '::1' ? '[::1]' : host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;

  return {
    port,
    url: `http://${loopback}:${port}`,
    attach: (d) => {
      deps = d;
      ready();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Reads the body, up to `limit` bytes; past it stops buffering and answers `too-large`. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.resolve('too-large');
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        chunks.length = 0;
        // Keep draining (without buffering) so the client can read the answer.
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!done) {
        done = true;
        resolve(Buffer.concat(chunks, size));
      }
    });
    req.on('error', (error) => {
      if (!done) {
        done = true;
        reject(error);
      }
    });
  });
}

const TEXT_TYPES =
  /^(text\/|application\/(json|[\w.+-]*\+json|xml|[\w.+-]*\+xml|javascript|x-www-form-urlencoded))/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function isText(contentType: string | undefined, contentEncoding: string | undefined, body: Buffer): boolean {
  if (contentEncoding && contentEncoding.toLowerCase() !== 'identity') return false;
  if (!contentType || !TEXT_TYPES.test(contentType.trim())) return false;
  try {
    utf8.decode(body);
    return true;
  } catch {
    return false;
  }
}

interface EventInput {
  routeKey: string;
  method: string;
  rawPath: string;
  rawQueryString: string;
  pathParameters: Record<string, string>;
  body: Buffer;
  requestId: string;
  claims?: Record<string, string>;
}

/** The API Gateway HTTP API (payload format 2.0) event for one request. */
export function toHttpApiEvent(req: IncomingMessage, input: EventInput): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (name === 'cookie') {
      cookies = (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(/;\s*/)).filter(Boolean);
      continue;
    }
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }

  const queryStringParameters: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(input.rawQueryString)) {
    queryStringParameters[name] =
      name in queryStringParameters ? `${queryStringParameters[name]},${value}` : value;
  }

  const now = new Date();
  const host = headers.host ?? 'localhost';
  const text =
    input.body.length > 0 && isText(headers['content-type'], headers['content-encoding'], input.body);
  const sourceIp = (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');

  const requestContext: APIGatewayProxyEventV2['requestContext'] & {
    authorizer?: { jwt: { claims: Record<string, string>; scopes: string[] | null } };
  } = {
    accountId: '000000000000',
    apiId: 'local',
    domainName: host,
    domainPrefix: host.split('.')[0]!,
    http: {
      method: input.method,
      path: input.rawPath,
      protocol: `HTTP/${req.httpVersion}`,
      sourceIp,
      userAgent: headers['user-agent'] ?? '',
    },
    requestId: input.requestId,
    routeKey: input.routeKey,
    stage: '$default',
    time: gatewayTime(now),
    timeEpoch: now.getTime(),
  };
  if (input.claims) {
    const scope = input.claims.scope;
    requestContext.authorizer = { jwt: { claims: input.claims, scopes: scope ? scope.split(' ') : null } };
  }

  return {
    version: '2.0',
    routeKey: input.routeKey,
    rawPath: input.rawPath,
    rawQueryString: input.rawQueryString,
    ...(cookies?.length ? { cookies } : {}),
    headers,
    ...(Object.keys(queryStringParameters).length ? { queryStringParameters } : {}),
    ...(Object.keys(input.pathParameters).length ? { pathParameters: input.pathParameters } : {}),
    requestContext,
    ...(input.body.length
      ? { body: text ? input.body.toString('utf8') : input.body.toString('base64') }
      : {}),
    isBase64Encoded: input.body.length > 0 && !text,
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `12/Mar/2020:19:03:58 +0000`, as in `requestContext.time`. */
function gatewayTime(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}

function statusOf(result: unknown): number {
  if (result !== null && typeof result === 'object' && 'statusCode' in result)
    return Number((result as { statusCode: unknown }).statusCode) || 500;
  return 200;
}

/** Writes a function's result as API Gateway does for payload format 2.0. */
function writeResult(res: ServerResponse, result: unknown): void {
  const structured =
    result !== null && typeof result === 'object' && 'statusCode' in result
      ? (result as APIGatewayProxyStructuredResultV2)
      : undefined;
  if (!structured) {
    // Not a structured answer: API Gateway sends it as a 200 JSON body.
    const body = typeof result === 'string' ? result : JSON.stringify(result ?? null);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
    return;
  }
  const statusCode = Number(structured.statusCode) || 500;
  for (const [name, value] of Object.entries(structured.headers ?? {})) {
    if (value !== undefined) res.setHeader(name, String(value));
  }
  if (structured.cookies?.length) res.setHeader('set-cookie', structured.cookies);
  const body =
    structured.body === undefined
      ? undefined
      : structured.isBase64Encoded
        ? Buffer.from(structured.body, 'base64')
        : structured.body;
  if (body !== undefined && !res.hasHeader('content-type')) res.setHeader('content-type', 'application/json');
  res.writeHead(statusCode);
  res.end(body);
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  contentType = 'application/json',
): void {
  const text = JSON.stringify(body);
  // A 503 tells the client when to try again, as the gateway's own would.
  const retry = status === 503 ? { 'retry-after': '1' } : {};
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), ...retry });
  res.end(text);
}
