import { createDeps } from '../shared/app/deps.js';
import { ordersRoutes } from '../shared/app/routes/orders.js';
import { visibleContact } from '../shared/db/contact-store.js';
import { readSettings } from '../shared/db/tenant-store.js';
import { httpFunction } from '../shared/http/http-function.js';
import { getOrder, listContactOrders } from '../shared/usecases/orders.js';
import { importOrders } from '../shared/usecases/webhooks.js';

const deps = createDeps();

export const handler = httpFunction(
  ordersRoutes,
  {
    'GET /v1/contacts/{id}/orders': async (req, d) => {
      const contact = await visibleContact(d, req.caller, req.params.id);
      const { currency } = (await readSettings(d, req.caller.tenantId)).settings;
      return { body: await listContactOrders(d, contact, currency) };
    },
    'GET /v1/orders/{orderId}': async (req, d) => ({
      body: await getOrder(d, req.caller, req.params.orderId),
    }),
    'POST /v1/orders/batch': async (req, d) => ({
      body: { results: await importOrders(d, req.caller, req.body, req.remainingMs) },
    }),
  },
  deps,
);
