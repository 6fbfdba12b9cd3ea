import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router-dom';
import { useMutation, useQuery } from 'urql';
import { dateTime } from '../format';
import { StaffCommentDocument, StaffTicketDocument } from '../gql/graphql';
import { Badge, Empty, Failure, Loading, Page, PayloadErrors } from '../ui';
import type { UserErr } from '../ui';
import { SlaTimer } from './sla';
import { QuickResolve } from './Tickets';

export default function TicketDetail() {
  const { t } = useTranslation();
  const { id = '' } = useParams();
  const [{ data, fetching, error }, refetch] = useQuery({ query: StaffTicketDocument, variables: { id } });
  const [body, setBody] = useState('');
  const [internal, setInternal] = useState(false);
  const [errors, setErrors] = useState<UserErr[]>();
  const [state, comment] = useMutation(StaffCommentDocument);
  const tk = data?.ticket;
  if (fetching && !data) return <Loading />;
  if (error) return <Failure error={error} />;
  if (!tk) return <Page title={t('errors.notFoundTitle')}>{t('errors.notFound')}</Page>;
  const reload = () => refetch({ requestPolicy: 'network-only' });
  return (
    <Page title={tk.subject}>
      <p>
        {tk.company && <Link to={`/companies/${tk.company.id}`}>{tk.company.name}</Link>} · <Badge tone="info">{tk.priority}</Badge> ·{' '}
        {t(`ticketStatus.${tk.status}`)} · {t('tickets.assignee')} {tk.assignee ?? '—'}
      </p>
      <p>
        <SlaTimer clock={tk.sla?.firstResponse} label={t('sla.response')} /> <SlaTimer clock={tk.sla?.resolution} label={t('sla.resolution')} />
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
            <li key={c.id} className={c.internal ? 'internal' : ''}>
              <p className="small muted">
                {c.author} ({c.authorRole}) · {dateTime(c.createdAt)} {c.internal && <Badge tone="warn">{t('tickets.internal')}</Badge>}
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
          const r = await comment({ input: { ticketId: tk.id, body, internal } });
          const p = r.data?.addTicketComment;
          setErrors(p?.errors ?? (r.error ? [{ code: 'INVALID', message: r.error.message }] : undefined));
          if (p?.comment) {
            setBody('');
            reload();
          }
        }}
      >
        <label htmlFor="comment-body">{t('tickets.addComment')}</label>
        <textarea id="comment-body" required rows={3} value={body} onChange={(e) => setBody(e.target.value)} />
        <label>
          <input type="checkbox" checked={internal} onChange={(e) => setInternal(e.target.checked)} /> {t('tickets.internalNote')}
        </label>
        <button type="submit" className="primary" disabled={state.fetching}>
          {t('tickets.post')}
        </button>
        <PayloadErrors errors={errors} />
      </form>
      {tk.status !== 'RESOLVED' && tk.status !== 'CLOSED' && <QuickResolve id={tk.id} version={tk.version} subject={tk.subject} onDone={reload} />}
    </Page>
  );
}
