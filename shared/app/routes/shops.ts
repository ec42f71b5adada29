import { RotateSecretInput, ShopInput, ShopParams, ShopPatch, ShopQuery } from '../../schemas/shops.js';
import { jwt, routesOf } from './access.js';

/** The routes of the `shops` function (part of the app declaration, `../declaration.ts`). */
export const shopsRoutes = routesOf('shops', {
  'POST /v1/shops': {
    ...jwt(['admin']),
    summary: 'Connect a shop; a generic shop gets its secret in this answer only',
    tags: ['shops'],
    body: ShopInput,
    success: { status: 201 },
  },
  'GET /v1/shops': {
    ...jwt(['admin']),
    summary: 'List shops (never their secrets)',
    tags: ['shops'],
    query: ShopQuery,
    success: { status: 200 },
  },
  'GET /v1/shops/{id}': {
    ...jwt(['admin']),
    summary: 'A shop (never its secret)',
    tags: ['shops'],
    params: ShopParams,
    success: { status: 200 },
    errors: [404],
  },
  'PATCH /v1/shops/{id}': {
    ...jwt(['admin']),
    summary: 'Rename, enable or disable a shop, or set its default owner',
    tags: ['shops'],
    params: ShopParams,
    body: ShopPatch,
    success: { status: 200 },
    errors: [404],
  },
  'POST /v1/shops/{id}/rotate-secret': {
    ...jwt(['admin']),
    summary: 'Replace the secret; the previous one keeps working for 24 h',
    tags: ['shops'],
    params: ShopParams,
    body: RotateSecretInput,
    success: { status: 200 },
    errors: [404],
  },
  'GET /v1/shops/{id}/deliveries': {
    ...jwt(['admin']),
    summary: "The shop's latest webhook deliveries, newest first",
    tags: ['shops'],
    params: ShopParams,
    query: ShopQuery,
    success: { status: 200 },
    errors: [404],
  },
});
