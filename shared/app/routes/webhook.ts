import { WebhookParams } from '../../schemas/shops.js';
import { routesOf } from './access.js';

/** The routes of the `webhook` function (part of the app declaration, `../declaration.ts`). */
export const webhookRoutes = routesOf('webhook', {
  'POST /v1/webhooks/shops/{shopId}': {
    auth: 'signature',
    roles: [],
    summary: 'Shop webhook (generic, Shopify, WooCommerce, Youzan); the signature is the authentication',
    tags: ['webhooks'],
    params: WebhookParams,
    success: { status: 200, description: 'recorded, duplicate or ignored' },
    errors: [401],
  },
});
