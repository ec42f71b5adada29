import * as z from 'zod/mini';
import '../zod.js';
import { Id, Pagination } from './common.js';

const Name = () => z.string().check(z.trim(), z.minLength(1), z.maxLength(200));

export const StaffStatus = () => z.enum(['active', 'left']);

export const StaffInput = z
  .strictObject({ id: Id, name: Name() })
  .register(z.globalRegistry, { id: 'StaffInput' });
export const StaffPatch = z
  .strictObject({
    name: z.optional(Name()),
    status: z.optional(StaffStatus()),
  })
  .register(z.globalRegistry, { id: 'StaffPatch' });
export const StaffParams = z.strictObject({ id: Id });
export const StaffQuery = z.strictObject(Pagination.shape);
export const HandoverInput = z.strictObject({ toStaffId: Id });

export const Platform = z.enum(['wechat', 'wecom']);
export const AccountInput = z
  .strictObject({
    id: z.optional(Id),
    name: Name(),
    platform: Platform,
    operatorStaffId: Id,
  })
  .register(z.globalRegistry, { id: 'AccountInput' });
export const AccountPatch = z
  .strictObject({
    name: z.optional(Name()),
    platform: z.optional(Platform),
    operatorStaffId: z.optional(Id),
  })
  .register(z.globalRegistry, { id: 'AccountPatch' });
export const AccountParams = z.strictObject({ id: Id });
