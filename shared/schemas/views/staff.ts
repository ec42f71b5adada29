import * as z from 'zod/mini';
import '../../zod.js';
import { Id } from '../common.js';
import { Platform, StaffStatus } from '../staff.js';
import { InstantOut, listOf } from './common.js';

/** Answers of the staff and accounts routes (OpenAPI only: see `./common.ts`). */

export const StaffView = z
  .object({
    id: Id,
    name: z.string(),
    status: StaffStatus(),
    createdAt: InstantOut,
    updatedAt: InstantOut,
  })
  .register(z.globalRegistry, { id: 'Staff' });
export const StaffList = listOf(StaffView);

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
export const AccountList = listOf(AccountView);
