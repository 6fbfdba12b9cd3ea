import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router-dom';
import { useClient, useMutation, useQuery } from 'urql';
import { money } from '../format';
import {
  CompareEstimatesDocument,
  CreateEstimateDocument,
  DealEstimatesDocument,
  EstimatePdfDocument,
  ReviseEstimateDocument,
  SendEstimateDocument,
  UpdateEstimateDocument,
} from '../gql/graphql';
import type { EstimateFieldsFragment, EstimateLineInput, LineKind } from '../gql/graphql';
import { Badge, Empty, Failure, Loading, Page, PayloadErrors } from '../ui';
import type { UserErr } from '../ui';

const STAGES = ['survey', 'concept', 'design', 'approvals', 'supervision'];

interface DraftLine {
  kind: LineKind;
  stage: string;
  discipline: string;
  hours: string;
  productId: string;
  quantity: string;
  description: string;
}

const toDraft = (l: NonNullable<EstimateFieldsFragment['lines']>[number]): DraftLine => ({
  kind: l.kind,
  stage: l.stage,
  discipline: l.discipline ?? '',
  hours: l.hours ?? '',
  productId: l.productId ?? '',
  quantity: l.quantity ?? '',
  description: l.description ?? '',
});

const toInput = (l: DraftLine): EstimateLineInput =>
  l.kind === 'WORK'
    ? { kind: 'WORK', stage: l.stage, discipline: l.discipline, hours: l.hours || '0', description: l.description || null }
    : { kind: 'ITEM', stage: l.stage, productId: l.productId, quantity: l.quantity || '1', description: l.description || null };

export default function Estimates() {
  const { t } = useTranslation();
  const { id: dealId = '' } = useParams();
  const [{ data, fetching, error }, refetch] = useQuery({ query: DealEstimatesDocument, variables: { dealId } });
  const estimates = useMemo(() => (data?.estimates?.edges ?? []).map((e) => e.node).sort((a, b) => b.revision - a.revision), [data]);
  const [selected, setSelected] = useState<string | null>(null);
  const current = estimates.find((e) => e.id === selected) ?? estimates[0];
  // the vendor's own lists first: partner-tier lists are for partners' deals
  const priceLists = (data?.priceLists?.edges ?? []).map((e) => e.node).sort((a, b) => Number(!!a.partnerTier) - Number(!!b.partnerTier));
  const [errors, setErrors] = useState<UserErr[]>();
  const [, create] = useMutation(CreateEstimateDocument);
  const [, send] = useMutation(SendEstimateDocument);
  const [, revise] = useMutation(ReviseEstimateDocument);
  const [priceListId, setPriceListId] = useState('');
  const reload = () => refetch({ requestPolicy: 'network-only' });

  if (fetching && !data) return <Loading />;
  if (error) return <Failure error={error} />;
  if (!data?.deal) return <Page title={t('errors.notFoundTitle')}>{t('errors.notFound')}</Page>;
  const deal = data.deal;
  type Acted = { estimate?: { id: string } | null; errors: UserErr[] } | null | undefined;
  const act = async (r: Promise<Acted>) => {
    const p = await r;
    setErrors(p?.errors);
    if (p?.estimate) setSelected(p.estimate.id);
    reload();
  };
  return (
    <Page title={t('estimates.title', { deal: deal.title })}>
      <p>
        {deal.company && <Link to={`/companies/${deal.company.id}`}>{deal.company.name}</Link>} · {money(deal.amount)}
      </p>
      {deal.company?.health?.level === 'CRITICAL' && (
        <div className="alert alert-warn" role="status">
          {t('company.offersBlocked')} {deal.company.health.warnings.join('; ')}
        </div>
      )}
      <PayloadErrors errors={errors} />
      <div className="row">
        <label>
          {t('estimates.priceList')}{' '}
          <select value={priceListId || priceLists[0]?.id || ''} onChange={(e) => setPriceListId(e.target.value)}>
            {priceLists.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name} ({p.currency})
              </option>
            ))}
          </select>
        </label>
        <button
          type="button"
          className="primary"
          disabled={!priceLists.length}
          onClick={() => act(create({ input: { dealId, priceListId: priceListId || priceLists[0].id, title: deal.title, lines: [] } }).then((r) => r.data?.createEstimate))}
        >
          {t('estimates.new')}
        </button>
      </div>
      {!estimates.length ? (
        <Empty>{t('estimates.none')}</Empty>
      ) : (
        <>
          <nav aria-label={t('estimates.versions')} className="tabs">
            {estimates.map((e) => (
              <button key={e.id} type="button" aria-pressed={e.id === current?.id} onClick={() => setSelected(e.id)}>
                v{e.revision} <Badge tone={e.status === 'ACCEPTED' ? 'ok' : e.status === 'DRAFT' ? 'info' : 'warn'}>{e.status}</Badge>
              </button>
            ))}
          </nav>
          {current && (
            <Editor
              key={`${current.id}:${current.version}`}
              estimate={current}
              rates={priceLists.find((p) => p.currency === current.currency)?.rates ?? []}
              products={priceLists.find((p) => p.currency === current.currency)?.products ?? []}
              onSaved={(errs) => {
                setErrors(errs);
                reload();
              }}
              onSend={() => act(send({ input: { id: current.id, expectedVersion: current.version } }).then((r) => r.data?.sendEstimate))}
              onRevise={() => act(revise({ input: { id: current.id, expectedVersion: current.version } }).then((r) => r.data?.reviseEstimate))}
            />
          )}
          {estimates.length > 1 && <Compare estimates={estimates} />}
        </>
      )}
    </Page>
  );
}

function Editor({
  estimate,
  rates,
  products,
  onSaved,
  onSend,
  onRevise,
}: {
  estimate: EstimateFieldsFragment;
  rates: { discipline: string; rate?: { amount: string; currency: string } | null }[];
  products: { productId: string; name?: string | null; price?: { amount: string; currency: string } | null }[];
  onSaved: (errors: UserErr[] | undefined) => void;
  onSend: () => void;
  onRevise: () => void;
}) {
  const { t } = useTranslation();
  const [lines, setLines] = useState<DraftLine[]>(() => (estimate.lines ?? []).map(toDraft));
  const [, update] = useMutation(UpdateEstimateDocument);
  const [saving, setSaving] = useState(false);
  const draft = estimate.status === 'DRAFT';
  const client = useClient();
  const [pdf, setPdf] = useState<string>();
  useEffect(() => () => (pdf ? URL.revokeObjectURL(pdf) : undefined), [pdf]);

  // live preview of the totals while editing; the saved totals (server, half-even rounding) follow
  const price = (l: DraftLine) =>
    l.kind === 'WORK'
      ? Number(rates.find((r) => r.discipline === l.discipline)?.rate?.amount ?? 0) * Number(l.hours || 0)
      : Number(products.find((p) => p.productId === l.productId)?.price?.amount ?? 0) * Number(l.quantity || 0);
  const preview = lines.reduce((s, l) => s + price(l), 0);
  const set = (i: number, patch: Partial<DraftLine>) => setLines((ls) => ls.map((l, j) => (j === i ? { ...l, ...patch } : l)));
  const byStage = STAGES.concat([...new Set(lines.map((l) => l.stage))].filter((s) => !STAGES.includes(s)));

  return (
    <section className="card" aria-labelledby="estimate-head">
      <h2 id="estimate-head">
        {t('estimates.version', { revision: estimate.revision })} · {estimate.status}
      </h2>
      {byStage
        .filter((s) => lines.some((l) => l.stage === s))
        .map((s) => (
          <fieldset key={s} className="stage">
            <legend>{t(`stages.${s}`, { defaultValue: s })}</legend>
            {lines.map((l, i) =>
              l.stage !== s ? null : (
                <div className="line row" key={i}>
                  <span className="small">{l.kind === 'WORK' ? t('estimates.work') : t('estimates.item')}</span>
                  {l.kind === 'WORK' ? (
                    <>
                      <label>
                        {t('estimates.discipline')}
                        <select disabled={!draft} value={l.discipline} onChange={(e) => set(i, { discipline: e.target.value })}>
                          {rates.map((r) => (
                            <option key={r.discipline} value={r.discipline}>
                              {r.discipline} ({money(r.rate)})
                            </option>
                          ))}
                        </select>
                      </label>
                      <label>
                        {t('estimates.hours')}
                        <input disabled={!draft} inputMode="decimal" size={6} value={l.hours} onChange={(e) => set(i, { hours: e.target.value })} />
                      </label>
                    </>
                  ) : (
                    <>
                      <label>
                        {t('estimates.product')}
                        <select disabled={!draft} value={l.productId} onChange={(e) => set(i, { productId: e.target.value })}>
                          {products.map((p) => (
                            <option key={p.productId} value={p.productId}>
                              {p.name} ({money(p.price)})
                            </option>
                          ))}
                        </select>
                      </label>
                      <label>
                        {t('estimates.quantity')}
                        <input disabled={!draft} inputMode="decimal" size={6} value={l.quantity} onChange={(e) => set(i, { quantity: e.target.value })} />
                      </label>
                    </>
                  )}
                  <span>{money({ amount: price(l).toFixed(2), currency: estimate.currency })}</span>
                  {draft && (
                    <button type="button" onClick={() => setLines((ls) => ls.filter((_, j) => j !== i))}>
                      {t('estimates.removeLine')}
                    </button>
                  )}
                </div>
              ),
            )}
          </fieldset>
        ))}
      {draft && (
        <AddLine
          rates={rates}
          products={products}
          onAdd={(l) => setLines((ls) => [...ls, l])}
        />
      )}
      <p aria-live="polite">
        {t('estimates.preview')}: <strong>{money({ amount: preview.toFixed(2), currency: estimate.currency })}</strong>
      </p>
      {estimate.totals && (
        <table className="totals">
          <caption>{t('estimates.savedTotals')}</caption>
          <tbody>
            {estimate.totals.stages.map((s) => (
              <tr key={s.stage}>
                <th scope="row">{t(`stages.${s.stage}`, { defaultValue: s.stage })}</th>
                <td>{money(s.amount)}</td>
              </tr>
            ))}
            <tr>
              <th scope="row">{t('estimates.subtotal')}</th>
              <td>{money(estimate.totals.subtotal)}</td>
            </tr>
            <tr>
              <th scope="row">{t('estimates.discount')}</th>
              <td>{money(estimate.totals.discount)}</td>
            </tr>
            {estimate.totals.taxes.map((x) => (
              <tr key={x.name}>
                <th scope="row">{x.name}</th>
                <td>{money(x.amount)}</td>
              </tr>
            ))}
            <tr>
              <th scope="row">{t('estimates.total')}</th>
              <td data-testid="estimate-total">
                <strong>{money(estimate.totals.total)}</strong>
              </td>
            </tr>
          </tbody>
        </table>
      )}
      <div className="row">
        {draft && (
          <button
            type="button"
            className="primary"
            disabled={saving}
            onClick={async () => {
              setSaving(true);
              const r = await update({ input: { id: estimate.id, expectedVersion: estimate.version, lines: lines.map(toInput) } });
              setSaving(false);
              onSaved(r.data?.updateEstimate?.errors ?? (r.error ? [{ code: 'INVALID', message: r.error.message }] : undefined));
            }}
          >
            {t('estimates.save')}
          </button>
        )}
        {draft && (
          <button type="button" onClick={onSend}>
            {t('estimates.send')}
          </button>
        )}
        {estimate.status !== 'ACCEPTED' && (
          <button type="button" onClick={onRevise}>
            {t('estimates.revise')}
          </button>
        )}
        <button
          type="button"
          onClick={async () => {
            const r = await client.query(EstimatePdfDocument, { id: estimate.id }, { requestPolicy: 'network-only' }).toPromise();
            const b64 = r.data?.estimate?.pdfBase64;
            if (!b64) return;
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            setPdf(URL.createObjectURL(new Blob([bytes], { type: 'application/pdf' })));
          }}
        >
          {t('estimates.pdf')}
        </button>
        {pdf && (
          <a href={pdf} download={`estimate-v${estimate.revision}.pdf`}>
            {t('estimates.download', { revision: estimate.revision })}
          </a>
        )}
      </div>
    </section>
  );
}

function AddLine({
  rates,
  products,
  onAdd,
}: {
  rates: { discipline: string }[];
  products: { productId: string; name?: string | null }[];
  onAdd: (l: DraftLine) => void;
}) {
  const { t } = useTranslation();
  const [kind, setKind] = useState<LineKind>('WORK');
  const [stage, setStage] = useState(STAGES[0]);
  return (
    <div className="row add-line">
      <label>
        {t('estimates.stage')}
        <select value={stage} onChange={(e) => setStage(e.target.value)}>
          {STAGES.map((s) => (
            <option key={s} value={s}>
              {t(`stages.${s}`)}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t('estimates.kind')}
        <select value={kind} onChange={(e) => setKind(e.target.value as LineKind)}>
          <option value="WORK">{t('estimates.work')}</option>
          <option value="ITEM">{t('estimates.item')}</option>
        </select>
      </label>
      <button
        type="button"
        onClick={() =>
          onAdd({
            kind,
            stage,
            discipline: rates[0]?.discipline ?? '',
            hours: kind === 'WORK' ? '8' : '',
            productId: products[0]?.productId ?? '',
            quantity: kind === 'ITEM' ? '1' : '',
            description: '',
          })
        }
      >
        {t('estimates.addLine')}
      </button>
    </div>
  );
}

function Compare({ estimates }: { estimates: EstimateFieldsFragment[] }) {
  const { t } = useTranslation();
  const [a, setA] = useState(estimates[1].id);
  const [b, setB] = useState(estimates[0].id);
  const [{ data, error }] = useQuery({ query: CompareEstimatesDocument, variables: { a, b }, pause: a === b });
  const c = data?.compareEstimates;
  const pick = (value: string, on: (v: string) => void, label: string) => (
    <label>
      {label}{' '}
      <select value={value} onChange={(e) => on(e.target.value)}>
        {estimates.map((e) => (
          <option key={e.id} value={e.id}>
            v{e.revision}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <section className="card" aria-labelledby="compare">
      <h2 id="compare">{t('estimates.compare')}</h2>
      <div className="row">
        {pick(a, setA, t('estimates.from'))}
        {pick(b, setB, t('estimates.to'))}
      </div>
      <Failure error={error} />
      {c && (
        <table>
          <thead>
            <tr>
              <th scope="col">{t('estimates.stage')}</th>
              <th scope="col">{t('estimates.line')}</th>
              <th scope="col">{t('estimates.change')}</th>
              <th scope="col">v{c.a.revision}</th>
              <th scope="col">v{c.b.revision}</th>
              <th scope="col">Δ</th>
            </tr>
          </thead>
          <tbody>
            {c.lines.map((l, i) => (
              <tr key={i}>
                <td>{t(`stages.${l.stage}`, { defaultValue: l.stage })}</td>
                <td>{l.discipline ?? l.kind}</td>
                <td>{l.change}</td>
                <td>{money(l.amountA)}</td>
                <td>{money(l.amountB)}</td>
                <td>{money(l.delta)}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row" colSpan={5}>
                {t('estimates.totalDelta')}
              </th>
              <td>{money(c.totalDelta)}</td>
            </tr>
          </tfoot>
        </table>
      )}
    </section>
  );
}
