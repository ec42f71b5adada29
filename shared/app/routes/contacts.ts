import { ContactParams } from '../../schemas/common.js';
import {
  ContactBatch,
  ContactInput,
  ContactPatch,
  ContactQuery,
  ContactTagParams,
  TagsInput,
} from '../../schemas/contacts.js';
import { jwt, routesOf } from './access.js';

/** The routes of the `contacts` function (part of the app declaration, `../declaration.ts`). */
export const contactsRoutes = routesOf('contacts', {
  'POST /v1/contacts': {
    ...jwt(['admin', 'staff']),
    summary: 'Add a contact (staff: owned by themselves); phone, email and externalId are unique',
    tags: ['contacts'],
    body: ContactInput,
    success: { status: 201 },
    errors: [409],
  },
  'POST /v1/contacts/batch': {
    ...jwt(['admin']),
    summary: 'Bulk import of up to 500 contacts, each created, existing or in error',
    tags: ['contacts'],
    body: ContactBatch,
    success: { status: 200 },
  },
  'GET /v1/contacts': {
    ...jwt(['admin', 'staff']),
    summary: 'List contacts, filtered from indexes (staff: their own)',
    tags: ['contacts'],
    query: ContactQuery,
    success: { status: 200 },
  },
  'GET /v1/contacts/{id}': {
    ...jwt(['admin', 'staff']),
    summary: 'A contact',
    tags: ['contacts'],
    params: ContactParams,
    success: { status: 200 },
    errors: [404],
  },
  'PATCH /v1/contacts/{id}': {
    ...jwt(['admin', 'staff']),
    summary: 'Change a contact; `status: lost` records `lostAt`; null clears a field',
    tags: ['contacts'],
    params: ContactParams,
    body: ContactPatch,
    success: { status: 200 },
    errors: [404, 409],
  },
  'POST /v1/contacts/{id}/tags': {
    ...jwt(['admin', 'staff']),
    summary: 'Add tags to a contact',
    tags: ['contacts'],
    params: ContactParams,
    body: TagsInput,
    success: { status: 200 },
    errors: [404],
  },
  'DELETE /v1/contacts/{id}/tags/{tag}': {
    ...jwt(['admin', 'staff']),
    summary: 'Remove a tag from a contact',
    tags: ['contacts'],
    params: ContactTagParams,
    success: { status: 200 },
    errors: [404],
  },
  'DELETE /v1/contacts/{id}': {
    ...jwt(['admin']),
    summary: "Erase a contact's personal data everywhere; its orders stay, anonymous",
    tags: ['contacts'],
    params: ContactParams,
    success: { status: 204 },
    errors: [404],
  },
});
