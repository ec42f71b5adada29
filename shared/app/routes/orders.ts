import { ContactParams } from '../../schemas/common.js';
import { OrderBatch, OrderParams } from '../../schemas/shops.js';
import { jwt, routesOf } from './access.js';

/** The routes of the `orders` function (part of the app declaration, `../declaration.ts`). */
export const ordersRoutes = routesOf('orders', {
  'GET /v1/contacts/{id}/orders': {
    ...jwt(['admin', 'staff']),
    summary: "A contact's orders, newest first",
    tags: ['orders'],
    params: ContactParams,
    success: { status: 200 },
    errors: [404],
  },
  'GET /v1/orders/{orderId}': {
    ...jwt(['admin', 'staff']),
    summary: 'An order with its refunds, net and whether it counts',
    tags: ['orders'],
    params: OrderParams,
    success: { status: 200 },
    errors: [404],
  },
  'POST /v1/orders/batch': {
    ...jwt(['admin']),
    summary: 'History import of up to 500 generic orders (with `shopId`, deduped against its webhooks)',
    tags: ['orders'],
    body: OrderBatch,
    success: { status: 200 },
    errors: [404],
  },
});
