import * as z from 'zod';

/** Client-chosen ids: safe in keys and paths (no `#`, no `/`). */
export const Id = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:@|-]*$/, 'letters, digits and _ . : @ | - only');

export const Instant = z.iso.datetime({ offset: true }).describe('RFC 3339 with offset');
export const InstantOut = z.string().describe('RFC 3339, UTC (Z)');

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details' });

export const Pagination = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().min(1).max(2048).optional(),
});

export const Health = z.object({ status: z.literal('ok') });
