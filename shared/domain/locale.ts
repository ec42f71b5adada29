/**
 * Time zones and currencies as the platform's ICU data knows them (IANA, ISO 4217), listed on the
 * first check rather than at cold start: only a few routes validate a zone or a currency.
 */
let zones: ReadonlySet<string> | undefined;
let currencies: ReadonlySet<string> | undefined;

export function isTimeZone(value: string): boolean {
  zones ??= new Set(Intl.supportedValuesOf('timeZone'));
  if (zones.has(value) || value === 'UTC') return true;
  try {
    // Intl accepts canonical aliases (e.g. Asia/Calcutta) that supportedValuesOf leaves out.
    return (
      new Intl.DateTimeFormat('en-US', { timeZone: value }).resolvedOptions().timeZone.length > 0 &&
      value.includes('/')
    );
  } catch {
    return false;
  }
}

export function isCurrency(value: string): boolean {
  if (!/^[A-Z]{3}$/.test(value)) return false;
  currencies ??= new Set(Intl.supportedValuesOf('currency'));
  return currencies.has(value);
}

/** ISO 4217 minor-unit digits (JPY 0, CNY 2, BHD 3). */
export function minorUnits(currency: string): number {
  return (
    new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2
  );
}
