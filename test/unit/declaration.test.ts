import { describe, expect, it } from 'vitest';
import { functions, routes } from '../../shared/app/declaration.js';
import { contactsRoutes } from '../../shared/app/routes/contacts.js';
import { jobsRoutes } from '../../shared/app/routes/jobs.js';
import { metricsRoutes } from '../../shared/app/routes/metrics.js';
import { ordersRoutes } from '../../shared/app/routes/orders.js';
import { postingRoutes } from '../../shared/app/routes/posting.js';
import { settingsRoutes } from '../../shared/app/routes/settings.js';
import { shopsRoutes } from '../../shared/app/routes/shops.js';
import { staffRoutes } from '../../shared/app/routes/staff.js';
import { systemRoutes } from '../../shared/app/routes/system.js';
import { webhookRoutes } from '../../shared/app/routes/webhook.js';

const tables = {
  system: systemRoutes,
  settings: settingsRoutes,
  staff: staffRoutes,
  contacts: contactsRoutes,
  orders: ordersRoutes,
  shops: shopsRoutes,
  webhook: webhookRoutes,
  metrics: metricsRoutes,
  jobs: jobsRoutes,
  posting: postingRoutes,
};

describe('app declaration', () => {
  it("is the union of the functions' route tables, each route declared once, by its own function", () => {
    const seen = new Map<string, string>();
    for (const [fn, table] of Object.entries(tables)) {
      expect(Object.hasOwn(functions, fn), fn).toBe(true);
      for (const [routeKey, route] of Object.entries(table)) {
        expect(route.fn, routeKey).toBe(fn);
        expect(seen.get(routeKey), `${routeKey} is declared twice`).toBeUndefined();
        seen.set(routeKey, fn);
        expect(routes[routeKey as keyof typeof routes], routeKey).toBe(route);
      }
    }
    expect([...seen.keys()].sort()).toEqual(Object.keys(routes).sort());
  });
});
