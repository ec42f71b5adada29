import * as z from 'zod';
import { Id, InstantOut, Pagination } from './common.js';

export const StaffInput = z
  .strictObject({ id: Id, name: z.string().trim().min(1).max(200) })
  .meta({ id: 'StaffInput' });
export const StaffPatch = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    status: z.enum(['active', 'left']).optional(),
  })
  .meta({ id: 'StaffPatch' });
export const StaffView = z
  .object({
    id: Id,
    name: z.string(),
    status: z.enum(['active', 'left']),
    createdAt: InstantOut,
    updatedAt: InstantOut,
  })
  .meta({ id: 'Staff' });
export const StaffList = z.object({ items: z.array(StaffView), nextCursor: z.string().nullable() });
export const StaffParams = z.strictObject({ id: Id });
export const StaffQuery = Pagination.strict();
export const HandoverInput = z.strictObject({ toStaffId: Id });

export const Platform = z.enum(['wechat', 'wecom']);
export const AccountInput = z
  .strictObject({
    id: Id.optional(),
    name: z.string().trim().min(1).max(200),
    platform: Platform,
    operatorStaffId: Id,
  })
  .meta({ id: 'AccountInput' });
export const AccountPatch = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    platform: Platform.optional(),
    operatorStaffId: Id.optional(),
  })
  .meta({ id: 'AccountPatch' });
export const AccountView = z
  .object({
    id: Id,
    name: z.string(),
    platform: Platform,
    operatorStaffId: Id,
    createdAt: InstantOut,
    updatedAt: InstantOut,
  })
  .meta({ id: 'Account' });
export const AccountList = z.object({ items: z.array(AccountView), nextCursor: z.string().nullable() });
export const AccountParams = z.strictObject({ id: Id });
