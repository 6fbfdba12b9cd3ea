import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useMutation, useQuery } from 'urql';
import type { AdminPipelinesQuery } from './gql/graphql';
import { AdminPipelinesDocument, UpdatePipelineDocument } from './gql/graphql';
import { Empty, Failure, Loading, Page, PayloadErrors } from '../../ui';

type Pipeline = NonNullable<AdminPipelinesQuery['pipelines']>[number];
interface StageDraft {
  id: string;
  name: string;
  probability: number;
  kind: string;
}

export default function Pipelines() {
  const { t } = useTranslation();
  const [{ data, fetching, error }, refetch] = useQuery({ query: AdminPipelinesDocument });
  return (
    <Page title={t('pipelines.title')}>
      <Failure error={error} />
      {fetching && !data ? (
        <Loading />
      ) : !data?.pipelines?.length ? (
        <Empty>{t('pipelines.none')}</Empty>
      ) : (
        data.pipelines.map((p) => <PipelineEditor key={p.id} pipeline={p} onSaved={() => refetch({ requestPolicy: 'network-only' })} />)
      )}
    </Page>
  );
}

function PipelineEditor({ pipeline, onSaved }: { pipeline: Pipeline; onSaved: () => void }) {
  const { t } = useTranslation();
  const [name, setName] = useState(pipeline.name);
  const [stages, setStages] = useState<StageDraft[]>(
    [...pipeline.stages].sort((a, b) => a.position - b.position).map(({ id, name, probability, kind }) => ({ id, name, probability, kind })),
  );
  const [result, save] = useMutation(UpdatePipelineDocument);
  const set = (i: number, patch: Partial<StageDraft>) => setStages(stages.map((s, j) => (j === i ? { ...s, ...patch } : s)));
  const move = (i: number, by: number) => {
    const next = [...stages];
    [next[i], next[i + by]] = [next[i + by], next[i]];
    setStages(next);
  };
  const headingId = `pipeline-${pipeline.id}`;
  return (
    <form
      className="card"
      aria-labelledby={headingId}
      onSubmit={async (e) => {
        e.preventDefault();
        const r = await save({ input: { id: pipeline.id, expectedVersion: pipeline.version, name, stages } });
        if (r.data?.updatePipeline?.pipeline) onSaved();
      }}
    >
      <h2 id={headingId}>{pipeline.name}</h2>
      <label>
        {t('pipelines.name')} <input value={name} onChange={(e) => setName(e.target.value)} required />
      </label>
      <table>
        <caption className="sr-only">{t('pipelines.stagesOf', { name: pipeline.name })}</caption>
        <thead>
          <tr>
            <th scope="col">{t('pipelines.stage')}</th>
            <th scope="col">{t('pipelines.probability')}</th>
            <th scope="col">{t('pipelines.kind')}</th>
            <th scope="col">{t('pipelines.order')}</th>
          </tr>
        </thead>
        <tbody>
          {stages.map((s, i) => (
            <tr key={s.id}>
              <td>
                <input aria-label={t('pipelines.stageName', { id: s.id })} value={s.name} onChange={(e) => set(i, { name: e.target.value })} required />{' '}
                <code className="small">{s.id}</code>
              </td>
              <td>
                <input
                  aria-label={t('pipelines.stageProbability', { name: s.name })}
                  type="number"
                  min={0}
                  max={100}
                  value={s.probability}
                  onChange={(e) => set(i, { probability: Number(e.target.value) })}
                />
              </td>
              <td>
                <select aria-label={t('pipelines.stageKind', { name: s.name })} value={s.kind} onChange={(e) => set(i, { kind: e.target.value })}>
                  {['OPEN', 'WON', 'LOST'].map((k) => (
                    <option key={k} value={k}>
                      {t(`pipelines.kinds.${k}`)}
                    </option>
                  ))}
                </select>
              </td>
              <td>
                <button type="button" disabled={i === 0} onClick={() => move(i, -1)} aria-label={t('pipelines.up', { name: s.name })}>
                  ↑
                </button>{' '}
                <button type="button" disabled={i === stages.length - 1} onClick={() => move(i, 1)} aria-label={t('pipelines.down', { name: s.name })}>
                  ↓
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="small muted">{t('pipelines.note')}</p>
      <button type="submit" className="primary" disabled={result.fetching}>
        {t('pipelines.save')}
      </button>
      <Failure error={result.error} />
      <PayloadErrors errors={result.data?.updatePipeline?.errors} />
      {result.data?.updatePipeline?.pipeline && <p role="status">{t('pipelines.saved')}</p>}
    </form>
  );
}
