import * as z from 'zod/mini';
import '../zod.js';
import { Id, InstantOut, Pagination } from './common.js';

export const ShopPlatform = z.enum(['generic', 'shopify', 'woocommerce', 'youzan']);
const Secret = z.string().check(z.minLength(8), z.maxLength(256));
const Name = () => z.string().check(z.trim(), z.minLength(1), z.maxLength(200));

export const ShopInput = z
  .strictObject({
    name: Name(),
    platform: ShopPlatform,
    secret: z.optional(Secret),
    clientId: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
    defaultOwnerStaffId: z.optional(Id),
  })
  .check(
    z.superRefine((shop, ctx) => {
      if (shop.platform !== 'generic' && !shop.secret) {
        ctx.addIssue({ code: 'custom', path: ['secret'], message: `required for ${shop.platform}` });
      }
      if (shop.platform === 'generic' && shop.secret) {
        ctx.addIssue({ code: 'custom', path: ['secret'], message: 'generated for generic shops' });
      }
      if (shop.platform === 'youzan' && !shop.clientId) {
        ctx.addIssue({ code: 'custom', path: ['clientId'], message: 'required for youzan' });
      }
    }),
  )
  .register(z.globalRegistry, { id: 'ShopInput' });

export const ShopPatch = z
  .strictObject({
    name: z.optional(Name()),
    enabled: z.optional(z.boolean()),
    defaultOwnerStaffId: z.optional(z.nullable(Id)),
  })
  .register(z.globalRegistry, { id: 'ShopPatch' });

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
export const RotateSecretInput = z.strictObject({ secret: z.optional(Secret) });
export const RotatedSecret = z.object({ secret: z.string(), previousValidUntil: z.nullable(InstantOut) });
export const ShopList = z.object({ items: z.array(ShopView), nextCursor: z.nullable(z.string()) });
export const ShopParams = z.strictObject({ id: Id });
export const WebhookParams = z.strictObject({ shopId: z.string().check(z.minLength(1), z.maxLength(128)) });
export const ShopQuery = z.strictObject(Pagination.shape);

export const Delivery = z.object({
  time: InstantOut,
  deliveryId: z.nullable(z.string()),
  topic: z.string(),
  status: z.enum(['recorded', 'duplicate', 'ignored']),
  reason: z.optional(z.string()),
});
export const DeliveryList = z.object({ items: z.array(Delivery), nextCursor: z.nullable(z.string()) });

export const WebhookAnswer = z.union([
  z.object({ status: z.enum(['recorded', 'duplicate', 'ignored']), reason: z.optional(z.string()) }),
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
export const OrderList = z.object({ items: z.array(OrderView), nextCursor: z.nullable(z.string()) });
export const OrderParams = z.strictObject({ orderId: z.string().check(z.minLength(1), z.maxLength(128)) });
export const OrderBatch = z.strictObject({
  shopId: z.optional(Id),
  orders: z.array(z.unknown()).check(z.minLength(1), z.maxLength(500)),
});
export const OrderBatchResult = z.object({
  results: z.array(
    z.object({
      id: z.string(),
      status: z.enum(['recorded', 'duplicate', 'error']),
      error: z.optional(z.string()),
    }),
  ),
});
