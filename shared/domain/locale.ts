/** Time zones and currencies as the platform's ICU data knows them (IANA, ISO 4217). */
const zones = new Set(Intl.supportedValuesOf('timeZone'));
const currencies = new Set(Intl.supportedValuesOf('currency'));

export function isTimeZone(value: string): boolean {
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
  return /^[A-Z]{3}$/.test(value) && currencies.has(value);
}

/** ISO 4217 minor-unit digits (JPY 0, CNY 2, BHD 3). */
export function minorUnits(currency: string): number {
  return (
    new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2
  );
}
