import { open, routesOf } from './access.js';

/** The routes of the `system` function (part of the app declaration, `../declaration.ts`). */
export const systemRoutes = routesOf('system', {
  'GET /v1/health': {
    ...open,
    summary: 'Liveness check',
    tags: ['system'],
    success: { status: 200 },
  },
  'GET /v1/openapi.json': {
    ...open,
    summary: 'This OpenAPI 3.1 document',
    tags: ['system'],
    success: { status: 200 },
  },
  'GET /v1/events.json': {
    ...open,
    summary: "JSON Schema of each event's data, by detail-type",
    tags: ['system'],
    success: { status: 200 },
  },
});
