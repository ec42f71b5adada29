import * as z from 'zod/mini';
import { CHANNELS, HOOKS, NONE, SEGMENTS, STAGES } from '../domain/contact.js';
import { normaliseEmail, normalisePhone } from '../domain/phone.js';
import '../zod.js';
import { Id, Instant, Pagination } from './common.js';

const notNone = (s: string) => s.trim().toLowerCase() !== NONE;
const Text = (max: number) => z.string().check(z.trim(), z.minLength(1), z.maxLength(max));
const FreeText = (max: number) => Text(max).check(z.refine(notNone, `"${NONE}" is reserved`));

export const Phone = z.pipe(
  z.string().check(z.maxLength(32)),
  z.transform((value: string, ctx) => {
    const phone = normalisePhone(value);
    if (!phone) {
      ctx.issues.push({
        code: 'custom',
        message: 'an E.164 number or an 11-digit Chinese mobile number',
        input: value,
      });
      return z.NEVER;
    }
    return phone;
  }),
);
export const Email = z.pipe(z.email().check(z.maxLength(254)), z.transform(normaliseEmail));
export const Tag = FreeText(64).check(z.refine((t) => !t.includes('/'), 'no "/" in a tag'));
export const Tags = z.array(Tag).check(z.maxLength(50));
export const ContactStatus = () => z.enum(['active', 'lost']);

export const ContactInput = z
  .strictObject({
    id: z.optional(Id),
    name: Text(200),
    phone: z.optional(Phone),
    email: z.optional(Email),
    wechatId: z.optional(Text(64)),
    externalId: z.optional(Text(128)),
    accountId: z.optional(Id),
    ownerStaffId: z.optional(Id),
    channel: z.enum(CHANNELS),
    channelDetail: z.optional(FreeText(64)),
    hook: z.optional(z.enum(HOOKS)),
    tags: z.optional(Tags),
    status: z.optional(ContactStatus()),
    addedAt: z.optional(Instant),
  })
  .register(z.globalRegistry, { id: 'ContactInput' });

export const ContactPatch = z
  .strictObject({
    name: z.optional(Text(200)),
    phone: z.optional(z.nullable(Phone)),
    email: z.optional(z.nullable(Email)),
    wechatId: z.optional(z.nullable(Text(64))),
    tags: z.optional(Tags),
    accountId: z.optional(z.nullable(Id)),
    ownerStaffId: z.optional(z.nullable(Id)),
    channel: z.optional(z.enum(CHANNELS)),
    channelDetail: z.optional(z.nullable(FreeText(64))),
    hook: z.optional(z.nullable(z.enum(HOOKS))),
    status: z.optional(ContactStatus()),
  })
  .register(z.globalRegistry, { id: 'ContactPatch' });

export const ContactQuery = z.strictObject({
  ...Pagination.shape,
  segment: z.optional(z.enum([...SEGMENTS, NONE])),
  stage: z.optional(z.enum(STAGES)),
  tag: z.optional(Tag),
  owner: z.optional(Id),
  account: z.optional(Id),
  channel: z.optional(z.enum(CHANNELS)),
  hook: z.optional(z.enum([...HOOKS, NONE])),
  status: z.optional(ContactStatus()),
  q: z.optional(Text(100)),
});

export const ContactBatch = z.strictObject({
  contacts: z.array(z.unknown()).check(z.minLength(1), z.maxLength(500)),
});
export const ContactTagParams = z.strictObject({
  id: Id,
  tag: z.string().check(z.minLength(1), z.maxLength(64)),
});
export const TagsInput = z.strictObject({ tags: Tags.check(z.minLength(1)) });
