import * as z from 'zod/mini';
import { int } from '../../zod.js';

/** Answers of the funnel metrics routes (OpenAPI only: see `./common.ts`). */

const Figures = z.object({
  contacts: int(),
  retained: int(),
  buyers: int(),
  orders: int(),
  gmv: z.string(),
  retentionRate: z.nullable(z.number()),
  conversionRate: z.nullable(z.number()),
  ordersPerBuyer: z.nullable(z.number()),
  aov: z.nullable(z.number()),
});

export const FunnelResult = z
  .object({
    from: z.string(),
    to: z.string(),
    total: Figures,
    groups: z.array(z.extend(Figures, { key: z.string() })),
  })
  .register(z.globalRegistry, { id: 'Funnel' });

export const CompareResult = z
  .object({
    a: Figures,
    b: Figures,
    factors: z.array(
      z.object({
        name: z.enum(['contacts', 'retentionRate', 'conversionRate', 'ordersPerBuyer', 'aov']),
        a: z.nullable(z.number()),
        b: z.nullable(z.number()),
        ratio: z.nullable(z.number()),
        share: z.nullable(z.number()),
      }),
    ),
    reason: z.optional(z.enum(['equal_gmv', 'zero_factor'])),
  })
  .register(z.globalRegistry, { id: 'FunnelComparison' });
