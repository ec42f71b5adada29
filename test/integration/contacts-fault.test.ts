import { randomUUID } from 'node:crypto';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '../../shared/app/deps.js';
import type { Caller } from '../../shared/http/auth.js';
import { createContact } from '../../shared/usecases/contacts.js';
import { freshTable, interceptSend } from '../support/table.js';

let deps: Deps & { scan: () => Promise<Record<string, unknown>[]> };
let resendNextTransaction = false;

beforeAll(async () => {
  deps = await freshTable((db) =>
    interceptSend(db, async (command, send) => {
      if (!(command instanceof TransactWriteCommand) || !resendNextTransaction) return send(command);
      resendNextTransaction = false;
      // The transaction lands, its answer is lost, and the retry goes out under a token the
      // database does not take for the same request: it meets what the first attempt stored.
      await send(command);
      return send(new TransactWriteCommand({ ...command.input, ClientRequestToken: randomUUID() }));
    }),
  );
});

describe('a contact create whose transaction is applied twice', () => {
  it('answers the contact it stored, not a conflict with itself', async () => {
    const tenantId = `twice-${randomUUID().slice(0, 8)}`;
    const admin: Caller = { tenantId, role: 'admin', staffId: 'admin-1' };
    resendNextTransaction = true;
    const contact = await createContact(deps, admin, {
      name: 'Han Meimei',
      phone: '+8613900139000',
      channel: 'store',
    });
    expect(resendNextTransaction).toBe(false);
    const profiles = (await deps.scan()).filter(
      (i) => String(i.pk).startsWith(`C#${tenantId}#`) && i.sk === 'PROFILE',
    );
    expect(profiles.map((p) => p.id)).toEqual([contact.id]);

    // A second contact with the phone is still refused, with the first one's id.
    const other = await createContact(deps, admin, {
      name: 'Other',
      phone: '+8613900139000',
      channel: 'store',
    }).catch((e: unknown) => e);
    expect(other).toMatchObject({ status: 409, existingId: contact.id });
  });
});
