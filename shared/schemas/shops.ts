import * as z from 'zod';
import { GenericOrder } from '../domain/webhooks/platforms.js';
import { Id, InstantOut, Pagination } from './common.js';

export const ShopPlatform = z.enum(['generic', 'shopify', 'woocommerce', 'youzan']);
const Secret = z.string().min(8).max(256);

export const ShopInput = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    platform: ShopPlatform,
    secret: Secret.optional(),
    clientId: z.string().min(1).max(128).optional(),
    defaultOwnerStaffId: Id.optional(),
  })
  .superRefine((shop, ctx) => {
    if (shop.platform !== 'generic' && !shop.secret) {
      ctx.addIssue({ code: 'custom', path: ['secret'], message: `required for ${shop.platform}` });
    }
    if (shop.platform === 'generic' && shop.secret) {
      ctx.addIssue({ code: 'custom', path: ['secret'], message: 'generated for generic shops' });
    }
    if (shop.platform === 'youzan' && !shop.clientId) {
      ctx.addIssue({ code: 'custom', path: ['clientId'], message: 'required for youzan' });
    }
  })
  .meta({ id: 'ShopInput' });

export const ShopPatch = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    enabled: z.boolean().optional(),
    defaultOwnerStaffId: Id.nullable().optional(),
  })
  .meta({ id: 'ShopPatch' });

export const ShopView = z
  .object({
    id: Id,
    name: z.string(),
    platform: ShopPlatform,
    enabled: z.boolean(),
    clientId: z.string().optional(),
    defaultOwnerStaffId: z.string().optional(),
    webhookUrl: z.string(),
    createdAt: InstantOut,
    updatedAt: InstantOut,
  })
  .meta({ id: 'Shop' });

/** Only the create and rotate answers carry the secret, once. */
export const ShopWithSecret = ShopView.extend({ secret: z.string().optional() }).meta({
  id: 'ShopWithSecret',
});
export const RotateSecretInput = z.strictObject({ secret: Secret.optional() });
export const RotatedSecret = z.object({ secret: z.string(), previousValidUntil: InstantOut.nullable() });
export const ShopList = z.object({ items: z.array(ShopView), nextCursor: z.string().nullable() });
export const ShopParams = z.strictObject({ id: Id });
export const WebhookParams = z.strictObject({ shopId: z.string().min(1).max(128) });
export const ShopQuery = Pagination.strict();

export const Delivery = z.object({
  time: InstantOut,
  deliveryId: z.string().nullable(),
  topic: z.string(),
  status: z.enum(['recorded', 'duplicate', 'ignored']),
  reason: z.string().optional(),
});
export const DeliveryList = z.object({ items: z.array(Delivery), nextCursor: z.string().nullable() });

export const WebhookAnswer = z.union([
  z.object({ status: z.enum(['recorded', 'duplicate', 'ignored']), reason: z.string().optional() }),
  z.object({ code: z.literal(0), msg: z.literal('success') }),
]);

export const OrderView = z
  .object({
    id: z.string(),
    shopId: z.string().optional(),
    externalOrderId: z.string(),
    total: z.string(),
    currency: z.string(),
    paidAt: InstantOut,
    refunds: z.array(z.object({ id: z.string(), amount: z.string(), refundedAt: InstantOut })),
    net: z.string(),
    counted: z.boolean(),
  })
  .meta({ id: 'Order' });
export const OrderList = z.object({ items: z.array(OrderView), nextCursor: z.string().nullable() });
export const OrderParams = z.strictObject({ orderId: z.string().min(1).max(128) });
export const OrderBatch = z.strictObject({
  shopId: Id.optional(),
  orders: z.array(z.unknown()).min(1).max(500),
});
export const OrderBatchResult = z.object({
  results: z.array(
    z.object({
      id: z.string(),
      status: z.enum(['recorded', 'duplicate', 'error']),
      error: z.string().optional(),
    }),
  ),
});
export { GenericOrder };
