import * as z from 'zod/mini';
import { Health } from '../../schemas/common.js';
import '../../zod.js';
import { open, type RoutesOf } from './access.js';

/** The routes of the `system` function (part of the app declaration, `../declaration.ts`). */
export const systemRoutes = {
  'GET /v1/health': {
    fn: 'system',
    ...open,
    summary: 'Liveness check',
    tags: ['system'],
    success: { status: 200, body: Health },
  },
  'GET /v1/openapi.json': {
    fn: 'system',
    ...open,
    summary: 'This OpenAPI 3.1 document',
    tags: ['system'],
    success: { status: 200, body: z.record(z.string(), z.unknown()) },
  },
  'GET /v1/events.json': {
    fn: 'system',
    ...open,
    summary: "JSON Schema of each event's data, by detail-type",
    tags: ['system'],
    success: { status: 200, body: z.record(z.string(), z.unknown()) },
  },
} as const satisfies RoutesOf<'system'>;
