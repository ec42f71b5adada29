import { buildEventSchemas, buildOpenApi } from '../shared/app/openapi.js';
import { httpFunction } from '../shared/http/http-function.js';

// Built on first use, not at cold start: health checks should not pay for schema generation.
const once = <T>(build: () => T) => {
  let value: T | undefined;
  return () => {
    value ??= build();
    return value;
  };
};
const openApi = once(buildOpenApi);
const eventSchemas = once(buildEventSchemas);

/** Public system routes: no table, no token. */
export const handler = httpFunction(
  'system',
  {
    'GET /v1/health': async () => ({ body: { status: 'ok' } }),
    'GET /v1/openapi.json': async () => ({ body: openApi() }),
    'GET /v1/events.json': async () => ({ body: eventSchemas() }),
  },
  { public: true },
);
