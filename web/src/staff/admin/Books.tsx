import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { useMutation, useQuery } from 'urql';
import { dateTime, money } from '../../format';
import { TransferBookDocument, TransferProgressDocument, UserBookDocument } from './gql/graphql';
import { Badge, Empty, Failure, Loading, Page, PayloadErrors } from '../../ui';
import { usePoll } from '../poll';

export default function Books() {
  const { t } = useTranslation();
  const [draft, setDraft] = useState('');
  const [user, setUser] = useState('');
  return (
    <Page title={t('books.title')}>
      <form
        className="row"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setUser(draft.trim());
        }}
      >
        <label>
          {t('books.user')} <input value={draft} onChange={(e) => setDraft(e.target.value)} placeholder="sales.anna" required />
        </label>
        <button type="submit">{t('books.show')}</button>
      </form>
      <p className="small muted">{t('books.usersNote')}</p>
      {user && <Book key={user} user={user} />}
    </Page>
  );
}

function Book({ user }: { user: string }) {
  const { t } = useTranslation();
  const [{ data, fetching, error }, refetch] = useQuery({ query: UserBookDocument, variables: { user }, requestPolicy: 'network-only' });
  const reload = useCallback(() => refetch({ requestPolicy: 'network-only' }), [refetch]);
  if (fetching && !data) return <Loading />;
  if (error) return <Failure error={error} />;
  const h = data?.handoverNeeded;
  return (
    <>
      {h && (
        <section aria-labelledby="handover" className={`card ${h.needed ? 'alert-warn' : ''}`}>
          <h2 id="handover">{t('books.handover', { user })}</h2>
          <p role="status">{h.needed ? t('books.needed') : t('books.notNeeded')}</p>
          <dl className="counts">
            {(['companies', 'contacts', 'openLeads', 'openDeals', 'openActivities'] as const).map((k) => (
              <div key={k}>
                <dt>{t(`books.${k}`)}</dt>
                <dd data-count={k}>{h[k]}</dd>
              </div>
            ))}
          </dl>
        </section>
      )}
      <div className="grid">
        <section aria-labelledby="book-companies">
          <h2 id="book-companies">{t('books.companies')}</h2>
          {!data?.companies?.edges.length ? (
            <Empty>{t('books.none')}</Empty>
          ) : (
            <ul className="list">
              {data.companies.edges.map(({ node }) => (
                <li key={node.id}>
                  <Link to={`/companies/${node.id}`}>{node.name}</Link> <span className="muted small">{node.city ?? ''}</span>
                </li>
              ))}
            </ul>
          )}
        </section>
        <section aria-labelledby="book-deals">
          <h2 id="book-deals">{t('books.openDeals')}</h2>
          {!data?.deals?.edges.length ? (
            <Empty>{t('books.none')}</Empty>
          ) : (
            <ul className="list">
              {data.deals.edges.map(({ node }) => (
                <li key={node.id}>
                  {node.title} <span className="muted small">{node.company?.name ?? ''} · {money(node.amount)}</span>
                </li>
              ))}
            </ul>
          )}
        </section>
        <section aria-labelledby="book-activities">
          <h2 id="book-activities">{t('books.openActivities')}</h2>
          {!data?.activities?.edges.length ? (
            <Empty>{t('books.none')}</Empty>
          ) : (
            <ul className="list">
              {data.activities.edges.map(({ node }) => (
                <li key={node.id}>
                  <Badge tone="info">{node.kind}</Badge> {node.title} <span className="muted small">{dateTime(node.dueAt)}</span>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
      <Transfer from={user} onDone={reload} />
    </>
  );
}

function Transfer({ from, onDone }: { from: string; onDone: () => void }) {
  const { t } = useTranslation();
  const [to, setTo] = useState('');
  const [deals, setDeals] = useState(true);
  const [activities, setActivities] = useState(true);
  const [tickets, setTickets] = useState(true);
  const [jobId, setJobId] = useState<string>();
  const [started, start] = useMutation(TransferBookDocument);
  const [{ data }, refetch] = useQuery({ query: TransferProgressDocument, variables: { id: jobId ?? '' }, pause: !jobId, requestPolicy: 'network-only' });
  const job = data?.transferJob ?? started.data?.transferBook?.job;
  const running = !!job && job.state === 'running';
  const tick = useCallback(() => refetch({ requestPolicy: 'network-only' }), [refetch]);
  usePoll(running, tick);
  const finished = job && !running ? job.id : undefined;
  useEffect(() => {
    if (finished) onDone();
  }, [finished, onDone]);
  return (
    <form
      className="card"
      aria-labelledby="transfer"
      onSubmit={async (e) => {
        e.preventDefault();
        const r = await start({ input: { fromOwner: from, toOwner: to.trim(), includeDeals: deals, includeActivities: activities, includeTickets: tickets } });
        const id = r.data?.transferBook?.job?.id;
        if (id) setJobId(id);
      }}
    >
      <h2 id="transfer">{t('books.transfer', { user: from })}</h2>
      <label>
        {t('books.to')} <input required value={to} onChange={(e) => setTo(e.target.value)} />
      </label>
      <label>
        <input type="checkbox" checked={deals} onChange={(e) => setDeals(e.target.checked)} /> {t('books.includeDeals')}
      </label>
      <label>
        <input type="checkbox" checked={activities} onChange={(e) => setActivities(e.target.checked)} /> {t('books.includeActivities')}
      </label>
      <label>
        <input type="checkbox" checked={tickets} onChange={(e) => setTickets(e.target.checked)} /> {t('books.includeTickets')}
      </label>
      <button type="submit" className="primary" disabled={started.fetching || running}>
        {t('books.start')}
      </button>
      <Failure error={started.error} />
      <PayloadErrors errors={started.data?.transferBook?.errors} />
      {job && (
        <div role="status" aria-live="polite" className="progress-box">
          <label>
            {t('books.progress')} <progress max={Math.max(job.total, 1)} value={job.state === 'done' ? Math.max(job.total, 1) : job.done} />
          </label>{' '}
          <span data-testid="transfer-state">
            {t(`jobState.${job.state}`, { defaultValue: job.state })} · {t('books.doneOf', { done: job.done, total: job.total })}
          </span>
          {job.moved.length > 0 && (
            <ul className="list small">
              {job.moved.map((m) => (
                <li key={`${m.service}.${m.entity}`}>
                  {m.service} · {m.entity}: {m.count}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </form>
  );
}
