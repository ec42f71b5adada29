import * as z from 'zod/mini';
import { isCurrency, isTimeZone } from '../domain/locale.js';
import { int } from '../zod.js';
import type { Settings as SettingsView } from './views/settings.js';

export const TimeZone = z.string().check(z.refine(isTimeZone, 'an IANA time zone such as Asia/Shanghai'));
export const Currency = z.string().check(z.refine(isCurrency, 'an ISO 4217 currency code such as CNY'));

export const WindowDays = () => int().check(z.minimum(1), z.maximum(3660));
export const LoyalMinOrders = () => int().check(z.minimum(2), z.maximum(1000));

/**
 * A tenant's settings, as stored and as `GET /v1/settings` answers them; the schema is a view
 * (`./views/settings.ts`), which only the OpenAPI document builds.
 */
export type Settings = z.infer<typeof SettingsView>;

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
