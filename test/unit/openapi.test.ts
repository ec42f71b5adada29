import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { routes } from '../../shared/app/declaration.js';
import { buildEventSchemas, buildOpenApi } from '../../shared/app/openapi.js';
import { responses } from '../../shared/app/responses.js';
import { publicEvents } from '../../shared/events/catalog.js';

describe('OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();

    const result = await validator.validate(buildOpenApi() as never);

    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('documents every declared route with its method, roles, success status and success body', () => {
    const doc = buildOpenApi() as { paths: Record<string, Record<string, Record<string, unknown>>> };

    for (const [routeKey, route] of Object.entries(routes)) {
      const [method, path] = routeKey.split(' ') as [string, string];
      const operation = doc.paths[path]?.[method.toLowerCase()];
      expect(operation, routeKey).toBeDefined();
      const documented = operation!.responses as Record<
        string,
        { content?: Record<string, { schema?: unknown }> }
      >;
      expect(Object.keys(documented)).toContain(String(route.success.status));
      const success = documented[String(route.success.status)]!;
      if (route.success.status === 204) expect(success.content, routeKey).toBeUndefined();
      else expect(success.content?.['application/json']?.schema, routeKey).toBeDefined();
      if (route.auth === 'jwt') expect(operation!['x-siyu-roles']).toEqual(route.roles);
    }
  });

  it('has a success body schema for exactly the routes that answer with a body', () => {
    const answering = Object.entries(routes)
      .filter(([, route]) => route.success.status !== 204)
      .map(([routeKey]) => routeKey);

    expect(Object.keys(responses).sort()).toEqual(answering.sort());
  });

  it("publishes each public event's data schema", () => {
    const doc = buildEventSchemas() as { events: Record<string, { data: { type: string } }> };

    expect(Object.keys(doc.events).sort()).toEqual(publicEvents.map((e) => e.detailType).sort());
    expect(doc.events.SegmentChanged?.data.type).toBe('object');
  });
});
