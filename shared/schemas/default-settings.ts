import type { Settings } from './settings.js';

/**
 * A tenant's settings until it changes them. A module of its own, with no schema in it, so reading
 * settings (every staff request's role check reads the tenant store) builds no settings schema.
 */
export const defaultSettings: Settings = {
  timezone: 'Asia/Shanghai',
  currency: 'CNY',
  rfm: { windowDays: 365 },
  lifecycle: { loyalMinOrders: 4, loyalWithinDays: 180 },
};
