import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '../../shared/app/deps.js';
import { NotFoundError } from '../../shared/errors.js';
import type { Caller } from '../../shared/http/auth.js';
import { createContact, eraseContact } from '../../shared/usecases/contacts.js';
import { recordOrderFacts } from '../../shared/usecases/orders.js';
import { failingAfter, freshTable } from '../support/table.js';

let deps: Deps & { scan: () => Promise<Record<string, unknown>[]> };
let failNextUpdate = false;

beforeAll(async () => {
  deps = await freshTable((db) =>
    failingAfter(db, (command) => {
      if (!failNextUpdate || command.constructor.name !== 'UpdateCommand') return false;
      failNextUpdate = false;
      return true;
    }),
  );
});

describe('an erasure interrupted after its transaction', () => {
  it('is finished by the next DELETE, which still answers 404', async () => {
    const tenantId = `erase-${randomUUID().slice(0, 8)}`;
    const admin: Caller = { tenantId, role: 'admin', staffId: 'admin-1' };
    const contact = await createContact(deps, admin, {
      name: 'Li Lei',
      email: 'lilei@example.com',
      channel: 'store',
    });
    for (const n of [1, 2]) {
      await recordOrderFacts(
        deps,
        { tenantId, shopId: 's1' },
        {
          order: {
            externalOrderId: `e-${n}`,
            total: '10.00',
            currency: 'CNY',
            paidAt: `2024-05-0${n}T10:00:00+08:00`,
            buyer: { match: [{ kind: 'email', value: 'lilei@example.com' }] },
          },
          refunds: [],
        },
      );
    }
    const mine = async () =>
      (await deps.scan()).filter((i) => String(i.pk) === `C#${tenantId}#${contact.id}`);

    // The first clean-up write lands, then the answer is lost: the request fails.
    failNextUpdate = true;
    const first = await eraseContact(deps, admin, contact.id).catch((e: unknown) => e);
    expect((first as Error).name).toBe('TimeoutError');
    const interrupted = await mine();
    expect(interrupted.find((i) => i.sk === 'PROFILE')).toMatchObject({ erased: true, cleanupPending: true });
    expect(interrupted.filter((i) => String(i.sk).startsWith('O#') && i.contactErased)).toHaveLength(1);

    const second = await eraseContact(deps, admin, contact.id).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(NotFoundError);
    const finished = await mine();
    expect(finished.find((i) => i.sk === 'PROFILE')).not.toHaveProperty('cleanupPending');
    expect(finished.filter((i) => String(i.sk).startsWith('O#') && i.contactErased)).toHaveLength(2);
    expect(JSON.stringify(finished)).not.toContain('Li Lei');
  });
});
