import type { Deps } from '../app/deps.js';
import { keys } from '../db/keys.js';

import { readSettings, registeredTenants } from '../db/tenant-store.js';
import { UnitOfWork } from '../db/unit-of-work.js';
import { localDateOf, localInstant } from '../domain/zone.js';
import { ConflictError } from '../errors.js';
import { enqueueJob } from '../jobs/store.js';
import { RFM_KIND, type RfmParams } from './rfm.js';

/**
 * The nightly dispatcher (every 15 minutes): for each tenant whose local time has passed 02:00
 * today and that has no run created today (local date), one run with asOf = 02:00 local today.
 * The day's marker is claimed with a conditional put, so overlapping ticks start one run.
 */
export async function dispatchNightlyRuns(deps: Deps, now: Date): Promise<{ started: number }> {
  let started = 0;
  for await (const tenantId of registeredTenants(deps)) {
    const settings = await readSettings(deps, tenantId);
    const zone = settings.settings.timezone;
    const today = localDateOf(now, zone);
    // 02:00 local today (a day whose 02:00 a DST change skips: the first instant after it).
    const twoAm = localInstant(today, '02:00', zone);
    if (now < twoAm) continue;
    const uow = new UnitOfWork(deps.tableName);
    uow.put(
      { ...keys.rfmRunMarker(tenantId, today), tenantId },
      { expression: 'attribute_not_exists(pk)' },
      () => new ConflictError('already started today'),
    );
    enqueueJob<RfmParams>(uow, deps, {
      tenantId,
      kind: RFM_KIND,
      queue: RFM_KIND,
      params: {
        asOf: twoAm.toISOString(),
        windowDays: settings.settings.rfm.windowDays,
        recordedBefore: now.toISOString(),
      },
    });
    try {
      await uow.commit(deps.db);
      started++;
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
    }
  }
  return { started };
}
