import type { Deps } from '../shared/app/deps.js';
import { createDeps } from '../shared/app/deps.js';
import { contactsRoutes } from '../shared/app/routes/contacts.js';
import { visibleContact } from '../shared/db/contact-store.js';
import { readSettings } from '../shared/db/tenant-store.js';
import type { Contact } from '../shared/domain/contact.js';
import { httpFunction } from '../shared/http/http-function.js';
import {
  addTags,
  contactView,
  createContact,
  createContactsBatch,
  eraseContact,
  listContacts,
  patchContact,
  removeTag,
} from '../shared/usecases/contacts.js';

const deps = createDeps();

const currency = async (d: Deps, tenantId: string) => (await readSettings(d, tenantId)).settings.currency;

const view = async (d: Deps, tenantId: string, contact: Contact) =>
  contactView(contact, await currency(d, tenantId));

/**
 * The view of a contact a write returns, with the currency read before the write: a read after a
 * committed write that failed (throttled) would answer 503 for a change that was made, and a
 * client retrying a create would make a second contact.
 */
const written = async (d: Deps, tenantId: string, write: () => Promise<Contact>) => {
  const money = await currency(d, tenantId);
  return contactView(await write(), money);
};

export const handler = httpFunction(
  contactsRoutes,
  {
    'POST /v1/contacts': async (req, d) => ({
      body: await written(d, req.caller.tenantId, () => createContact(d, req.caller, req.body)),
    }),
    'POST /v1/contacts/batch': async (req, d) => ({
      body: { results: await createContactsBatch(d, req.caller, req.body.contacts, req.remainingMs) },
    }),
    'GET /v1/contacts': async (req, d) => ({ body: await listContacts(d, req.caller, req.query) }),
    'GET /v1/contacts/{id}': async (req, d) => ({
      body: await view(d, req.caller.tenantId, await visibleContact(d, req.caller, req.params.id)),
    }),
    'PATCH /v1/contacts/{id}': async (req, d) => ({
      body: await written(d, req.caller.tenantId, () => patchContact(d, req.caller, req.params.id, req.body)),
    }),
    'POST /v1/contacts/{id}/tags': async (req, d) => ({
      body: await written(d, req.caller.tenantId, () => addTags(d, req.caller, req.params.id, req.body.tags)),
    }),
    'DELETE /v1/contacts/{id}/tags/{tag}': async (req, d) => ({
      body: await written(d, req.caller.tenantId, () =>
        removeTag(d, req.caller, req.params.id, req.params.tag),
      ),
    }),
    'DELETE /v1/contacts/{id}': async (req, d) => {
      await eraseContact(d, req.caller, req.params.id);
      return { status: 204 };
    },
  },
  deps,
);
