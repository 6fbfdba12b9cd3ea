import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router-dom';
import { useMutation, useQuery } from 'urql';
import type { Role } from '../auth';
import { money, date, dateTime } from '../format';
import { Company360Document, CreateDealDocument } from '../gql/graphql';
import { Badge, Empty, Failure, Loading, Page, PayloadErrors } from '../ui';
import CustomFieldValues from './CustomFieldValues';
import { healthTone } from './health';

export default function Company360({ role }: { role: Role }) {
  const { t } = useTranslation();
  const { id = '' } = useParams();
  const [{ data, fetching, error }, refetch] = useQuery({ query: Company360Document, variables: { id } });
  const c = data?.company;
  if (fetching && !data) return <Loading />;
  if (error) return <Failure error={error} />;
  if (!c) return <Page title={t('errors.notFoundTitle')}>{t('errors.notFound')}</Page>;
  const h = c.health;
  return (
    <Page title={c.name}>
      <p className="muted">
        {t(`kinds.${c.kind}`)} · {[c.city, c.country].filter(Boolean).join(', ') || '—'} · {t('company.tier')} {c.tier ?? '—'} ·{' '}
        {t('company.owner')} {c.owner ?? '—'} · {t('company.lastContact')} {date(c.lastContactAt)}
      </p>
      {h && (
        <div className={`health health-${healthTone(h.level)}`} role="status" aria-label={t('company.health')}>
          <strong>
            {t('company.health')}: {t(`health.${h.level}`)}
          </strong>
          {h.warnings.length > 0 && (
            <ul>
              {h.warnings.map((w) => (
                <li key={w}>{w}</li>
              ))}
            </ul>
          )}
          <p className="small">
            {t('company.openTickets', { count: h.openTickets })} · {t('company.criticalTickets', { count: h.openCriticalTickets })} ·{' '}
            {t('company.overduePayments', { count: h.overduePayments })}
            {h.overdueAmounts.length > 0 && ` (${h.overdueAmounts.map(money).join(', ')})`}
          </p>
          {h.level === 'CRITICAL' && <p>{t('company.offersBlocked')}</p>}
        </div>
      )}
      <div className="grid">
        <section aria-labelledby="people">
          <h2 id="people">{t('company.people')}</h2>
          {!c.contacts.edges.length ? (
            <Empty>{t('company.noPeople')}</Empty>
          ) : (
            <ul className="list">
              {c.contacts.edges.map(({ node }) => (
                <li key={node.id}>
                  <strong>{node.name}</strong> {node.jobTitle && <span className="muted">{node.jobTitle}</span>}
                  <br />
                  {node.email ?? ''} {node.phone ?? ''} <Badge tone="info">{node.lifecycle}</Badge>
                  {node.campaigns?.edges.length ? (
                    <span className="small">
                      {' '}
                      · {t('company.campaigns')}: {node.campaigns.edges.map((e) => `${e.node.campaign?.name ?? '?'} (${e.node.status})`).join(', ')}
                    </span>
                  ) : null}
                </li>
              ))}
            </ul>
          )}
        </section>
        <section aria-labelledby="deals">
          <h2 id="deals">{t('company.deals')}</h2>
          {!c.deals?.edges.length ? (
            <Empty>{t('company.noDeals')}</Empty>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('deal.title')}</th>
                  <th scope="col">{t('deal.stage')}</th>
                  <th scope="col">{t('deal.amount')}</th>
                  <th scope="col">{t('company.estimates')}</th>
                </tr>
              </thead>
              <tbody>
                {c.deals.edges.map(({ node: d }) => (
                  <tr key={d.id}>
                    <td>
                      {d.title} <Badge tone="info">{d.status}</Badge>
                    </td>
                    <td>{d.stage?.name ?? '—'}</td>
                    <td>{money(d.amount)}</td>
                    <td>
                      {d.estimates?.edges.map((e) => (
                        <span key={e.node.id} className="small">
                          v{e.node.revision} {e.node.status} {money(e.node.totals?.total)}
                          <br />
                        </span>
                      ))}
                      <Link to={`/deals/${d.id}/estimates`}>{t('company.openEstimates')}</Link>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {(role === 'sales' || role === 'admin') && <NewDeal companyId={c.id} onCreated={() => refetch({ requestPolicy: 'network-only' })} />}
        </section>
        <CustomFieldValues
          companyId={c.id}
          version={c.version}
          fields={c.customFields ?? []}
          canEdit={['admin', 'sales', 'marketing', 'support'].includes(role)}
          onSaved={() => refetch({ requestPolicy: 'network-only' })}
        />
        <section aria-labelledby="tickets">
          <h2 id="tickets">{t('company.tickets')}</h2>
          {!c.tickets?.edges.length ? (
            <Empty>{t('company.noTickets')}</Empty>
          ) : (
            <ul className="list">
              {c.tickets.edges.map(({ node }) => (
                <li key={node.id}>
                  <Badge tone={node.priority === 'CRITICAL' ? 'bad' : node.priority === 'HIGH' ? 'warn' : 'info'}>{node.priority}</Badge>{' '}
                  {role === 'support' || role === 'admin' ? <Link to={`/tickets/${node.id}`}>{node.subject}</Link> : node.subject}{' '}
                  <span className="muted">
                    {node.status} · {date(node.openedAt)}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </section>
        <section aria-labelledby="timeline">
          <h2 id="timeline">{t('company.timeline')}</h2>
          {!c.timeline?.edges.length ? (
            <Empty>{t('company.noTimeline')}</Empty>
          ) : (
            <ol className="timeline">
              {c.timeline.edges.map(({ node }) => (
                <li key={node.id}>
                  <time dateTime={node.occurredAt}>{dateTime(node.occurredAt)}</time> <Badge tone="info">{node.kind}</Badge> {node.title}
                  <span className="muted small">
                    {' '}
                    · {node.source}
                    {node.by ? ` · ${node.by}` : ''}
                  </span>
                </li>
              ))}
            </ol>
          )}
        </section>
      </div>
    </Page>
  );
}

function NewDeal({ companyId, onCreated }: { companyId: string; onCreated: () => void }) {
  const { t } = useTranslation();
  const [title, setTitle] = useState('');
  const [amount, setAmount] = useState('');
  const [result, create] = useMutation(CreateDealDocument);
  const [done, setDone] = useState<string>();
  const payload = result.data?.createDeal;
  return (
    <form
      className="card"
      aria-labelledby="new-deal"
      onSubmit={async (e) => {
        e.preventDefault();
        setDone(undefined);
        const r = await create({ input: { companyId, title, amount: amount || null, currency: 'EUR' } });
        if (r.data?.createDeal?.deal) {
          setDone(r.data.createDeal.deal.title);
          setTitle('');
          setAmount('');
          onCreated();
        }
      }}
    >
      <h3 id="new-deal">{t('deal.new')}</h3>
      <label>
        {t('deal.title')} <input required value={title} onChange={(e) => setTitle(e.target.value)} />
      </label>
      <label>
        {t('deal.amountEur')} <input inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} />
      </label>
      <button type="submit" className="primary" disabled={result.fetching}>
        {t('deal.create')}
      </button>
      <Failure error={result.error} />
      <PayloadErrors errors={payload?.errors} />
      {done && <p role="status">{t('deal.created', { title: done })}</p>}
    </form>
  );
}
