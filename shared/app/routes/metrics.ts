import { CompareQuery, FunnelQuery } from '../../schemas/metrics.js';
import { jwt, routesOf } from './access.js';

/** The routes of the `metrics` function (part of the app declaration, `../declaration.ts`). */
export const metricsRoutes = routesOf('metrics', {
  'GET /v1/metrics/funnel': {
    ...jwt(['admin', 'staff']),
    summary:
      'GMV funnel of the contacts added in [from, to], optionally by a dimension (staff: their own contacts)',
    tags: ['metrics'],
    query: FunnelQuery,
    success: { status: 200 },
  },
  'GET /v1/metrics/funnel/compare': {
    ...jwt(['admin', 'staff']),
    summary: 'Which of the five factors explains the GMV gap between two funnel queries',
    tags: ['metrics'],
    query: CompareQuery,
    success: { status: 200 },
  },
  'GET /v1/segments': {
    ...jwt(['admin', 'staff']),
    summary:
      "The latest run's RFM segment and stage counts and means (staff: counts over their own contacts)",
    tags: ['segments'],
    success: { status: 200 },
    errors: [404],
  },
});
