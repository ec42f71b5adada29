import {
  InsightsQuery,
  PostInput,
  PostingPlanInput,
  PostParams,
  PostPatch,
  PostQuery,
  ReminderQuery,
} from '../../schemas/posting.js';
import { AccountParams } from '../../schemas/staff.js';
import { jwt, routesOf } from './access.js';

/** The routes of the `posting` function (part of the app declaration, `../declaration.ts`). */
export const postingRoutes = routesOf('posting', {
  'GET /v1/accounts/{id}/posting-plan': {
    ...jwt(['admin', 'staff']),
    summary: "An account's posting plan (staff: accounts they operate)",
    tags: ['posting'],
    params: AccountParams,
    success: { status: 200 },
    errors: [404],
  },
  'PUT /v1/accounts/{id}/posting-plan': {
    ...jwt(['admin']),
    summary: "Change an account's posting plan; fields left out keep their value",
    tags: ['posting'],
    params: AccountParams,
    body: PostingPlanInput,
    success: { status: 200 },
    errors: [404, 409],
  },
  'POST /v1/posts': {
    ...jwt(['admin', 'staff']),
    summary: 'Log a planned or published moments post of an account (staff: accounts they operate)',
    tags: ['posting'],
    body: PostInput,
    success: { status: 201 },
    errors: [404],
  },
  'PATCH /v1/posts/{id}': {
    ...jwt(['admin', 'staff']),
    summary: "Change a post's times or record its likes and comments",
    tags: ['posting'],
    params: PostParams,
    body: PostPatch,
    success: { status: 200 },
    errors: [404, 409],
  },
  'GET /v1/posts': {
    ...jwt(['admin', 'staff']),
    summary: "An account's posts by time (`from`/`to`: instants or plan-zone dates, inclusive)",
    tags: ['posting'],
    query: PostQuery,
    success: { status: 200 },
    errors: [404],
  },
  'GET /v1/reminders': {
    ...jwt(['admin', 'staff']),
    summary: 'Posting reminders with dueAt at or after `since`, oldest first (staff: accounts they operate)',
    tags: ['posting'],
    query: ReminderQuery,
    success: { status: 200 },
    errors: [404],
  },
  'GET /v1/posting/insights': {
    ...jwt(['admin', 'staff']),
    summary: 'Engagement by slot and category, recommended slots and actual mix of an account',
    tags: ['posting'],
    query: InsightsQuery,
    success: { status: 200 },
    errors: [404],
  },
});
