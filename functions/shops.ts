import { createDeps } from '../shared/app/deps.js';
import { shopsRoutes } from '../shared/app/routes/shops.js';
import { httpFunction } from '../shared/http/http-function.js';
import {
  createShop,
  getShop,
  listDeliveries,
  listShops,
  patchShop,
  rotateSecret,
  shopView,
} from '../shared/usecases/shops.js';

const deps = createDeps();

/** The public origin the caller reached us on, for the webhook URL shown to admins. */
const originOf = (headers: Record<string, string>) => {
  const host = headers['x-forwarded-host'] ?? headers.host ?? 'localhost';
  const local = /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(host);
  return `${headers['x-forwarded-proto'] ?? (local ? 'http' : 'https')}://${host}`;
};

export const handler = httpFunction(
  shopsRoutes,
  {
    'POST /v1/shops': async (req, d) => {
      const { shop, secret } = await createShop(d, req.caller, req.body);
      return { body: { ...shopView(shop, originOf(req.headers)), ...(secret ? { secret } : {}) } };
    },
    'GET /v1/shops': async (req, d) => {
      const page = await listShops(d, req.caller, req.query);
      return {
        body: {
          items: page.items.map((s) => shopView(s, originOf(req.headers))),
          nextCursor: page.nextCursor,
        },
      };
    },
    'GET /v1/shops/{id}': async (req, d) => ({
      body: shopView(await getShop(d, req.caller, req.params.id), originOf(req.headers)),
    }),
    'PATCH /v1/shops/{id}': async (req, d) => ({
      body: shopView(await patchShop(d, req.caller, req.params.id, req.body), originOf(req.headers)),
    }),
    'POST /v1/shops/{id}/rotate-secret': async (req, d) => ({
      body: await rotateSecret(d, req.caller, req.params.id, req.body),
    }),
    'GET /v1/shops/{id}/deliveries': async (req, d) => ({
      body: await listDeliveries(d, req.caller, req.params.id, req.query),
    }),
  },
  deps,
);
