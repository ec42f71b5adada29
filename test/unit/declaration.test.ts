import { describe, expect, it } from 'vitest';
import { functions, routes, routeTables } from '../../shared/app/declaration.js';

describe('app declaration', () => {
  it("is the union of the functions' route tables, each route declared once, by its own function", () => {
    const seen = new Map<string, string>();
    for (const [fn, table] of Object.entries(routeTables)) {
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
