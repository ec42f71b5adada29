import * as z from 'zod/mini';
import './zod.js';

/**
 * Parses `process.env` once with a schema; a missing or bad variable fails at load (cold start),
 * not in the middle of a request.
 */
export function loadEnv<S extends z.ZodMiniType>(
  schema: S,
  source: NodeJS.ProcessEnv = process.env,
): z.infer<S> {
  const parsed = schema.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid environment: ${problems}`);
  }
  return parsed.data;
}

export const TableEnv = z.object({ TABLE_NAME: z.string().check(z.minLength(1)) });
export const BusEnv = z.object({ EVENT_BUS_NAME: z.string().check(z.minLength(1)) });
