import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Deps } from '../app/deps.js';
import { ConflictError } from '../errors.js';
import { defaultSettings } from '../schemas/default-settings.js';
import type { Settings } from '../schemas/settings.js';
import { keys } from './keys.js';
import { queryAll } from './query.js';
import type { UnitOfWork } from './unit-of-work.js';

export interface StaffMember {
  id: string;
  name: string;
  status: 'active' | 'left';
  createdAt: string;
  updatedAt: string;
}

export async function getStaffMember(
  deps: Pick<Deps, 'db' | 'tableName'>,
  tenantId: string,
  staffId: string,
): Promise<StaffMember | undefined> {
  const out = await deps.db.send(
    new GetCommand({ TableName: deps.tableName, Key: keys.staff(tenantId, staffId) }),
  );
  return out.Item as StaffMember | undefined;
}

export interface SettingsRecord {
  settings: Settings;
  /** Set once contacts or orders exist: currency and time zone are then fixed. */
  hasData: boolean;
  version: number;
}

/** A tenant exists from its first request: without a stored item it has the defaults. */
export async function readSettings(
  deps: Pick<Deps, 'db' | 'tableName'>,
  tenantId: string,
  consistent = false,
): Promise<SettingsRecord> {
  const out = await deps.db.send(
    new GetCommand({ TableName: deps.tableName, Key: keys.settings(tenantId), ConsistentRead: consistent }),
  );
  const item = out.Item;
  if (!item?.settings)
    return { settings: defaultSettings, hasData: Boolean(item?.hasData), version: item?.version ?? 0 };
  return { settings: item.settings as Settings, hasData: Boolean(item.hasData), version: item.version ?? 0 };
}

/** Every tenant of the registry, page after page. */
export async function* registeredTenants(deps: Pick<Deps, 'db' | 'tableName'>): AsyncGenerator<string> {
  for await (const item of queryAll<{ tenantId: string }>(deps, {
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': keys.tenantRegistry('').pk },
  })) {
    yield item.tenantId;
  }
}

/** Marks, in the same transaction, that the tenant now has data (currency and zone become fixed). */
export function stageTenantHasData(uow: UnitOfWork, tenantId: string, settings: SettingsRecord): void {
  if (settings.hasData) return;
  uow.update({
    key: keys.settings(tenantId),
    expression: 'SET hasData = :true',
    values: { ':true': true },
    condition: {
      expression: 'attribute_not_exists(version) OR version = :sv',
      values: { ':sv': settings.version },
    },
    onConditionFailed: () => new ConflictError('The tenant settings changed concurrently; retry.'),
  });
  uow.put({ ...keys.tenantRegistry(tenantId), tenantId });
}
