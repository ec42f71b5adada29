import { createDeps } from '../shared/app/deps.js';
import { NotFoundError } from '../shared/errors.js';
import { httpFunction } from '../shared/http/http-function.js';
import { getJob, jobView } from '../shared/jobs/store.js';

const deps = createDeps();

export const handler = httpFunction(
  'jobs',
  {
    'GET /v1/jobs/{jobId}': async (req, d) => {
      const job = await getJob(d, req.caller.tenantId, req.params.jobId, false);
      if (!job) throw new NotFoundError('No such job.');
      return { body: jobView(job) };
    },
  },
  deps,
);
