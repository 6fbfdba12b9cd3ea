import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { useQuery } from 'urql';
import { date, dateTime, money } from '../format';
import { MyDayScreenDocument } from '../gql/graphql';
import { Badge, Empty, Failure, Loading, Page } from '../ui';

function Block({ id, title, count, children }: { id: string; title: string; count: number; children: ReactNode }) {
  const { t } = useTranslation();
  return (
    <section aria-labelledby={id} className="card">
      <h2 id={id}>
        {title} <span className="muted">({count})</span>
      </h2>
      {count ? children : <Empty>{t('day.nothing')}</Empty>}
    </section>
  );
}

export default function MyDay() {
  const { t } = useTranslation();
  const [{ data, fetching, error }] = useQuery({ query: MyDayScreenDocument });
  const d = data?.myDay;
  if (fetching && !data) return <Loading />;
  return (
    <Page title={t('day.title')}>
      <Failure error={error} />
      {d && (
        <div className="grid">
          <Block id="overdue" title={t('day.overdue')} count={d.overdue.length}>
            <ul className="list">
              {d.overdue.map((a) => (
                <li key={a.id}>
                  <Badge tone="bad">{a.kind}</Badge> {a.title} · {dateTime(a.dueAt)}{' '}
                  {a.company && <Link to={`/companies/${a.company.id}`}>{a.company.name}</Link>}
                </li>
              ))}
            </ul>
          </Block>
          <Block id="today" title={t('day.today')} count={d.dueToday.length}>
            <ul className="list">
              {d.dueToday.map((a) => (
                <li key={a.id}>
                  <Badge tone="info">{a.kind}</Badge> {a.title} · {dateTime(a.dueAt ?? a.startAt)}{' '}
                  {a.company && <Link to={`/companies/${a.company.id}`}>{a.company.name}</Link>}
                </li>
              ))}
            </ul>
          </Block>
          <Block id="reminders" title={t('day.reminders')} count={d.reminders.length}>
            <ul className="list">
              {d.reminders.map((n) => (
                <li key={n.id}>
                  {n.title} <span className="muted small">{dateTime(n.createdAt)}</span>
                  {n.companyId && (
                    <>
                      {' '}
                      <Link to={`/companies/${n.companyId}`}>{t('day.client')}</Link>
                    </>
                  )}
                </li>
              ))}
            </ul>
          </Block>
          <Block id="no-next" title={t('day.noNextStep')} count={d.dealsWithoutNextStep.length}>
            <ul className="list">
              {d.dealsWithoutNextStep.map((x) => (
                <li key={x.id}>
                  <Link to={`/deals/${x.id}/estimates`}>{x.title}</Link> · {x.stageName} · {money(x.amount)}
                </li>
              ))}
            </ul>
          </Block>
          <Block id="leads" title={t('day.leads')} count={d.newLeads.length + d.hotLeads.length}>
            <ul className="list">
              {[...d.hotLeads, ...d.newLeads].map((l) => (
                <li key={l.id}>
                  {[l.firstName, l.lastName].filter(Boolean).join(' ')} · {l.companyName ?? '—'} · {t('leads.score')} {l.score}
                </li>
              ))}
            </ul>
            <Link to="/leads">{t('day.allLeads')}</Link>
          </Block>
          <Block id="not-contacted" title={t('day.notContacted', { days: d.notContactedDays })} count={d.notContacted.length}>
            <ul className="list">
              {d.notContacted.map((c) => (
                <li key={c.id}>
                  <Link to={`/companies/${c.id}`}>{c.name}</Link> · {date(c.lastContactAt)}
                </li>
              ))}
            </ul>
          </Block>
        </div>
      )}
    </Page>
  );
}
