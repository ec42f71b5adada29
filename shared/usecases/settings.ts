import type * as z from 'zod/mini';
import type { Deps } from '../app/deps.js';
import { keys } from '../db/keys.js';
import { readSettings } from '../db/tenant-store.js';
import { UnitOfWork } from '../db/unit-of-work.js';
import { ConflictError } from '../errors.js';
import type { Settings, SettingsInput } from '../schemas/settings.js';

export async function getSettings(deps: Deps, tenantId: string): Promise<Settings> {
  return (await readSettings(deps, tenantId)).settings;
}

/**
 * Changes a tenant's settings.
 *  1. Read the current settings (or the defaults) and merge the input over them.
 *  2. Refuse a new currency or time zone once contacts or orders exist (409): money and dates
 *     already stored would change meaning.
 *  3. Write with an optimistic version check, so a concurrent first contact cannot slip in
 *     between the check and the write.
 */
export async function updateSettings(
  deps: Deps,
  tenantId: string,
  input: z.output<typeof SettingsInput>,
): Promise<Settings> {
  const current = await readSettings(deps, tenantId, true);
  const next: Settings = {
    timezone: input.timezone ?? current.settings.timezone,
    currency: input.currency ?? current.settings.currency,
    rfm: { ...current.settings.rfm, ...input.rfm },
    lifecycle: { ...current.settings.lifecycle, ...input.lifecycle },
  };
  const fixedChanged =
    next.currency !== current.settings.currency || next.timezone !== current.settings.timezone;
  if (current.hasData && fixedChanged) {
    throw new ConflictError('The currency and time zone cannot change once contacts or orders exist.');
  }
  const uow = new UnitOfWork(deps.tableName);
  uow.update({
    key: keys.settings(tenantId),
    expression: 'SET settings = :settings, version = :next, updatedAt = :now',
    values: { ':settings': next, ':next': current.version + 1, ':now': deps.now().toISOString() },
    condition: {
      expression: fixedChanged
        ? '(attribute_not_exists(version) OR version = :version) AND attribute_not_exists(hasData)'
        : 'attribute_not_exists(version) OR version = :version',
      values: { ':version': current.version },
    },
    onConditionFailed: () =>
      new ConflictError('The settings changed concurrently, or data now exists; retry.'),
  });
  uow.put({ ...keys.tenantRegistry(tenantId), tenantId });
  await uow.commit(deps.db);
  return next;
}
