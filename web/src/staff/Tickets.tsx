import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { useMutation, useQuery } from 'urql';
import { date } from '../format';
import { ResolveTicketDocument, TicketQueueDocument } from '../gql/graphql';
import type { TicketStatus } from '../gql/graphql';
import { Badge, Empty, Failure, Loading, Page, Pager, PayloadErrors } from '../ui';
import type { UserErr } from '../ui';
import { SlaTimer } from './sla';

const STATUSES: TicketStatus[] = ['OPEN', 'IN_PROGRESS', 'WAITING', 'RESOLVED', 'CLOSED'];

export default function TicketQueue() {
  const { t } = useTranslation();
  const [status, setStatus] = useState<TicketStatus | ''>('OPEN');
  const [after, setAfter] = useState<string | null>(null);
  const [{ data, fetching, error }, refetch] = useQuery({
    query: TicketQueueDocument,
    variables: { status: status || null, first: 25, after },
  });
  const tickets = data?.tickets;
  return (
    <Page
      title={t('tickets.title')}
      actions={
        <label>
          {t('tickets.status')}{' '}
          <select
            value={status}
            onChange={(e) => {
              setAfter(null);
              setStatus(e.target.value as TicketStatus | '');
            }}
          >
            <option value="">{t('tickets.all')}</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {t(`ticketStatus.${s}`)}
              </option>
            ))}
          </select>
        </label>
      }
    >
      <Failure error={error} />
      {fetching && !data ? (
        <Loading />
      ) : !tickets?.edges.length ? (
        <Empty>{t('tickets.none')}</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{t('tickets.subject')}</th>
              <th scope="col">{t('tickets.client')}</th>
              <th scope="col">{t('tickets.priority')}</th>
              <th scope="col">{t('tickets.status')}</th>
              <th scope="col">{t('tickets.sla')}</th>
              <th scope="col">{t('tickets.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {tickets.edges.map(({ node: tk }) => (
              <tr key={tk.id} data-ticket={tk.subject}>
                <td>
                  <Link to={`/tickets/${tk.id}`}>{tk.subject}</Link>
                  <br />
                  <span className="small muted">{date(tk.openedAt)}</span>
                </td>
                <td>{tk.company ? <Link to={`/companies/${tk.company.id}`}>{tk.company.name}</Link> : '—'}</td>
                <td>
                  <Badge tone={tk.priority === 'CRITICAL' ? 'bad' : tk.priority === 'HIGH' ? 'warn' : 'info'}>{tk.priority}</Badge>
                </td>
                <td>{t(`ticketStatus.${tk.status}`)}</td>
                <td>
                  <SlaTimer clock={tk.sla?.firstResponse} label={t('sla.response')} />{' '}
                  <SlaTimer clock={tk.sla?.resolution} label={t('sla.resolution')} />
                </td>
                <td>
                  {tk.status !== 'RESOLVED' && tk.status !== 'CLOSED' && (
                    <QuickResolve id={tk.id} version={tk.version} subject={tk.subject} onDone={() => refetch({ requestPolicy: 'network-only' })} />
                  )}
                </td>
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

export function QuickResolve({ id, version, subject, onDone }: { id: string; version: number; subject: string; onDone: () => void }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const [text, setText] = useState('');
  const [errors, setErrors] = useState<UserErr[]>();
  const [state, resolve] = useMutation(ResolveTicketDocument);
  if (!open)
    return (
      <button type="button" onClick={() => setOpen(true)} aria-label={t('tickets.resolveLabel', { subject })}>
        {t('tickets.resolve')}
      </button>
    );
  return (
    <form
      className="row"
      onSubmit={async (e) => {
        e.preventDefault();
        const r = await resolve({ input: { id, expectedVersion: version, resolution: text } });
        const p = r.data?.resolveTicket;
        setErrors(p?.errors ?? (r.error ? [{ code: 'INVALID', message: r.error.message }] : undefined));
        if (p?.ticket) onDone();
      }}
    >
      <label>
        {t('tickets.resolution')} <input required value={text} onChange={(e) => setText(e.target.value)} />
      </label>
      <button type="submit" className="primary" disabled={state.fetching}>
        {t('tickets.confirmResolve')}
      </button>
      <PayloadErrors errors={errors} />
    </form>
  );
}
