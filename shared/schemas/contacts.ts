import * as z from 'zod';
import { CHANNELS, HOOKS, NONE, SEGMENTS, STAGES } from '../domain/contact.js';
import { normaliseEmail, normalisePhone } from '../domain/phone.js';
import { Id, Instant, InstantOut, Pagination } from './common.js';

const notNone = (s: string) => s.trim().toLowerCase() !== NONE;
const FreeText = (max: number) => z.string().trim().min(1).max(max).refine(notNone, `"${NONE}" is reserved`);

export const Phone = z
  .string()
  .max(32)
  .transform((value, ctx) => {
    const phone = normalisePhone(value);
    if (!phone) {
      ctx.addIssue({ code: 'custom', message: 'an E.164 number or an 11-digit Chinese mobile number' });
      return z.NEVER;
    }
    return phone;
  });
export const Email = z.email().max(254).transform(normaliseEmail);
export const Tag = FreeText(64).refine((t) => !t.includes('/'), 'no "/" in a tag');
export const Tags = z.array(Tag).max(50);

export const ContactInput = z
  .strictObject({
    id: Id.optional(),
    name: z.string().trim().min(1).max(200),
    phone: Phone.optional(),
    email: Email.optional(),
    wechatId: z.string().trim().min(1).max(64).optional(),
    externalId: z.string().trim().min(1).max(128).optional(),
    accountId: Id.optional(),
    ownerStaffId: Id.optional(),
    channel: z.enum(CHANNELS),
    channelDetail: FreeText(64).optional(),
    hook: z.enum(HOOKS).optional(),
    tags: Tags.optional(),
    status: z.enum(['active', 'lost']).optional(),
    addedAt: Instant.optional(),
  })
  .meta({ id: 'ContactInput' });

export const ContactPatch = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    phone: Phone.nullable().optional(),
    email: Email.nullable().optional(),
    wechatId: z.string().trim().min(1).max(64).nullable().optional(),
    tags: Tags.optional(),
    accountId: Id.nullable().optional(),
    ownerStaffId: Id.nullable().optional(),
    channel: z.enum(CHANNELS).optional(),
    channelDetail: FreeText(64).nullable().optional(),
    hook: z.enum(HOOKS).nullable().optional(),
    status: z.enum(['active', 'lost']).optional(),
  })
  .meta({ id: 'ContactPatch' });

export const ContactView = z
  .object({
    id: Id,
    name: z.string(),
    phone: z.string().optional(),
    email: z.string().optional(),
    wechatId: z.string().optional(),
    externalId: z.string().optional(),
    accountId: z.string().optional(),
    ownerStaffId: z.string().optional(),
    channel: z.enum(CHANNELS),
    channelDetail: z.string().optional(),
    hook: z.enum(HOOKS).optional(),
    tags: z.array(z.string()),
    status: z.enum(['active', 'lost']),
    addedAt: InstantOut,
    lostAt: InstantOut.optional(),
    stage: z.enum(STAGES),
    stats: z.object({
      orders: z.number().int(),
      spent: z.string(),
      firstOrderAt: InstantOut.optional(),
      lastOrderAt: InstantOut.optional(),
    }),
    rfm: z
      .object({
        r: z.number().int().nullable(),
        f: z.number().int().nullable(),
        m: z.number().int().nullable(),
        recencyDays: z.number().int().nullable(),
        frequency: z.number().int().nullable(),
        monetary: z.string().nullable(),
        segment: z.enum([...SEGMENTS, NONE]),
        computedAt: InstantOut,
      })
      .optional(),
  })
  .meta({ id: 'Contact' });

export const ContactList = z.object({ items: z.array(ContactView), nextCursor: z.string().nullable() });

export const ContactQuery = Pagination.extend({
  segment: z.enum([...SEGMENTS, NONE]).optional(),
  stage: z.enum(STAGES).optional(),
  tag: Tag.optional(),
  owner: Id.optional(),
  account: Id.optional(),
  channel: z.enum(CHANNELS).optional(),
  hook: z.enum([...HOOKS, NONE]).optional(),
  status: z.enum(['active', 'lost']).optional(),
  q: z.string().trim().min(1).max(100).optional(),
}).strict();

export const ContactBatch = z.strictObject({ contacts: z.array(z.unknown()).min(1).max(500) });
export const ContactBatchResult = z.object({
  results: z.array(
    z.object({
      index: z.number().int(),
      id: z.string().optional(),
      status: z.enum(['created', 'exists', 'error']),
      error: z.string().optional(),
    }),
  ),
});

export const ContactParams = z.strictObject({ id: Id });
export const ContactTagParams = z.strictObject({ id: Id, tag: z.string().min(1).max(64) });
export const TagsInput = z.strictObject({ tags: Tags.min(1) });
