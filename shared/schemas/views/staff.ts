import * as z from 'zod/mini';
import '../../zod.js';
import { Id } from '../common.js';
import { Platform } from '../staff.js';
import { InstantOut } from './common.js';

/** Answers of the staff and accounts routes (OpenAPI only: see `./common.ts`). */

export const StaffView = z
  .object({
    id: Id,
    name: z.string(),
    status: z.enum(['active', 'left']),
    createdAt: InstantOut,
    updatedAt: InstantOut,
  })
  .register(z.globalRegistry, { id: 'Staff' });
export const StaffList = z.object({ items: z.array(StaffView), nextCursor: z.nullable(z.string()) });

export const AccountView = z
  .object({
    id: Id,
    name: z.string(),
    platform: Platform,
    operatorStaffId: Id,
    createdAt: InstantOut,
    updatedAt: InstantOut,
  })
  .register(z.globalRegistry, { id: 'Account' });
export const AccountList = z.object({ items: z.array(AccountView), nextCursor: z.nullable(z.string()) });
