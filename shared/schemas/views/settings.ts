import * as z from 'zod/mini';
import '../../zod.js';
import { Currency, LoyalMinOrders, TimeZone, WindowDays } from '../settings.js';

/** The settings answer (OpenAPI only: see `./common.ts`); `../settings.ts` takes its type from it. */

export const Settings = z
  .object({
    timezone: TimeZone,
    currency: Currency,
    rfm: z.strictObject({ windowDays: WindowDays() }),
    lifecycle: z.strictObject({
      loyalMinOrders: LoyalMinOrders(),
      loyalWithinDays: WindowDays(),
    }),
  })
  .register(z.globalRegistry, { id: 'Settings' });
