import * as z from 'zod/mini';
import '../../zod.js';
import { Id } from '../common.js';
import { ShopPlatform } from '../shops.js';
import { InstantOut, listOf } from './common.js';

/** Answers of the shops, webhook and orders routes (OpenAPI only: see `./common.ts`). */

export const ShopView = z
  .object({
    id: Id,
    name: z.string(),
    platform: ShopPlatform,
    enabled: z.boolean(),
    clientId: z.optional(z.string()),
    defaultOwnerStaffId: z.optional(z.string()),
    webhookUrl: z.string(),
    createdAt: InstantOut,
    updatedAt: InstantOut,
  })
  .register(z.globalRegistry, { id: 'Shop' });

/** Only the create and rotate answers carry the secret, once. */
export const ShopWithSecret = z
  .extend(ShopView, { secret: z.optional(z.string()) })
  .register(z.globalRegistry, { id: 'ShopWithSecret' });
export const RotatedSecret = z.object({ secret: z.string(), previousValidUntil: z.nullable(InstantOut) });
export const ShopList = listOf(ShopView);

/** What became of a webhook delivery. */
const DeliveryStatus = z.enum(['recorded', 'duplicate', 'ignored']);

const Delivery = z.object({
  time: InstantOut,
  deliveryId: z.nullable(z.string()),
  topic: z.string(),
  status: DeliveryStatus,
  reason: z.optional(z.string()),
});
export const DeliveryList = listOf(Delivery);

export const WebhookAnswer = z.union([
  z.object({ status: DeliveryStatus, reason: z.optional(z.string()) }),
  z.object({ code: z.literal(0), msg: z.literal('success') }),
]);

export const OrderView = z
  .object({
    id: z.string(),
    shopId: z.optional(z.string()),
    externalOrderId: z.string(),
    total: z.string(),
    currency: z.string(),
    paidAt: InstantOut,
    refunds: z.array(z.object({ id: z.string(), amount: z.string(), refundedAt: InstantOut })),
    net: z.string(),
    counted: z.boolean(),
  })
  .register(z.globalRegistry, { id: 'Order' });
export const OrderList = listOf(OrderView);
export const OrderBatchResult = z.object({
  results: z.array(
    z.object({
      id: z.string(),
      status: z.enum(['recorded', 'duplicate', 'error']),
      error: z.optional(z.string()),
    }),
  ),
});
