import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type * as z from 'zod/mini';
import type { Deps } from '../app/deps.js';
import type { RouteDecl } from '../app/types.js';
import { getStaffMember } from '../db/tenant-store.js';
import { ForbiddenError, NotFoundError, PayloadTooLargeError, ValidationError } from '../errors.js';
import { logger } from '../logger.js';
import { type Caller, callerFromEvent } from './auth.js';
import { withIdempotency } from './idempotency.js';
import { problemResponse, toProblem, zodFieldErrors } from './problem.js';

export const MAX_BODY_BYTES = 1024 * 1024;

type Infer<T> = T extends z.ZodMiniType ? z.output<T> : undefined;

export interface HttpRequest<R> {
  caller: R extends { auth: 'jwt' } ? Caller : null;
  params: R extends { params: infer P } ? Infer<P> : Record<string, never>;
  query: R extends { query: infer Q } ? Infer<Q> : Record<string, never>;
  body: R extends { body: infer B } ? Infer<B> : undefined;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  rawBody: Buffer;
  /** The concrete path (`/v1/contacts/c1`). */
  path: string;
  /** What is left of the function's time limit, in ms (batch work stops starting items near it). */
  remainingMs: () => number;
}

export interface HttpResult {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** The routes of one function, as declared in `shared/app/routes/<function>.ts`. */
export type RouteTable = Readonly<Record<string, RouteDecl>>;

export type Implementations<R extends RouteTable, D> = {
  [K in keyof R & string]: (request: HttpRequest<R[K]>, deps: D) => Promise<HttpResult>;
};

/**
 * Builds the Lambda handler of one HTTP function from its declared routes: for the route API
 * Gateway matched, it checks size, caller and role, parses params, query and body with the
 * declared zod schemas (unknown fields rejected), applies `Idempotency-Key`, calls the
 * implementation and maps any error to problem+json in one place. It imports no other function's
 * routes, so a function's bundle builds only its own schemas.
 */
export function httpFunction<R extends RouteTable, D extends Deps | PublicDeps>(
  routes: R,
  implementations: Implementations<R, D>,
  deps: D,
) {
  const table = implementations as unknown as Record<string, (req: unknown, deps: D) => Promise<HttpResult>>;
  const declared = routes as Readonly<Record<string, RouteDecl>>;
  for (const [routeKey, route] of Object.entries(declared)) {
    if (!table[routeKey]) throw new Error(`${route.fn} does not implement ${routeKey}`);
  }

  const handle = async (
    event: APIGatewayProxyEventV2,
    context: Context,
  ): Promise<APIGatewayProxyStructuredResultV2> => {
    const started = Date.now();
    let response: APIGatewayProxyStructuredResultV2;
    let tenantId: string | undefined;
    try {
      const routeKey = event.routeKey;
      const route = Object.hasOwn(declared, routeKey) ? declared[routeKey] : undefined;
      const implementation = table[routeKey];
      if (!route || !implementation) throw new NotFoundError('No such route.');

      const rawBody = readBody(event);
      const headers = lowerCaseHeaders(event.headers);
      let caller: Caller | null = null;
      if (route.auth === 'jwt') {
        caller = callerFromEvent(event);
        tenantId = caller.tenantId;
        await authorize(caller, route, withTable(deps));
      }
      const request = {
        caller,
        params: parsePart(route.params, event.pathParameters ?? {}, 'params'),
        query: parsePart(route.query, event.queryStringParameters ?? {}, 'query'),
        // A signed route checks its own raw body (the signature covers the bytes, not the JSON).
        body: route.auth === 'signature' ? undefined : parseBody(route, rawBody),
        headers,
        rawBody,
        path: event.rawPath,
        remainingMs: () => context.getRemainingTimeInMillis(),
      };
      const run = async () => toResponse(route, await implementation(request, deps));
      const idempotencyKey = headers['idempotency-key'];
      if (idempotencyKey && caller && event.requestContext.http.method !== 'GET') {
        if (idempotencyKey.length > 255)
          throw new ValidationError('Idempotency-Key is longer than 255 characters.');
        response = await withIdempotency(
          withTable(deps),
          {
            tenantId: caller.tenantId,
            caller: caller.staffId,
            method: event.requestContext.http.method,
            path: event.rawPath,
            key: idempotencyKey,
          },
          rawBody,
          run,
        );
      } else {
        response = await run();
      }
    } catch (error) {
      response = toProblem(error);
    }
    logger.info('request', {
      routeKey: event.routeKey,
      status: response.statusCode,
      tenantId,
      ms: Date.now() - started,
    });
    return response;
  };

  // A request about to outlive the function's time limit answers a problem+json 504 instead of the
  // runtime's bare error. Not a 503: its write may still land after the answer, so the outcome is
  // unknown. A retry is safe (orders and refunds come back `duplicate`, a create with its
  // Idempotency-Key or id is not made twice), but it may find the work done.
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context>({
    timeoutEarlyInMillis: 500,
    timeoutEarlyResponse: () => {
      logger.warn('request ran out of time');
      return problemResponse(
        504,
        'Timed out',
        'The request took too long and may or may not have taken effect; retry it (a retried write is not applied twice, but may find itself already done).',
        undefined,
        {
          'Retry-After': '1',
        },
      );
    },
  }).handler(handle);
}

/** Deps of a function whose routes are all public: it touches no table. */
export type PublicDeps = { readonly public: true };

function withTable(deps: Deps | PublicDeps): Deps {
  if ('public' in deps) throw new Error('A public-only function cannot serve authenticated routes');
  return deps;
}

async function authorize(caller: Caller, route: RouteDecl, deps: Deps): Promise<void> {
  if (caller.role === 'staff') {
    const staff = await getStaffMember(deps, caller.tenantId, caller.staffId);
    if (!staff) throw new ForbiddenError('This staff token has no staff record in the tenant.');
    if (staff.status === 'left') throw new ForbiddenError('This staff member has left.');
  }
  if (!route.roles.includes(caller.role))
    throw new ForbiddenError(`This route is not open to the ${caller.role} role.`);
}

function readBody(event: APIGatewayProxyEventV2): Buffer {
  if (!event.body) return Buffer.alloc(0);
  const bytes = Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
  if (bytes.length > MAX_BODY_BYTES) throw new PayloadTooLargeError('The request body exceeds 1 MiB.');
  return bytes;
}

function parseBody(route: RouteDecl, rawBody: Buffer): unknown {
  if (!route.body) {
    if (rawBody.length && rawBody.toString('utf8').trim() !== '') {
      throw new ValidationError('This route takes no request body.');
    }
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw new ValidationError('The request body is not valid JSON.', [
      { path: '(body)', message: 'invalid JSON' },
    ]);
  }
  const parsed = route.body.safeParse(json);
  if (!parsed.success)
    throw new ValidationError('The request body is invalid.', zodFieldErrors(parsed.error));
  return parsed.data;
}

function parsePart(
  schema: z.ZodMiniObject | undefined,
  input: Record<string, string | undefined>,
  where: string,
) {
  if (!schema) return {};
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    throw new ValidationError(
      `The ${where === 'params' ? 'path' : 'query'} is invalid.`,
      zodFieldErrors(parsed.error, where),
    );
  }
  return parsed.data;
}

function lowerCaseHeaders(headers: APIGatewayProxyEventV2['headers'] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {}))
    if (value !== undefined) out[name.toLowerCase()] = value;
  return out;
}

function toResponse(route: RouteDecl, result: HttpResult): APIGatewayProxyStructuredResultV2 {
  const status = result.status ?? route.success.status;
  if (status === 204 || result.body === undefined) {
    return { statusCode: status, headers: { ...(result.headers ?? {}) } };
  }
  return {
    statusCode: status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...(result.headers ?? {}) },
    body: typeof result.body === 'string' ? result.body : JSON.stringify(result.body),
  };
}
