import { minorUnits } from './locale.js';

/**
 * Money is an integer count of minor units inside the product and a decimal string outside:
 * at most the currency's minor-unit decimals in, exactly that many out. Never a float.
 */
export function parseMoney(value: string, currency: string): number | undefined {
  const digits = minorUnits(currency);
  const pattern = digits === 0 ? /^(\d{1,15})$/ : new RegExp(`^(\\d{1,15})(?:\\.(\\d{1,${digits}}))?$`);
  const match = pattern.exec(value);
  if (!match) return undefined;
  const whole = BigInt(match[1]!);
  const fraction = (match[2] ?? '').padEnd(digits, '0');
  const minor = whole * 10n ** BigInt(digits) + BigInt(fraction || '0');
  if (minor > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return Number(minor);
}

export function formatMoney(minor: number, currency: string): string {
  const digits = minorUnits(currency);
  const negative = minor < 0;
  const abs = BigInt(Math.abs(minor));
  if (digits === 0) return `${negative ? '-' : ''}${abs}`;
  const scale = 10n ** BigInt(digits);
  const fraction = (abs % scale).toString().padStart(digits, '0');
  return `${negative ? '-' : ''}${abs / scale}.${fraction}`;
}
