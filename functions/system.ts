import { buildEventSchemas, buildOpenApi } from '../shared/app/openapi.js';
import { httpFunction } from '../shared/http/http-function.js';

const openApi = buildOpenApi();
const eventSchemas = buildEventSchemas();

/** Public system routes: no table, no token. */
export const handler = httpFunction(
  'system',
  {
    'GET /v1/health': async () => ({ body: { status: 'ok' } }),
    'GET /v1/openapi.json': async () => ({ body: openApi }),
    'GET /v1/events.json': async () => ({ body: eventSchemas }),
  },
  { public: true },
);
