import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, Route, Routes, useNavigate, useParams } from 'react-router-dom';
import { useMutation, useQuery } from 'urql';
import { date, dateTime, money } from '../format';
import {
  CustomerCommentDocument,
  CustomerMoneyDocument,
  CustomerOpenTicketDocument,
  CustomerTicketDocument,
  CustomerTicketsDocument,
  KnowledgeSearchDocument,
  PortalMeDocument,
} from '../gql/graphql';
import type { TicketPriority } from '../gql/graphql';
import { Badge, Empty, Failure, Loading, Page, Pager, PayloadErrors } from '../ui';
import type { UserErr } from '../ui';

export default function CustomerPortal() {
  return (
    <Routes>
      <Route path="tickets" element={<MyTickets />} />
      <Route path="tickets/:id" element={<MyTicket />} />
      <Route path="kb" element={<Knowledge />} />
      <Route path="money" element={<Money />} />
      <Route path="*" element={<MyTickets />} />
    </Routes>
  );
}

function MyTickets() {
  const { t } = useTranslation();
  const [after, setAfter] = useState<string | null>(null);
  const [{ data, fetching, error }, refetch] = useQuery({ query: CustomerTicketsDocument, variables: { first: 20, after } });
  const tickets = data?.tickets;
  return (
    <Page title={t('portal.myTickets')}>
      <Failure error={error} />
      <OpenTicket onOpened={() => refetch({ requestPolicy: 'network-only' })} />
      {fetching && !data ? (
        <Loading />
      ) : !tickets?.edges.length ? (
        <Empty>{t('tickets.none')}</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{t('tickets.subject')}</th>
              <th scope="col">{t('tickets.status')}</th>
              <th scope="col">{t('tickets.priority')}</th>
              <th scope="col">{t('portal.opened')}</th>
            </tr>
          </thead>
          <tbody>
            {tickets.edges.map(({ node }) => (
              <tr key={node.id}>
                <td>
                  <Link to={`/portal/tickets/${node.id}`}>{node.subject}</Link>
                </td>
                <td>{t(`ticketStatus.${node.status}`)}</td>
                <td>{node.priority}</td>
                <td>{date(node.openedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager
        hasNext={!!tickets?.pageInfo.hasNextPage}
        isFirst={after === null}
        onFirst={() => setAfter(null)}
        onNext={() => setAfter(tickets?.pageInfo.endCursor ?? null)}
      />
    </Page>
  );
}

function OpenTicket({ onOpened }: { onOpened: () => void }) {
  const { t } = useTranslation();
  const [{ data: me }] = useQuery({ query: PortalMeDocument });
  const [subject, setSubject] = useState('');
  const [description, setDescription] = useState('');
  const [priority, setPriority] = useState<TicketPriority>('NORMAL');
  const [errors, setErrors] = useState<UserErr[]>();
  const [state, open] = useMutation(CustomerOpenTicketDocument);
  const navigate = useNavigate();
  return (
    <form
      className="card"
      aria-labelledby="open-ticket"
      onSubmit={async (e) => {
        e.preventDefault();
        const companyId = me?.me.companyId;
        if (!companyId) return;
        const r = await open({ input: { companyId, contactId: me?.me.contactId ?? null, subject, description: description || null, priority } });
        const p = r.data?.openTicket;
        setErrors(p?.errors ?? (r.error ? [{ code: 'INVALID', message: r.error.message }] : undefined));
        if (p?.ticket) {
          onOpened();
          navigate(`/portal/tickets/${p.ticket.id}`);
        }
      }}
    >
      <h2 id="open-ticket">{t('portal.openTicket')}</h2>
      <label>
        {t('tickets.subject')} <input required value={subject} onChange={(e) => setSubject(e.target.value)} />
      </label>
      <label htmlFor="ticket-description">{t('portal.description')}</label>
      <textarea id="ticket-description" rows={3} value={description} onChange={(e) => setDescription(e.target.value)} />
      <label>
        {t('tickets.priority')}{' '}
        <select value={priority} onChange={(e) => setPriority(e.target.value as TicketPriority)}>
          {(['LOW', 'NORMAL', 'HIGH', 'CRITICAL'] as TicketPriority[]).map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" className="primary" disabled={state.fetching || !me?.me.companyId}>
        {t('portal.submitTicket')}
      </button>
      <PayloadErrors errors={errors} />
    </form>
  );
}

function MyTicket() {
  const { t } = useTranslation();
  const { id = '' } = useParams();
  const [{ data, fetching, error }, refetch] = useQuery({ query: CustomerTicketDocument, variables: { id } });
  const [body, setBody] = useState('');
  const [errors, setErrors] = useState<UserErr[]>();
  const [state, comment] = useMutation(CustomerCommentDocument);
  const tk = data?.ticket;
  if (fetching && !data) return <Loading />;
  if (error) return <Failure error={error} />;
  if (!tk) return <Page title={t('errors.notFoundTitle')}>{t('errors.notFound')}</Page>;
  return (
    <Page title={tk.subject}>
      <p>
        {t(`ticketStatus.${tk.status}`)} · {tk.priority} · {t('portal.opened')} {date(tk.openedAt)}
      </p>
      {tk.description && <p className="card">{tk.description}</p>}
      {tk.resolution && (
        <p>
          <strong>{t('tickets.resolution')}:</strong> {tk.resolution}
        </p>
      )}
      <h2>{t('tickets.comments')}</h2>
      {!tk.comments?.edges.length ? (
        <Empty>{t('tickets.noComments')}</Empty>
      ) : (
        <ol className="comments">
          {tk.comments.edges.map(({ node: c }) => (
            <li key={c.id}>
              <p className="small muted">
                {c.authorRole === 'customer' ? t('portal.you') : t('portal.support')} · {dateTime(c.createdAt)}
              </p>
              <p>{c.body}</p>
            </li>
          ))}
        </ol>
      )}
      <form
        className="card"
        onSubmit={async (e) => {
          e.preventDefault();
          const r = await comment({ input: { ticketId: tk.id, body } });
          const p = r.data?.addTicketComment;
          setErrors(p?.errors ?? (r.error ? [{ code: 'INVALID', message: r.error.message }] : undefined));
          if (p?.comment) {
            setBody('');
            refetch({ requestPolicy: 'network-only' });
          }
        }}
      >
        <label htmlFor="reply">{t('portal.reply')}</label>
        <textarea id="reply" required rows={3} value={body} onChange={(e) => setBody(e.target.value)} />
        <button type="submit" className="primary" disabled={state.fetching}>
          {t('tickets.post')}
        </button>
        <PayloadErrors errors={errors} />
      </form>
    </Page>
  );
}

function Knowledge() {
  const { t } = useTranslation();
  const [text, setText] = useState('');
  const [q, setQ] = useState('');
  const [{ data, fetching, error }] = useQuery({ query: KnowledgeSearchDocument, variables: { query: q }, pause: !q });
  const articles = data?.searchKb?.articles ?? [];
  return (
    <Page title={t('portal.kb')}>
      <form
        role="search"
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          setQ(text.trim());
        }}
      >
        <label htmlFor="kb-q">{t('portal.kbSearch')}</label>
        <input id="kb-q" type="search" value={text} onChange={(e) => setText(e.target.value)} />
        <button type="submit" className="primary">
          {t('search.go')}
        </button>
      </form>
      <Failure error={error} />
      {fetching ? <Loading /> : q && !articles.length ? <Empty>{t('portal.kbNone')}</Empty> : null}
      {articles.map((a) => (
        <article key={a.id} className="card">
          <h2>{a.title}</h2>
          {a.category && <Badge tone="info">{a.category}</Badge>}
          <p>{a.body}</p>
        </article>
      ))}
    </Page>
  );
}

function Money() {
  const { t } = useTranslation();
  const [{ data, fetching, error }] = useQuery({ query: CustomerMoneyDocument });
  if (fetching && !data) return <Loading />;
  const estimates = data?.estimates?.edges ?? [];
  const payments = data?.paymentMilestones?.edges ?? [];
  return (
    <Page title={t('portal.money')}>
      <Failure error={error} />
      <h2>{t('portal.estimates')}</h2>
      {!estimates.length ? (
        <Empty>{t('estimates.none')}</Empty>
      ) : (
        <ul className="list">
          {estimates.map(({ node: e }) => (
            <li key={e.id}>
              {e.title ?? t('portal.estimate')} v{e.revision} · {e.status} · {money(e.totals?.total)} · {t('portal.validUntil')} {date(e.validUntil)}
            </li>
          ))}
        </ul>
      )}
      <h2>{t('portal.payments')}</h2>
      {!payments.length ? (
        <Empty>{t('portal.noPayments')}</Empty>
      ) : (
        <ul className="list">
          {payments.map(({ node: p }) => (
            <li key={p.id}>
              {p.title} · {money(p.amount)} · {t('portal.due')} {date(p.dueDate)} · {p.status}
            </li>
          ))}
        </ul>
      )}
    </Page>
  );
}
