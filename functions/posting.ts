import { createDeps } from '../shared/app/deps.js';
import { postingRoutes } from '../shared/app/routes/posting.js';
import { httpFunction } from '../shared/http/http-function.js';
import {
  createPost,
  getPostingInsights,
  getPostingPlan,
  listPosts,
  listReminders,
  patchPost,
  putPostingPlan,
} from '../shared/usecases/posting.js';

const deps = createDeps();

export const handler = httpFunction(
  postingRoutes,
  {
    'GET /v1/accounts/{id}/posting-plan': async (req, d) => ({
      body: await getPostingPlan(d, req.caller, req.params.id),
    }),
    'PUT /v1/accounts/{id}/posting-plan': async (req, d) => ({
      body: await putPostingPlan(d, req.caller, req.params.id, req.body),
    }),
    'POST /v1/posts': async (req, d) => ({ body: await createPost(d, req.caller, req.body) }),
    'PATCH /v1/posts/{id}': async (req, d) => ({
      body: await patchPost(d, req.caller, req.params.id, req.body),
    }),
    'GET /v1/posts': async (req, d) => ({ body: await listPosts(d, req.caller, req.query) }),
    'GET /v1/reminders': async (req, d) => ({ body: await listReminders(d, req.caller, req.query) }),
    'GET /v1/posting/insights': async (req, d) => ({
      body: await getPostingInsights(d, req.caller, req.query),
    }),
  },
  deps,
);
