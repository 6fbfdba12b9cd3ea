// Possible duplicates (findDuplicates) and a merge with a side-by-side, field-by-field choice.
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { useMutation, useQuery } from 'urql';
import type { RecordKind } from '../gql/graphql';
import { CompanyPairDocument, ContactPairDocument, DuplicatesDocument, MergeCompaniesDocument, MergeContactsDocument } from '../gql/graphql';
import { Badge, Empty, Failure, Loading, Page, PayloadErrors } from '../ui';

const FIELDS: Record<RecordKind, string[]> = {
  COMPANY: ['name', 'kind', 'website', 'industry', 'city', 'country', 'owner'],
  CONTACT: ['firstName', 'lastName', 'email', 'phone', 'jobTitle', 'lifecycle', 'owner'],
};

export default function Duplicates() {
  const { t } = useTranslation();
  const [kind, setKind] = useState<RecordKind>('COMPANY');
  const [pair, setPair] = useState<[string, string]>();
  const [merged, setMerged] = useState<{ id: string; name: string }>();
  const [{ data, fetching, error }, refetch] = useQuery({ query: DuplicatesDocument, variables: { kind }, requestPolicy: 'network-only' });
  const matches = data?.findDuplicates ?? [];
  const nameOf = (id: string) => {
    const m = matches.find((x) => x.id === id || x.duplicateOf === id);
    const rec = m && (m.id === id ? (m.company ?? m.contact) : null);
    return rec?.name ?? id;
  };
  return (
    <Page
      title={t('dupes.title')}
      actions={
        <label>
          {t('dupes.kind')}{' '}
          <select
            value={kind}
            onChange={(e) => {
              setPair(undefined);
              setKind(e.target.value as RecordKind);
            }}
          >
            <option value="COMPANY">{t('dupes.companies')}</option>
            <option value="CONTACT">{t('dupes.contacts')}</option>
          </select>
        </label>
      }
    >
      <Failure error={error} />
      {merged && (
        <p role="status" className="alert alert-ok">
          {t('dupes.merged')} {kind === 'COMPANY' ? <Link to={`/companies/${merged.id}`}>{merged.name}</Link> : merged.name}
        </p>
      )}
      {fetching && !data ? (
        <Loading />
      ) : !matches.length ? (
        <Empty>{t('dupes.none')}</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{t('dupes.record')}</th>
              <th scope="col">{t('dupes.duplicateOf')}</th>
              <th scope="col">{t('dupes.score')}</th>
              <th scope="col">{t('dupes.reasons')}</th>
              <th scope="col">{t('tickets.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {matches.map((m) => {
              const name = (m.company ?? m.contact)?.name ?? m.id;
              return (
                <tr key={`${m.id}.${m.duplicateOf}`} data-duplicate={name}>
                  <td>{name}</td>
                  <td>{nameOf(m.duplicateOf)}</td>
                  <td>
                    <Badge tone={m.score >= 80 ? 'bad' : 'warn'}>{m.score}</Badge>
                  </td>
                  <td className="small">{m.reasons.join(', ')}</td>
                  <td>
                    <button type="button" onClick={() => setPair([m.duplicateOf, m.id])} aria-label={t('dupes.compareLabel', { name })}>
                      {t('dupes.compare')}
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {pair && (
        <Compare
          key={`${kind}.${pair.join('.')}`}
          kind={kind}
          a={pair[0]}
          b={pair[1]}
          onCancel={() => setPair(undefined)}
          onMerged={(rec) => {
            setPair(undefined);
            setMerged(rec);
            refetch({ requestPolicy: 'network-only' });
          }}
        />
      )}
    </Page>
  );
}

type Rec = Record<string, unknown> & { id: string };

function Compare({ kind, a, b, onMerged, onCancel }: { kind: RecordKind; a: string; b: string; onMerged: (r: { id: string; name: string }) => void; onCancel: () => void }) {
  const { t } = useTranslation();
  const [companies] = useQuery({ query: CompanyPairDocument, variables: { a, b }, pause: kind !== 'COMPANY', requestPolicy: 'network-only' });
  const [contacts] = useQuery({ query: ContactPairDocument, variables: { a, b }, pause: kind !== 'CONTACT', requestPolicy: 'network-only' });
  const [mc, mergeCompanies] = useMutation(MergeCompaniesDocument);
  const [mp, mergeContacts] = useMutation(MergeContactsDocument);
  const [survivor, setSurvivor] = useState(a);
  const [choice, setChoice] = useState<Record<string, string>>({});
  const q = kind === 'COMPANY' ? companies : contacts;
  const recA = q.data?.a as Rec | null | undefined;
  const recB = q.data?.b as Rec | null | undefined;
  if (q.fetching && !q.data) return <Loading />;
  if (q.error) return <Failure error={q.error} />;
  if (!recA || !recB) return <Empty>{t('errors.notFound')}</Empty>;
  const recs = [recA, recB];
  const show = (v: unknown) => (v === null || v === undefined || v === '' ? '—' : String(v));
  const title = (r: Rec) => (kind === 'COMPANY' ? String(r.name) : `${String(r.firstName)} ${String(r.lastName)}`);
  const errors = kind === 'COMPANY' ? mc.data?.mergeCompanies?.errors : mp.data?.mergeContacts?.errors;
  return (
    <form
      className="card"
      aria-labelledby="compare"
      onSubmit={async (e) => {
        e.preventDefault();
        const other = survivor === a ? b : a;
        // a field left on the survivor's side needs no choice; the others name the record to take it from
        const choices = Object.entries(choice)
          .filter(([, from]) => from !== survivor)
          .map(([field, fromId]) => ({ field, fromId }));
        const input = { survivorId: survivor, mergedIds: [other], choices };
        if (kind === 'COMPANY') {
          const r = await mergeCompanies({ input });
          const c = r.data?.mergeCompanies?.company;
          if (c) onMerged(c);
        } else {
          const r = await mergeContacts({ input });
          const c = r.data?.mergeContacts?.contact;
          if (c) onMerged(c);
        }
      }}
    >
      <h2 id="compare">{t('dupes.sideBySide')}</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">{t('dupes.field')}</th>
            {recs.map((r, i) => (
              <th scope="col" key={r.id}>
                {t(i === 0 ? 'dupes.recordA' : 'dupes.recordB')}: {title(r)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          <tr>
            <th scope="row">{t('dupes.survivor')}</th>
            {recs.map((r) => (
              <td key={r.id}>
                <label>
                  <input type="radio" name="survivor" checked={survivor === r.id} onChange={() => setSurvivor(r.id)} /> {t('dupes.keep', { name: title(r) })}
                </label>
              </td>
            ))}
          </tr>
          {FIELDS[kind].map((f) => {
            // what the server keeps without a choice: the survivor's value, or the other's when it has none
            const kept = survivor === a ? recA : recB;
            const other = survivor === a ? recB : recA;
            const from = choice[f] ?? (show(kept[f]) === '—' ? other.id : survivor);
            const differ = show(recA[f]) !== show(recB[f]);
            return (
              <tr key={f} className={differ ? 'differs' : undefined}>
                <th scope="row">{t(`dupes.fields.${f}`)}</th>
                {recs.map((r) => (
                  <td key={r.id}>
                    {differ ? (
                      <label>
                        <input type="radio" name={`field-${f}`} checked={from === r.id} onChange={() => setChoice({ ...choice, [f]: r.id })} /> {show(r[f])}
                      </label>
                    ) : (
                      show(r[f])
                    )}
                  </td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
      <p className="small muted">{t('dupes.note')}</p>
      <div className="row">
        <button type="submit" className="primary" disabled={mc.fetching || mp.fetching}>
          {t('dupes.merge')}
        </button>
        <button type="button" onClick={onCancel}>
          {t('dupes.cancel')}
        </button>
      </div>
      <Failure error={mc.error ?? mp.error} />
      <PayloadErrors errors={errors} />
    </form>
  );
}
