import { createDeps } from '../shared/app/deps.js';
import { settingsRoutes } from '../shared/app/routes/settings.js';
import { httpFunction } from '../shared/http/http-function.js';
import { getSettings, updateSettings } from '../shared/usecases/settings.js';

const deps = createDeps();

export const handler = httpFunction(
  settingsRoutes,
  {
    'GET /v1/settings': async (req, d) => ({ body: await getSettings(d, req.caller.tenantId) }),
    'PUT /v1/settings': async (req, d) => ({ body: await updateSettings(d, req.caller.tenantId, req.body) }),
  },
  deps,
);
