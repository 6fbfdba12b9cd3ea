import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { useMutation, useQuery } from 'urql';
import { money, sumByCurrency } from '../format';
import { BoardDocument, MoveDealDocument } from '../gql/graphql';
import type { BoardQuery } from '../gql/graphql';
import { Empty, Failure, Loading, Page, PayloadErrors } from '../ui';
import type { UserErr } from '../ui';

type Deal = NonNullable<BoardQuery['deals']>['edges'][number]['node'];

// Drag a card onto a column (native HTML drag and drop), or — from the keyboard — pick the stage in
// the card's "Move to" list and press Move. A refused move (CONFLICT, OFFER_BLOCKED, …) stays on
// screen with the card in its old column until the user dismisses it.
export default function DealBoard() {
  const { t } = useTranslation();
  const [pipelineId, setPipelineId] = useState<string | null>(null);
  const [{ data, fetching, error }, refetch] = useQuery({ query: BoardDocument, variables: { pipelineId } });
  const [moving, move] = useMutation(MoveDealDocument);
  const [failure, setFailure] = useState<{ deal: string; errors: UserErr[] } | null>(null);
  const [notice, setNotice] = useState<string>();
  const [over, setOver] = useState<string | null>(null);
  const pipelines = data?.pipelines ?? [];
  const pipeline = pipelines.find((p) => p.id === pipelineId) ?? pipelines[0];
  const stages = useMemo(() => [...(pipeline?.stages ?? [])].sort((a, b) => a.position - b.position), [pipeline]);
  const deals = (data?.deals?.edges ?? []).map((e) => e.node).filter((d) => d.pipelineId === pipeline?.id);

  async function moveTo(deal: Deal, stageId: string) {
    if (deal.stageId === stageId) return;
    setFailure(null);
    setNotice(undefined);
    const r = await move({ input: { id: deal.id, expectedVersion: deal.version, stageId } });
    const p = r.data?.moveDealStage;
    if (r.error) setFailure({ deal: deal.title, errors: [{ code: 'INVALID', message: r.error.message }] });
    else if (p?.errors.length) setFailure({ deal: deal.title, errors: p.errors });
    else {
      setNotice(t('board.moved', { title: deal.title, stage: stages.find((s) => s.id === stageId)?.name }));
      refetch({ requestPolicy: 'network-only' });
    }
  }

  if (fetching && !data) return <Loading />;
  return (
    <Page
      title={t('board.title')}
      actions={
        pipelines.length > 1 ? (
          <label>
            {t('board.pipeline')}{' '}
            <select value={pipeline?.id} onChange={(e) => setPipelineId(e.target.value)}>
              {pipelines.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          </label>
        ) : null
      }
    >
      <Failure error={error} />
      {failure && (
        <div className="alert alert-error" role="alert">
          <p>
            <strong>{t('board.moveFailed', { title: failure.deal })}</strong>
          </p>
          <PayloadErrors errors={failure.errors} />
          <button type="button" onClick={() => { setFailure(null); refetch({ requestPolicy: 'network-only' }); }}>
            {t('board.reload')}
          </button>
        </div>
      )}
      {notice && (
        <p role="status" className="alert alert-ok">
          {notice}
        </p>
      )}
      {!deals.length ? (
        <Empty>{t('board.empty')}</Empty>
      ) : (
        <div className="board">
          {stages.map((s) => {
            const inStage = deals.filter((d) => d.stageId === s.id);
            return (
              <section
                key={s.id}
                className={`column${over === s.id ? ' over' : ''}`}
                aria-label={s.name}
                data-stage={s.name}
                onDragOver={(e) => {
                  e.preventDefault();
                  setOver(s.id);
                }}
                onDragLeave={() => setOver(null)}
                onDrop={(e) => {
                  e.preventDefault();
                  setOver(null);
                  const deal = deals.find((d) => d.id === e.dataTransfer.getData('text/plain'));
                  if (deal) void moveTo(deal, s.id);
                }}
              >
                <h2>
                  {s.name} <span className="muted small">{s.probability} %</span>
                </h2>
                <p className="small sums">
                  {t('board.count', { count: inStage.length })}
                  <br />
                  {t('board.amount')}: {sumByCurrency(inStage.map((d) => d.amount)).map(money).join(' + ') || '—'}
                  <br />
                  {t('board.weighted')}: {sumByCurrency(inStage.map((d) => d.weightedAmount)).map(money).join(' + ') || '—'}
                </p>
                <ul>
                  {inStage.map((d) => (
                    <li
                      key={d.id}
                      className="deal-card"
                      draggable
                      data-deal={d.title}
                      onDragStart={(e) => {
                        e.dataTransfer.setData('text/plain', d.id);
                        e.dataTransfer.effectAllowed = 'move';
                      }}
                    >
                      <strong>{d.title}</strong>
                      <br />
                      {d.company ? <Link to={`/companies/${d.company.id}`}>{d.company.name}</Link> : null}
                      <br />
                      {money(d.amount)} <span className="muted small">({money(d.weightedAmount)})</span>
                      <MoveControl deal={d} stages={stages} busy={moving.fetching} onMove={moveTo} />
                      <Link className="small" to={`/deals/${d.id}/estimates`}>
                        {t('board.estimates')}
                      </Link>
                    </li>
                  ))}
                </ul>
              </section>
            );
          })}
        </div>
      )}
    </Page>
  );
}

function MoveControl({
  deal,
  stages,
  busy,
  onMove,
}: {
  deal: Deal;
  stages: { id: string; name: string }[];
  busy: boolean;
  onMove: (d: Deal, stageId: string) => Promise<void>;
}) {
  const { t } = useTranslation();
  const [target, setTarget] = useState(deal.stageId);
  return (
    <form
      className="move"
      onSubmit={(e) => {
        e.preventDefault();
        void onMove(deal, target);
      }}
    >
      <label>
        <span className="sr-only">{t('board.moveLabel', { title: deal.title })}</span>
        <select value={target} onChange={(e) => setTarget(e.target.value)} aria-label={t('board.moveLabel', { title: deal.title })}>
          {stages.map((s) => (
            <option key={s.id} value={s.id}>
              {s.name}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={busy || target === deal.stageId}>
        {t('board.move')}
      </button>
    </form>
  );
}
