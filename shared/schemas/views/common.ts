import * as z from 'zod/mini';
import { int } from '../../zod.js';

/**
 * Response ("view") schemas: what the API answers, for the OpenAPI document only. They live apart
 * from the request schemas (`shared/schemas/*.ts`) because no handler parses an answer: only the
 * OpenAPI generator imports these modules (`shared/app/responses.ts`, and `shared/app/openapi.ts`
 * for `Problem`), so no function bundle builds them at cold start. A view module may import
 * request schemas (shared parts such as `Id`); a runtime module never imports a view module (a
 * type-only import, such as `Settings` in `../settings.ts`, is erased).
 */

export const InstantOut = z.string().check(z.describe('RFC 3339, UTC (Z)'));

/** Every error answer (`application/problem+json`, written by `shared/http/problem.ts`). */
export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: int(),
    detail: z.string(),
    errors: z.optional(z.array(z.object({ path: z.string(), message: z.string() }))),
  })
  .register(z.globalRegistry, { id: 'Problem', description: 'RFC 9457 problem details' });

/** A page of a list: its items and the cursor of the next page (null on the last). */
export const listOf = <T extends z.ZodMiniType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.nullable(z.string()) });

export const Health = z.object({ status: z.literal('ok') });

/** A JSON document served as is (the OpenAPI document, the event schemas). */
export const JsonDocument = z.record(z.string(), z.unknown());
