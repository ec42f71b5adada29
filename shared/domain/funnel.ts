/**
 * The GMV funnel (DOMAIN.md): GMV = contacts × retentionRate × conversionRate × ordersPerBuyer × aov.
 * Pure arithmetic over counters; money stays in integer minor units until formatted.
 */
import type { FunnelCounters } from './contact.js';

export const FACTORS = ['contacts', 'retentionRate', 'conversionRate', 'ordersPerBuyer', 'aov'] as const;
export type FactorName = (typeof FACTORS)[number];

export interface FunnelFigures {
  contacts: number;
  retained: number;
  buyers: number;
  orders: number;
  gmvMinor: number;
  retentionRate: number | null;
  conversionRate: number | null;
  ordersPerBuyer: number | null;
  /** Average order value in currency units (gmv / orders). */
  aov: number | null;
}

export const emptyCounters = (): FunnelCounters => ({
  contacts: 0,
  retained: 0,
  buyers: 0,
  orders: 0,
  gmv: 0,
});

export function addCounters(into: FunnelCounters, from: Partial<FunnelCounters>): void {
  into.contacts += from.contacts ?? 0;
  into.retained += from.retained ?? 0;
  into.buyers += from.buyers ?? 0;
  into.orders += from.orders ?? 0;
  into.gmv += from.gmv ?? 0;
}

/**
 * The five factors, unrounded. From the first zero divisor on, that factor and the ones after it
 * are null (a funnel that stops cannot say what comes after).
 */
export function figures(c: FunnelCounters, minorUnits: number): FunnelFigures {
  const scale = 10 ** minorUnits;
  const ratios: (number | null)[] = [];
  const steps: [number, number][] = [
    [c.retained, c.contacts],
    [c.buyers, c.retained],
    [c.orders, c.buyers],
    [c.gmv / scale, c.orders],
  ];
  let stopped = false;
  for (const [numerator, divisor] of steps) {
    if (stopped || divisor === 0) {
      stopped = true;
      ratios.push(null);
    } else {
      ratios.push(numerator / divisor);
    }
  }
  return {
    contacts: c.contacts,
    retained: c.retained,
    buyers: c.buyers,
    orders: c.orders,
    gmvMinor: c.gmv,
    retentionRate: ratios[0]!,
    conversionRate: ratios[1]!,
    ordersPerBuyer: ratios[2]!,
    aov: ratios[3]!,
  };
}

export interface FactorComparison {
  name: FactorName;
  a: number | null;
  b: number | null;
  ratio: number | null;
  share: number | null;
}

/**
 * Which factor holds GMV back: ratio = a / b per factor and share = ln(ratio) / ln(gmv_a / gmv_b),
 * so the shares add up to 1 (each factor's part of the GMV gap, on a log scale).
 *  - equal GMV: no gap to share out — ratios stand, shares are null (`reason: equal_gmv`);
 *  - a factor that is 0 or null on either side: its ratio (and every share) is null
 *    (`reason: zero_factor`), since a log of zero or of nothing is undefined.
 */
export function compareFunnels(
  a: FunnelFigures,
  b: FunnelFigures,
): { factors: FactorComparison[]; reason?: 'equal_gmv' | 'zero_factor' } {
  const value = (f: FunnelFigures, name: FactorName) => (name === 'contacts' ? f.contacts : f[name]);
  let zero = false;
  const rows = FACTORS.map((name) => {
    const va = value(a, name);
    const vb = value(b, name);
    const usable = va !== null && vb !== null && va !== 0 && vb !== 0;
    if (!usable) zero = true;
    return { name, a: va, b: vb, ratio: usable ? va / vb : null };
  });
  const equal = a.gmvMinor === b.gmvMinor;
  const gap = !zero && !equal ? Math.log(a.gmvMinor / b.gmvMinor) : null;
  const factors = rows.map((row) => ({
    ...row,
    share: gap !== null && row.ratio !== null ? Math.log(row.ratio) / gap : null,
  }));
  const reason = zero ? 'zero_factor' : equal ? 'equal_gmv' : undefined;
  return { factors, ...(reason ? { reason } : {}) };
}
