import * as z from 'zod/mini';
import { isCurrency, isTimeZone } from '../domain/locale.js';
import { int } from '../zod.js';

export const TimeZone = z.string().check(z.refine(isTimeZone, 'an IANA time zone such as Asia/Shanghai'));
export const Currency = z.string().check(z.refine(isCurrency, 'an ISO 4217 currency code such as CNY'));

const WindowDays = () => int().check(z.minimum(1), z.maximum(3660));
const LoyalMinOrders = () => int().check(z.minimum(2), z.maximum(1000));

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

export type Settings = z.infer<typeof Settings>;

/** PUT body: fields left out keep their current value. */
export const SettingsInput = z
  .strictObject({
    timezone: z.optional(TimeZone),
    currency: z.optional(Currency),
    rfm: z.optional(z.strictObject({ windowDays: WindowDays() })),
    lifecycle: z.optional(
      z.strictObject({
        loyalMinOrders: z.optional(LoyalMinOrders()),
        loyalWithinDays: z.optional(WindowDays()),
      }),
    ),
  })
  .register(z.globalRegistry, { id: 'SettingsInput' });

export { defaultSettings } from './default-settings.js';
