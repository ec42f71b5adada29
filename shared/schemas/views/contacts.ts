import * as z from 'zod/mini';
import { CHANNELS, HOOKS, STAGES } from '../../domain/contact.js';
import { RFM_CLASSES } from '../../domain/rfm.js';
import { int } from '../../zod.js';
import { Id } from '../common.js';
import { ContactStatus } from '../contacts.js';
import { InstantOut, listOf } from './common.js';

/** Answers of the contacts routes (OpenAPI only: see `./common.ts`). */

export const ContactView = z
  .object({
    id: Id,
    name: z.string(),
    phone: z.optional(z.string()),
    email: z.optional(z.string()),
    wechatId: z.optional(z.string()),
    externalId: z.optional(z.string()),
    accountId: z.optional(z.string()),
    ownerStaffId: z.optional(z.string()),
    channel: z.enum(CHANNELS),
    channelDetail: z.optional(z.string()),
    hook: z.optional(z.enum(HOOKS)),
    tags: z.array(z.string()),
    status: ContactStatus(),
    addedAt: InstantOut,
    lostAt: z.optional(InstantOut),
    stage: z.enum(STAGES),
    stats: z.object({
      orders: int(),
      spent: z.string(),
      firstOrderAt: z.optional(InstantOut),
      lastOrderAt: z.optional(InstantOut),
    }),
    rfm: z.optional(
      z.object({
        r: z.nullable(int()),
        f: z.nullable(int()),
        m: z.nullable(int()),
        recencyDays: z.nullable(int()),
        frequency: z.nullable(int()),
        monetary: z.nullable(z.string()),
        segment: z.enum(RFM_CLASSES),
        computedAt: InstantOut,
      }),
    ),
  })
  .register(z.globalRegistry, { id: 'Contact' });

export const ContactList = listOf(ContactView);

export const ContactBatchResult = z.object({
  results: z.array(
    z.object({
      index: int(),
      id: z.optional(z.string()),
      status: z.enum(['created', 'exists', 'error']),
      error: z.optional(z.string()),
    }),
  ),
});
