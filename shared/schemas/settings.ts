import * as z from 'zod';
import { isCurrency, isTimeZone } from '../domain/locale.js';

export const TimeZone = z.string().refine(isTimeZone, 'an IANA time zone such as Asia/Shanghai');
export const Currency = z.string().refine(isCurrency, 'an ISO 4217 currency code such as CNY');

export const Settings = z
  .object({
    timezone: TimeZone,
    currency: Currency,
    rfm: z.strictObject({ windowDays: z.number().int().min(1).max(3660) }),
    lifecycle: z.strictObject({
      loyalMinOrders: z.number().int().min(2).max(1000),
      loyalWithinDays: z.number().int().min(1).max(3660),
    }),
  })
  .meta({ id: 'Settings' });

export type Settings = z.infer<typeof Settings>;

/** PUT body: fields left out keep their current value. */
export const SettingsInput = z
  .strictObject({
    timezone: TimeZone.optional(),
    currency: Currency.optional(),
    rfm: z.strictObject({ windowDays: z.number().int().min(1).max(3660) }).optional(),
    lifecycle: z
      .strictObject({
        loyalMinOrders: z.number().int().min(2).max(1000).optional(),
        loyalWithinDays: z.number().int().min(1).max(3660).optional(),
      })
      .optional(),
  })
  .meta({ id: 'SettingsInput' });

export const defaultSettings: Settings = {
  timezone: 'Asia/Shanghai',
  currency: 'CNY',
  rfm: { windowDays: 365 },
  lifecycle: { loyalMinOrders: 4, loyalWithinDays: 180 },
};
