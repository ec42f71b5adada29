import { createDeps } from '../shared/app/deps.js';
import { metricsRoutes } from '../shared/app/routes/metrics.js';
import { httpFunction } from '../shared/http/http-function.js';
import { compare, funnel } from '../shared/usecases/funnel.js';
import { getSegments } from '../shared/usecases/rfm.js';

const deps = createDeps();

export const handler = httpFunction(
  metricsRoutes,
  {
    'GET /v1/metrics/funnel': async (req, d) => ({ body: await funnel(d, req.caller, req.query) }),
    'GET /v1/segments': async (req, d) => ({ body: await getSegments(d, req.caller) }),
    'GET /v1/metrics/funnel/compare': async (req, d) => ({
      body: await compare(d, req.caller, req.query.a, req.query.b),
    }),
  },
  deps,
);
