// CSV import (docs/import.md): the file goes to the contacts service's POST /imports/files on this
// origin (the gateway serves GraphQL only; a deployment routes /imports/ to contacts), with the
// same bearer token as /graphql; mapping, dry run, run and progress are GraphQL.
import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useMutation, useQuery } from 'urql';
import type { Session } from '../auth';
import type { ImportEntity, MatchKey } from '../gql/graphql';
import { CancelImportDocument, ImportProgressDocument, ImportSetupDocument, SaveImportMappingDocument, StartImportDocument } from '../gql/graphql';
import { Failure, Page, PayloadErrors } from '../ui';
import { usePoll } from './poll';

const FIELDS: Record<ImportEntity, string[]> = {
  COMPANY: ['name', 'kind', 'website', 'domain', 'industry', 'city', 'country', 'phone', 'owner', 'registration_number', 'vat_number', 'external_id'],
  CONTACT: ['first_name', 'last_name', 'email', 'phone', 'job_title', 'lifecycle', 'owner', 'country', 'external_id', 'company_id', 'company_domain', 'company_name'],
};
const MATCH: Record<ImportEntity, MatchKey[]> = {
  COMPANY: ['EXTERNAL_ID', 'REGISTRATION', 'VAT', 'DOMAIN', 'NAME'],
  CONTACT: ['EXTERNAL_ID', 'EMAIL'],
};
const ALIASES: Record<string, string> = { e_mail: 'email', mail: 'email', company: 'company_name', firstname: 'first_name', lastname: 'last_name', title: 'job_title', vat: 'vat_number' };

/** A first guess of the field a column fills: its name normalised, or a common alias. */
export function guess(column: string, fields: string[]): string {
  const n = column.trim().toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '');
  if (fields.includes(n)) return n;
  const a = ALIASES[n];
  return a && fields.includes(a) ? a : '';
}

interface Uploaded {
  id: string;
  name: string;
  columns: string[];
  rows: number;
}

export default function Import({ session }: { session: Session }) {
  const { t } = useTranslation();
  const [entity, setEntity] = useState<ImportEntity>('CONTACT');
  const [file, setFile] = useState<Uploaded>();
  const [uploadError, setUploadError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [map, setMap] = useState<Record<string, string>>({});
  const [jobId, setJobId] = useState<string>();
  const [{ data: setup }] = useQuery({ query: ImportSetupDocument, variables: { entity } });
  const [saved, saveMapping] = useMutation(SaveImportMappingDocument);
  const [started, start] = useMutation(StartImportDocument);
  const [cancelled, cancel] = useMutation(CancelImportDocument);
  const [{ data: progress }, refetch] = useQuery({ query: ImportProgressDocument, variables: { id: jobId ?? '' }, pause: !jobId, requestPolicy: 'network-only' });
  const job = progress?.importJob ?? started.data?.startImport?.job;
  const running = job?.state === 'running';
  const tick = useCallback(() => refetch({ requestPolicy: 'network-only' }), [refetch]);
  usePoll(running, tick);
  const fields = [...FIELDS[entity], ...(setup?.customFieldDefinitions ?? []).filter((d) => d.active).map((d) => `custom.${d.key}`)];
  const labelOf = (f: string) => (f.startsWith('custom.') ? (setup?.customFieldDefinitions?.find((d) => `custom.${d.key}` === f)?.label ?? f) : t(`import.fields.${f}`));

  useEffect(() => {
    if (file) setMap(Object.fromEntries(file.columns.map((c) => [c, guess(c, FIELDS[entity])])));
  }, [file, entity]);

  const upload = async (f: File) => {
    setBusy(true);
    setUploadError(undefined);
    setFile(undefined);
    setJobId(undefined);
    try {
      const r = await fetch(`/imports/files?name=${encodeURIComponent(f.name)}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${session.token}`, 'content-type': 'text/csv' },
        body: f,
      });
      const body = await r.json().catch(() => ({}));
      if (r.status === 201) setFile(body as Uploaded);
      else setUploadError(`${r.status}: ${body?.errors?.[0]?.message ?? r.statusText}`);
    } catch {
      setUploadError(t('errors.network'));
    } finally {
      setBusy(false);
    }
  };

  const run = async (dryRun: boolean) => {
    if (!file) return;
    const columns = Object.entries(map)
      .filter(([, field]) => field)
      .map(([column, field]) => ({ column, field }));
    const m = await saveMapping({ input: { name: file.name, entity, columns, matchOn: MATCH[entity], createCompanies: true } });
    const mappingId = m.data?.saveImportMapping?.mapping?.id;
    if (!mappingId) return;
    const r = await start({ input: { fileId: file.id, mappingId, dryRun } });
    const id = r.data?.startImport?.job?.id;
    if (id) setJobId(id);
  };

  return (
    <Page title={t('import.title')}>
      <section className="card" aria-labelledby="upload">
        <h2 id="upload">{t('import.step1')}</h2>
        <div className="row">
          <label>
            {t('import.entity')}{' '}
            <select value={entity} onChange={(e) => setEntity(e.target.value as ImportEntity)}>
              <option value="CONTACT">{t('import.contacts')}</option>
              <option value="COMPANY">{t('import.companies')}</option>
            </select>
          </label>
          <label>
            {t('import.file')} <input type="file" accept=".csv,text/csv" disabled={busy} onChange={(e) => e.target.files?.[0] && void upload(e.target.files[0])} />
          </label>
        </div>
        {uploadError && (
          <div className="alert alert-error" role="alert">
            {t('import.uploadFailed')} ({uploadError})
          </div>
        )}
        {file && <p role="status">{t('import.uploaded', { name: file.name, rows: file.rows, columns: file.columns.length })}</p>}
      </section>
      {file && (
        <section className="card" aria-labelledby="mapping">
          <h2 id="mapping">{t('import.step2')}</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">{t('import.column')}</th>
                <th scope="col">{t('import.field')}</th>
              </tr>
            </thead>
            <tbody>
              {file.columns.map((c) => (
                <tr key={c}>
                  <th scope="row">{c}</th>
                  <td>
                    <select aria-label={t('import.fieldFor', { column: c })} value={map[c] ?? ''} onChange={(e) => setMap({ ...map, [c]: e.target.value })}>
                      <option value="">{t('import.skip')}</option>
                      {fields.map((f) => (
                        <option key={f} value={f}>
                          {labelOf(f)}
                        </option>
                      ))}
                    </select>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="small muted">{t('import.matchOn', { keys: MATCH[entity].join(', ') })}</p>
          <div className="row">
            <button type="button" disabled={running || saved.fetching} onClick={() => void run(true)}>
              {t('import.dryRun')}
            </button>
            <button type="button" className="primary" disabled={running || saved.fetching} onClick={() => void run(false)}>
              {t('import.run')}
            </button>
          </div>
          <Failure error={saved.error ?? started.error ?? cancelled.error} />
          <PayloadErrors errors={saved.data?.saveImportMapping?.errors ?? started.data?.startImport?.errors} />
        </section>
      )}
      {job && (
        <section className="card" aria-labelledby="job">
          <h2 id="job">{job.dryRun ? t('import.dryRunResult') : t('import.runResult')}</h2>
          <div role="status" aria-live="polite">
            <label>
              {t('import.progress')} <progress max={Math.max(job.total, 1)} value={job.state === 'running' ? job.done : Math.max(job.total, 1)} />
            </label>{' '}
            <span data-testid="import-state">{t(`jobState.${job.state}`, { defaultValue: job.state })}</span>
            <dl className="counts">
              {(['total', 'created', 'updated', 'skipped', 'failed'] as const).map((k) => (
                <div key={k}>
                  <dt>{t(`import.${k}`)}</dt>
                  <dd data-count={k}>{job[k]}</dd>
                </div>
              ))}
            </dl>
          </div>
          {running && (
            <button type="button" onClick={() => void cancel({ input: { id: job.id } })}>
              {t('import.cancel')}
            </button>
          )}
          {!!job.errors?.edges.length && (
            <>
              <table>
                <caption>{t('import.errors')}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('import.line')}</th>
                    <th scope="col">{t('import.column')}</th>
                    <th scope="col">{t('import.code')}</th>
                    <th scope="col">{t('import.message')}</th>
                  </tr>
                </thead>
                <tbody>
                  {job.errors.edges.map(({ node: e }) => (
                    <tr key={`${e.line}.${e.column ?? ''}.${e.code}`}>
                      <td>{e.line}</td>
                      <td>{e.column ?? '—'}</td>
                      <td>{e.code}</td>
                      <td>{e.message}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <ErrorReport jobId={job.id} token={session.token} />
            </>
          )}
        </section>
      )}
    </Page>
  );
}

/** The full error report is a CSV behind the same bearer token: fetched, then offered as a blob. */
function ErrorReport({ jobId, token }: { jobId: string; token: string }) {
  const { t } = useTranslation();
  const [url, setUrl] = useState<string>();
  useEffect(() => () => (url ? URL.revokeObjectURL(url) : undefined), [url]);
  if (url)
    return (
      <a href={url} download={`import-${jobId}-errors.csv`}>
        {t('import.downloadReport')}
      </a>
    );
  return (
    <button
      type="button"
      onClick={async () => {
        const r = await fetch(`/imports/jobs/${encodeURIComponent(jobId)}/errors.csv`, { headers: { authorization: `Bearer ${token}` } });
        if (r.ok) setUrl(URL.createObjectURL(await r.blob()));
      }}
    >
      {t('import.prepareReport')}
    </button>
  );
}
