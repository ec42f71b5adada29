import type * as z from 'zod/mini';
import { Health, JsonDocument } from '../schemas/views/common.js';
import { ContactBatchResult, ContactList, ContactView } from '../schemas/views/contacts.js';
import { Job, JobAccepted, SegmentsView } from '../schemas/views/jobs.js';
import { CompareResult, FunnelResult } from '../schemas/views/metrics.js';
import { InsightsView, PostingPlanView, PostList, PostView, ReminderList } from '../schemas/views/posting.js';
import { Settings } from '../schemas/views/settings.js';
import {
  DeliveryList,
  OrderBatchResult,
  OrderList,
  OrderView,
  RotatedSecret,
  ShopList,
  ShopView,
  ShopWithSecret,
  WebhookAnswer,
} from '../schemas/views/shops.js';
import { AccountList, AccountView, StaffList, StaffView } from '../schemas/views/staff.js';
import type { RouteKey, routes } from './declaration.js';

/** The routes whose success answer has a body: every route but those answering 204. */
type AnsweringRouteKey = {
  [K in RouteKey]: (typeof routes)[K]['success']['status'] extends 204 ? never : K;
}[RouteKey];

/**
 * Each route's success body, for the OpenAPI document: the one module that imports the response
 * schemas (`../schemas/views/`), and only `openapi.ts` imports it, so no function bundle builds
 * them (handlers' answers are typed `unknown`; nothing parses them). The compiler rejects a key
 * that is not a route, a 204 route, and a route with a body left out.
 */
export const responses = {
  'GET /v1/health': Health,
  'GET /v1/openapi.json': JsonDocument,
  'GET /v1/events.json': JsonDocument,

  'GET /v1/settings': Settings,
  'PUT /v1/settings': Settings,

  'POST /v1/staff': StaffView,
  'GET /v1/staff': StaffList,
  'GET /v1/staff/{id}': StaffView,
  'PATCH /v1/staff/{id}': StaffView,
  'POST /v1/staff/{id}/handover': JobAccepted,
  'POST /v1/accounts': AccountView,
  'GET /v1/accounts': AccountList,
  'GET /v1/accounts/{id}': AccountView,
  'PATCH /v1/accounts/{id}': AccountView,

  'POST /v1/contacts': ContactView,
  'POST /v1/contacts/batch': ContactBatchResult,
  'GET /v1/contacts': ContactList,
  'GET /v1/contacts/{id}': ContactView,
  'PATCH /v1/contacts/{id}': ContactView,
  'POST /v1/contacts/{id}/tags': ContactView,
  'DELETE /v1/contacts/{id}/tags/{tag}': ContactView,

  'GET /v1/contacts/{id}/orders': OrderList,
  'GET /v1/orders/{orderId}': OrderView,
  'POST /v1/orders/batch': OrderBatchResult,

  'POST /v1/shops': ShopWithSecret,
  'GET /v1/shops': ShopList,
  'GET /v1/shops/{id}': ShopView,
  'PATCH /v1/shops/{id}': ShopView,
  'POST /v1/shops/{id}/rotate-secret': RotatedSecret,
  'GET /v1/shops/{id}/deliveries': DeliveryList,

  'POST /v1/webhooks/shops/{shopId}': WebhookAnswer,

  'GET /v1/metrics/funnel': FunnelResult,
  'GET /v1/metrics/funnel/compare': CompareResult,
  'GET /v1/segments': SegmentsView,

  'POST /v1/jobs/rfm': JobAccepted,
  'GET /v1/jobs/{jobId}': Job,

  'GET /v1/accounts/{id}/posting-plan': PostingPlanView,
  'PUT /v1/accounts/{id}/posting-plan': PostingPlanView,
  'POST /v1/posts': PostView,
  'PATCH /v1/posts/{id}': PostView,
  'GET /v1/posts': PostList,
  'GET /v1/reminders': ReminderList,
  'GET /v1/posting/insights': InsightsView,
} as const satisfies { readonly [K in AnsweringRouteKey]: z.ZodMiniType };

/** The success body schema of a route, none for a 204. */
export function responseOf(routeKey: string): z.ZodMiniType | undefined {
  return Object.hasOwn(responses, routeKey) ? responses[routeKey as AnsweringRouteKey] : undefined;
}
