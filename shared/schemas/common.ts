import * as z from 'zod/mini';
import '../zod.js';

/** Client-chosen ids: safe in keys and paths (no `#`, no `/`). */
export const Id = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(128),
    z.regex(/^[A-Za-z0-9][A-Za-z0-9_.:@|-]*$/, 'letters, digits and _ . : @ | - only'),
  );

/** A contact's id in the path: the contacts routes and a contact's orders (which import no contact schema). */
export const ContactParams = z.strictObject({ id: Id });

export const Instant = z.iso.datetime({ offset: true }).check(z.describe('RFC 3339 with offset'));

export const Pagination = z.object({
  limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(200)), 50),
  cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))),
});
