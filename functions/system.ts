import { systemRoutes } from '../shared/app/routes/system.js';
import { httpFunction } from '../shared/http/http-function.js';

/**
 * Built on first use, not at cold start: the documents need every route's schemas, which this
 * function loads only then (`import()`), so a health check neither builds them nor waits for them.
 */
const once = <T>(build: () => Promise<T>) => {
  let value: Promise<T> | undefined;
  return () => {
    value ??= build().catch((error: unknown) => {
      value = undefined;
      throw error;
    });
    return value;
  };
};
const openApi = once(async () => (await import('../shared/app/openapi.js')).buildOpenApi());
const eventSchemas = once(async () => (await import('../shared/app/openapi.js')).buildEventSchemas());

/** Public system routes: no table, no token. */
export const handler = httpFunction(
  systemRoutes,
  {
    'GET /v1/health': async () => ({ body: { status: 'ok' } }),
    'GET /v1/openapi.json': async () => ({ body: await openApi() }),
    'GET /v1/events.json': async () => ({ body: await eventSchemas() }),
  },
  { public: true },
);
