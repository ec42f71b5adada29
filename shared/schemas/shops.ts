import * as z from 'zod/mini';
import '../zod.js';
import { Id, Pagination } from './common.js';

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

export const RotateSecretInput = z.strictObject({ secret: z.optional(Secret) });
export const ShopParams = z.strictObject({ id: Id });
export const WebhookParams = z.strictObject({ shopId: z.string().check(z.minLength(1), z.maxLength(128)) });
export const ShopQuery = z.strictObject(Pagination.shape);

export const OrderParams = z.strictObject({ orderId: z.string().check(z.minLength(1), z.maxLength(128)) });
export const OrderBatch = z.strictObject({
  shopId: z.optional(Id),
  orders: z.array(z.unknown()).check(z.minLength(1), z.maxLength(500)),
});
