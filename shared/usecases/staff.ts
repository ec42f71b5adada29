import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type * as z from 'zod/mini';
import type { Deps } from '../app/deps.js';
import { keys } from '../db/keys.js';
import { listByPrefix } from '../db/list.js';
import { stageDefaultPostingPlan } from '../db/posting-store.js';
import { getStaffMember, type StaffMember } from '../db/tenant-store.js';
import { UnitOfWork } from '../db/unit-of-work.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { Caller } from '../http/auth.js';
import { enqueueJob } from '../jobs/store.js';
import type { AccountInput, AccountPatch, StaffInput, StaffPatch } from '../schemas/staff.js';
import { HANDOVER_KIND, type HandoverParams } from './handover.js';

export function staffView(staff: StaffMember) {
  return {
    id: staff.id,
    name: staff.name,
    status: staff.status,
    createdAt: staff.createdAt,
    updatedAt: staff.updatedAt,
  };
}

export async function createStaff(deps: Deps, caller: Caller, input: z.output<typeof StaffInput>) {
  const now = deps.now().toISOString();
  const staff: StaffMember = {
    id: input.id,
    name: input.name,
    status: 'active',
    createdAt: now,
    updatedAt: now,
  };
  await new UnitOfWork(deps.tableName)
    .put(
      { ...keys.staff(caller.tenantId, input.id), ...staff },
      { expression: 'attribute_not_exists(pk)' },
      () => new ConflictError(`Staff member ${input.id} already exists.`),
    )
    .commit(deps.db);
  return staff;
}

export async function getStaff(deps: Deps, caller: Caller, id: string): Promise<StaffMember> {
  const staff = await getStaffMember(deps, caller.tenantId, id);
  if (!staff) throw new NotFoundError('No such staff member.');
  return staff;
}

export async function listStaff(deps: Deps, caller: Caller, page: { limit: number; cursor?: string }) {
  const out = await listByPrefix<StaffMember>(deps, {
    pk: keys.staff(caller.tenantId, '').pk,
    prefix: 'STAFF#',
    ...page,
    binding: { tenantId: caller.tenantId, caller: caller.staffId, filter: 'staff' },
  });
  return { items: out.items.map(staffView), nextCursor: out.nextCursor };
}

export async function patchStaff(deps: Deps, caller: Caller, id: string, patch: z.output<typeof StaffPatch>) {
  const current = await getStaff(deps, caller, id);
  const next: StaffMember = {
    ...current,
    ...(patch.name ? { name: patch.name } : {}),
    ...(patch.status ? { status: patch.status } : {}),
    updatedAt: deps.now().toISOString(),
  };
  await new UnitOfWork(deps.tableName)
    .update({
      key: keys.staff(caller.tenantId, id),
      expression: 'SET #name = :name, #status = :status, updatedAt = :now',
      names: { '#name': 'name', '#status': 'status' },
      values: { ':name': next.name, ':status': next.status, ':now': next.updatedAt },
      condition: { expression: 'attribute_exists(pk)' },
      onConditionFailed: () => new NotFoundError('No such staff member.'),
    })
    .commit(deps.db);
  return next;
}

/**
 * Starts a handover: every contact owned by `id` and every account it operates pass to
 * `toStaffId`, as a job. The leaver is marked `left` at once, in the same transaction as the
 * job, so they can no longer act while their customers move.
 */
export async function startHandover(deps: Deps, caller: Caller, fromStaffId: string, toStaffId: string) {
  await getStaff(deps, caller, fromStaffId);
  if (fromStaffId === toStaffId) {
    throw new ValidationError('Hand over to someone else.', [
      { path: 'toStaffId', message: 'must differ from the leaver' },
    ]);
  }
  const to = await getStaffMember(deps, caller.tenantId, toStaffId);
  if (to?.status !== 'active') {
    throw new ValidationError('The receiving staff member must exist and be active.', [
      { path: 'toStaffId', message: 'no such active staff member' },
    ]);
  }
  const uow = new UnitOfWork(deps.tableName);
  uow.update({
    key: keys.staff(caller.tenantId, fromStaffId),
    expression: 'SET #status = :left, updatedAt = :now',
    names: { '#status': 'status' },
    values: { ':left': 'left', ':now': deps.now().toISOString() },
  });
  uow.check(
    keys.staff(caller.tenantId, toStaffId),
    { expression: '#status = :active', names: { '#status': 'status' }, values: { ':active': 'active' } },
    () => new ConflictError('The receiving staff member is no longer active.'),
  );
  const job = enqueueJob<HandoverParams>(uow, deps, {
    tenantId: caller.tenantId,
    kind: HANDOVER_KIND,
    params: { fromStaffId, toStaffId },
  });
  await uow.commit(deps.db);
  return { jobId: job.jobId };
}

export interface Account {
  id: string;
  name: string;
  platform: 'wechat' | 'wecom';
  operatorStaffId: string;
  createdAt: string;
  updatedAt: string;
}

export function accountView(account: Account) {
  return {
    id: account.id,
    name: account.name,
    platform: account.platform,
    operatorStaffId: account.operatorStaffId,
    createdAt: account.createdAt,
    updatedAt: account.updatedAt,
  };
}

function operatorCheck(uow: UnitOfWork, tenantId: string, staffId: string) {
  uow.check(
    keys.staff(tenantId, staffId),
    { expression: 'attribute_exists(pk)' },
    () =>
      new ValidationError('Unknown staff member.', [
        { path: 'operatorStaffId', message: 'no such staff member' },
      ]),
  );
}

export async function createAccount(deps: Deps, caller: Caller, input: z.output<typeof AccountInput>) {
  const now = deps.now().toISOString();
  const account: Account = {
    id: input.id ?? `a_${crypto.randomUUID().replaceAll('-', '').slice(0, 20)}`,
    name: input.name,
    platform: input.platform,
    operatorStaffId: input.operatorStaffId,
    createdAt: now,
    updatedAt: now,
  };
  const uow = new UnitOfWork(deps.tableName);
  uow.put(
    { ...keys.account(caller.tenantId, account.id), ...account },
    { expression: 'attribute_not_exists(pk)' },
    () => new ConflictError(`Account ${account.id} already exists.`),
  );
  operatorCheck(uow, caller.tenantId, account.operatorStaffId);
  // Every account has the default posting plan (and its open-slot entries) from its creation.
  await stageDefaultPostingPlan(deps, uow, caller.tenantId, account.id);
  await uow.commit(deps.db);
  return account;
}

export async function getAccount(deps: Deps, caller: Caller, id: string): Promise<Account> {
  const out = await deps.db.send(
    new GetCommand({ TableName: deps.tableName, Key: keys.account(caller.tenantId, id) }),
  );
  if (!out.Item) throw new NotFoundError('No such account.');
  return out.Item as Account;
}

export async function listAccounts(deps: Deps, caller: Caller, page: { limit: number; cursor?: string }) {
  const out = await listByPrefix<Account>(deps, {
    pk: keys.account(caller.tenantId, '').pk,
    prefix: 'ACCOUNT#',
    ...page,
    binding: { tenantId: caller.tenantId, caller: caller.staffId, filter: 'accounts' },
  });
  return { items: out.items.map(accountView), nextCursor: out.nextCursor };
}

export async function patchAccount(
  deps: Deps,
  caller: Caller,
  id: string,
  patch: z.output<typeof AccountPatch>,
) {
  const current = await getAccount(deps, caller, id);
  const next: Account = { ...current, ...patch, updatedAt: deps.now().toISOString() };
  const uow = new UnitOfWork(deps.tableName);
  uow.update({
    key: keys.account(caller.tenantId, id),
    expression: 'SET #name = :name, platform = :platform, operatorStaffId = :op, updatedAt = :now',
    names: { '#name': 'name' },
    values: {
      ':name': next.name,
      ':platform': next.platform,
      ':op': next.operatorStaffId,
      ':now': next.updatedAt,
    },
    condition: { expression: 'attribute_exists(pk)' },
    onConditionFailed: () => new NotFoundError('No such account.'),
  });
  if (patch.operatorStaffId) operatorCheck(uow, caller.tenantId, patch.operatorStaffId);
  await uow.commit(deps.db);
  return next;
}
