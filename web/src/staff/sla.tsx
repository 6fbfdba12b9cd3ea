import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { dateTime, duration } from '../format';
import { Badge } from '../ui';

export interface Clock {
  dueAt?: string | null;
  breached: boolean;
  metAt?: string | null;
  paused: boolean;
  remainingMinutes?: number | null;
}

/** A live SLA timer: minutes left until the clock's due time (business hours are the server's). */
export function SlaTimer({ clock, label }: { clock: Clock | null | undefined; label: string }) {
  const { t } = useTranslation();
  const [, tick] = useState(0);
  useEffect(() => {
    const h = window.setInterval(() => tick((n) => n + 1), 30_000);
    return () => window.clearInterval(h);
  }, []);
  if (!clock) return <span className="muted">—</span>;
  if (clock.metAt) return <Badge tone="ok">{t('sla.met', { label })}</Badge>;
  if (clock.paused) return <Badge tone="info">{t('sla.paused', { label })}</Badge>;
  const left = clock.dueAt ? (new Date(clock.dueAt).getTime() - Date.now()) / 60000 : (clock.remainingMinutes ?? null);
  if (left === null) return <span className="muted">—</span>;
  const breached = clock.breached || left < 0;
  return (
    <span title={clock.dueAt ? dateTime(clock.dueAt) : undefined}>
      <Badge tone={breached ? 'bad' : left < 60 ? 'warn' : 'ok'}>
        {label}: {breached ? t('sla.breached') : ''} {duration(left)}
      </Badge>
    </span>
  );
}
