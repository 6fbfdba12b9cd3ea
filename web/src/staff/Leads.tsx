import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useMutation, useQuery } from 'urql';
import { date } from '../format';
import { LeadInboxDocument, SetLeadStatusDocument } from '../gql/graphql';
import type { LeadStatus } from '../gql/graphql';
import { Badge, Empty, Failure, Loading, Page, Pager, PayloadErrors } from '../ui';
import type { UserErr } from '../ui';

const STATUSES: LeadStatus[] = ['NEW', 'WORKING', 'QUALIFIED', 'DISQUALIFIED', 'CONVERTED'];

export default function Leads() {
  const { t } = useTranslation();
  const [status, setStatus] = useState<LeadStatus>('NEW');
  const [after, setAfter] = useState<string | null>(null);
  const [{ data, fetching, error }, refetch] = useQuery({ query: LeadInboxDocument, variables: { status, first: 25, after } });
  const [, setLead] = useMutation(SetLeadStatusDocument);
  const [errors, setErrors] = useState<UserErr[]>();
  const leads = data?.leads;
  return (
    <Page
      title={t('leads.title')}
      actions={
        <label>
          {t('leads.status')}{' '}
          <select
            value={status}
            onChange={(e) => {
              setAfter(null);
              setStatus(e.target.value as LeadStatus);
            }}
          >
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
      }
    >
      <Failure error={error} />
      <PayloadErrors errors={errors} />
      {fetching && !data ? (
        <Loading />
      ) : !leads?.edges.length ? (
        <Empty>{t('leads.none')}</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{t('leads.name')}</th>
              <th scope="col">{t('leads.company')}</th>
              <th scope="col">{t('leads.source')}</th>
              <th scope="col">{t('leads.score')}</th>
              <th scope="col">{t('leads.received')}</th>
              <th scope="col">{t('tickets.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {leads.edges.map(({ node: l }) => (
              <tr key={l.id}>
                <td>
                  {[l.firstName, l.lastName].filter(Boolean).join(' ') || '—'}
                  <br />
                  <span className="small muted">{l.email}</span>
                </td>
                <td>{l.companyName ?? '—'}</td>
                <td>
                  <Badge tone="info">{l.source}</Badge>
                </td>
                <td>{l.score}</td>
                <td>{date(l.createdAt)}</td>
                <td>
                  {l.status === 'NEW' && (
                    <button
                      type="button"
                      onClick={async () => {
                        const r = await setLead({ input: { id: l.id, expectedVersion: l.version, status: 'WORKING' } });
                        setErrors(r.data?.setLeadStatus?.errors);
                        refetch({ requestPolicy: 'network-only' });
                      }}
                    >
                      {t('leads.work')}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager
        hasNext={!!leads?.pageInfo.hasNextPage}
        isFirst={after === null}
        onFirst={() => setAfter(null)}
        onNext={() => setAfter(leads?.pageInfo.endCursor ?? null)}
      />
    </Page>
  );
}
