import { SettingsInput } from '../../schemas/settings.js';
import { jwt, routesOf } from './access.js';

/** The routes of the `settings` function (part of the app declaration, `../declaration.ts`). */
export const settingsRoutes = routesOf('settings', {
  'GET /v1/settings': {
    ...jwt(['admin', 'staff']),
    summary: "The tenant's settings (defaults until changed)",
    tags: ['settings'],
    success: { status: 200 },
  },
  'PUT /v1/settings': {
    ...jwt(['admin']),
    summary: 'Change settings; fields left out keep their value',
    tags: ['settings'],
    body: SettingsInput,
    success: { status: 200 },
    errors: [409],
  },
});
