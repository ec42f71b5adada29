import { createDeps } from '../shared/app/deps.js';
import { jobsRoutes } from '../shared/app/routes/jobs.js';
import { NotFoundError } from '../shared/errors.js';
import { httpFunction } from '../shared/http/http-function.js';
import { getJob, jobView } from '../shared/jobs/store.js';
import { requestRfmRun } from '../shared/usecases/rfm.js';

const deps = createDeps();

export const handler = httpFunction(
  jobsRoutes,
  {
    'GET /v1/jobs/{jobId}': async (req, d) => {
      const job = await getJob(d, req.caller.tenantId, req.params.jobId, false);
      if (!job) throw new NotFoundError('No such job.');
      return { body: jobView(job) };
    },
    'POST /v1/jobs/rfm': async (req, d) => ({ body: await requestRfmRun(d, req.caller, req.body.asOf) }),
  },
  deps,
);
