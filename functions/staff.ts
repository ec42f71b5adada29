import { createDeps } from '../shared/app/deps.js';
import { staffRoutes } from '../shared/app/routes/staff.js';
import { httpFunction } from '../shared/http/http-function.js';
import {
  accountView,
  createAccount,
  createStaff,
  getAccount,
  getStaff,
  listAccounts,
  listStaff,
  patchAccount,
  patchStaff,
  staffView,
  startHandover,
} from '../shared/usecases/staff.js';

const deps = createDeps();

export const handler = httpFunction(
  staffRoutes,
  {
    'POST /v1/staff': async (req, d) => ({ body: staffView(await createStaff(d, req.caller, req.body)) }),
    'GET /v1/staff': async (req, d) => ({ body: await listStaff(d, req.caller, req.query) }),
    'GET /v1/staff/{id}': async (req, d) => ({
      body: staffView(await getStaff(d, req.caller, req.params.id)),
    }),
    'PATCH /v1/staff/{id}': async (req, d) => ({
      body: staffView(await patchStaff(d, req.caller, req.params.id, req.body)),
    }),
    'POST /v1/staff/{id}/handover': async (req, d) => ({
      body: await startHandover(d, req.caller, req.params.id, req.body.toStaffId),
    }),
    'POST /v1/accounts': async (req, d) => ({
      body: accountView(await createAccount(d, req.caller, req.body)),
    }),
    'GET /v1/accounts': async (req, d) => ({ body: await listAccounts(d, req.caller, req.query) }),
    'GET /v1/accounts/{id}': async (req, d) => ({
      body: accountView(await getAccount(d, req.caller, req.params.id)),
    }),
    'PATCH /v1/accounts/{id}': async (req, d) => ({
      body: accountView(await patchAccount(d, req.caller, req.params.id, req.body)),
    }),
  },
  deps,
);
