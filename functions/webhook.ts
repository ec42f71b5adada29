import { createDeps } from '../shared/app/deps.js';
import { webhookRoutes } from '../shared/app/routes/webhook.js';
import { httpFunction } from '../shared/http/http-function.js';
import { receiveWebhook } from '../shared/usecases/webhooks.js';

const deps = createDeps();

export const handler = httpFunction(
  webhookRoutes,
  {
    'POST /v1/webhooks/shops/{shopId}': async (req, d) => {
      const answer = await receiveWebhook(d, req.params.shopId, {
        headers: req.headers,
        rawBody: req.rawBody,
      });
      return { status: answer.status, body: answer.body };
    },
  },
  deps,
);
