import * as z from 'zod/mini';
import { publicEvents } from '../events/catalog.js';
import { Problem } from '../schemas/views/common.js';
import '../zod.js';
import { routes } from './declaration.js';
import { responseOf } from './responses.js';
import type { RouteDecl } from './types.js';

const commonErrors: Record<number, string> = {
  400: 'Invalid request (one entry per bad field; unknown fields rejected)',
  401: 'Missing or invalid token',
  403: 'Not allowed for this role',
  413: 'Body over 1 MiB',
  503: 'Transient overload, nothing done; retry after Retry-After seconds',
  504: 'Ran out of time; the request may or may not have taken effect, and a retry is not applied twice',
};

/** Named schemas (`.meta({id})`) collected while converting; they become `components.schemas`. */
const components: Record<string, unknown> = {};

/**
 * Converts one zod schema to JSON Schema 2020-12 (OpenAPI 3.1's dialect), moving named
 * sub-schemas from the local `$defs` into `components.schemas`.
 */
function schema(s: z.ZodMiniType, io: 'input' | 'output'): Record<string, unknown> {
  const json = z.toJSONSchema(s, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  const { $schema: _dialect, $defs, ...rest } = json;
  const suffix = io === 'input' ? 'Input' : '';
  const rename = (id: string) => (id.endsWith('Input') ? id : `${id}${suffix}`);
  for (const [id, def] of Object.entries(($defs ?? {}) as Record<string, unknown>)) {
    components[rename(id)] = rewriteRefs(def, rename);
  }
  if (typeof rest.id === 'string') {
    const id = rename(rest.id);
    const { id: _id, ...body } = rest;
    components[id] = rewriteRefs(body, rename);
    return { $ref: `#/components/schemas/${id}` };
  }
  return rewriteRefs(rest, rename) as Record<string, unknown>;
}

function rewriteRefs(value: unknown, rename: (id: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => rewriteRefs(v, rename));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] =
        k === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/')
          ? `#/components/schemas/${rename(v.slice('#/$defs/'.length))}`
          : rewriteRefs(v, rename);
    }
    return out;
  }
  return value;
}

/**
 * The OpenAPI 3.1 document, generated from the same zod schemas the handlers validate with, so it
 * cannot disagree with them; the success bodies come from `responses.ts` (answers are not parsed).
 */
export function buildOpenApi(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [routeKey, route] of Object.entries(routes) as [string, RouteDecl][]) {
    const [method, path] = routeKey.split(' ') as [string, string];
    const parameters: unknown[] = [];
    for (const [where, obj] of [
      ['path', route.params],
      ['query', route.query],
    ] as const) {
      if (!obj) continue;
      for (const [name, field] of Object.entries(obj.shape)) {
        parameters.push({
          name,
          in: where,
          required: where === 'path' || !(field as z.ZodMiniType).safeParse(undefined).success,
          schema: schema(field as z.ZodMiniType, 'input'),
        });
      }
    }
    const body = responseOf(routeKey);
    const responses: Record<string, unknown> = {
      [String(route.success.status)]: {
        description: route.success.description ?? 'Success',
        ...(body ? { content: { 'application/json': { schema: schema(body, 'output') } } } : {}),
      },
    };
    const statuses = new Set<number>(route.errors ?? []);
    statuses.add(400);
    if (route.body) statuses.add(413);
    if (route.auth === 'jwt') {
      statuses.add(401);
      statuses.add(403);
    }
    if (route.auth !== 'public') {
      statuses.add(503);
      statuses.add(504);
    }
    for (const status of [...statuses].sort()) {
      responses[String(status)] = {
        description: commonErrors[status] ?? 'Problem',
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      };
    }
    paths[path] ??= {};
    paths[path][method.toLowerCase()] = {
      operationId: operationId(method, path),
      summary: route.summary,
      tags: route.tags,
      ...(route.auth === 'jwt'
        ? { security: [{ bearer: [] }], 'x-siyu-roles': route.roles }
        : { security: [] }),
      ...(parameters.length ? { parameters } : {}),
      ...(route.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: schema(route.body, 'input') } },
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'siyu',
      version: '1',
      description:
        'Private-domain customer operations. Money is a decimal string in the tenant currency; times are RFC 3339 (UTC out). ' +
        'Any POST/PUT/PATCH/DELETE accepts an Idempotency-Key header (24 h, scoped to tenant, caller, method and path).',
    },
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas: { ...components, Problem: withoutRef(schema(Problem, 'output')) },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
  };
}

/** JSON Schema of each public event's `data`, by detail-type (`GET /v1/events.json`). */
export function buildEventSchemas(): Record<string, unknown> {
  const events: Record<string, unknown> = {};
  for (const event of publicEvents) {
    events[event.detailType] = {
      source: event.source,
      version: event.version,
      description: event.description,
      data: schema(event.data, 'output'),
    };
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    envelope: 'detail = {metadata: {eventId, eventVersion, occurredAt, tenantId}, data}',
    events,
  };
}

function withoutRef(converted: Record<string, unknown>): unknown {
  const ref = converted.$ref;
  return typeof ref === 'string' ? components[ref.split('/').pop()!] : converted;
}

function operationId(method: string, path: string): string {
  const words = path
    .replace(/^\/v1\//, '')
    .split(/[/.{}-]+/)
    .filter(Boolean)
    .map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1)));
  return method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}
