// Dates and money in the user's locale (the language chosen in the switch), with Intl.
import i18n from './i18n';

export interface MoneyValue {
  amount: string;
  currency: string;
}

const locale = () => i18n.resolvedLanguage ?? i18n.language ?? 'en';

export function money(m: MoneyValue | null | undefined): string {
  if (!m) return '—';
  return new Intl.NumberFormat(locale(), { style: 'currency', currency: m.currency }).format(Number(m.amount));
}

export function moneyShort(amount: number, currency: string): string {
  return new Intl.NumberFormat(locale(), { style: 'currency', currency, notation: 'compact' }).format(amount);
}

export function date(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium' }).format(new Date(iso));
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
}

/** Sum money values per currency (amounts are decimal strings; cents avoid float drift). */
export function sumByCurrency(values: (MoneyValue | null | undefined)[]): MoneyValue[] {
  const cents = new Map<string, bigint>();
  for (const v of values) {
    if (!v) continue;
    const [whole, frac = ''] = v.amount.replace('-', '').split('.');
    const c = BigInt(whole) * 100n + BigInt((frac + '00').slice(0, 2));
    cents.set(v.currency, (cents.get(v.currency) ?? 0n) + (v.amount.startsWith('-') ? -c : c));
  }
  return [...cents].map(([currency, c]) => {
    const neg = c < 0n;
    const a = neg ? -c : c;
    return { currency, amount: `${neg ? '-' : ''}${a / 100n}.${String(a % 100n).padStart(2, '0')}` };
  });
}

export function duration(minutes: number): string {
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: 'always' });
  const abs = Math.abs(minutes);
  if (abs < 60) return rtf.format(Math.round(minutes), 'minute');
  if (abs < 60 * 48) return rtf.format(Math.round(minutes / 60), 'hour');
  return rtf.format(Math.round(minutes / 1440), 'day');
}
