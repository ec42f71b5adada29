import { JobParams, RfmRunInput } from '../../schemas/jobs.js';
import { jwt, routesOf } from './access.js';

/** The routes of the `jobs` function (part of the app declaration, `../declaration.ts`). */
export const jobsRoutes = routesOf('jobs', {
  'POST /v1/jobs/rfm': {
    ...jwt(['admin']),
    summary:
      'Start an RFM and lifecycle run at asOf (default now); runs of a tenant queue one behind the other',
    tags: ['jobs', 'segments'],
    body: RfmRunInput,
    success: { status: 202 },
    errors: [409],
  },
  'GET /v1/jobs/{jobId}': {
    ...jwt(['admin']),
    summary: "A job's status, progress and result",
    tags: ['jobs'],
    params: JobParams,
    success: { status: 200 },
    errors: [404],
  },
});
