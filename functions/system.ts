import { buildEventSchemas, buildOpenApi } from '../shared/app/openapi.js';
import { httpFunction } from '../shared/http/http-function.js';

// Built on first use, not at cold start: health checks should not pay for schema generation.
let openApi: Record<string, unknown> | undefined;
let eventSchemas: Record<string, unknown> | undefined;

/** Public system routes: no table, no token. */
export const handler = httpFunction(
  'system',
  {
    'GET /v1/health': async () => ({ body: { status: 'ok' } }),
    'GET /v1/openapi.json': async () => ({ body: (openApi ??= buildOpenApi()) }),
    'GET /v1/events.json': async () => ({ body: (eventSchemas ??= buildEventSchemas()) }),
  },
  { public: true },
);
