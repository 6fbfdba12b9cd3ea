import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useQuery } from 'urql';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { money, moneyShort } from '../format';
import { CampaignRoiDocument } from '../gql/graphql';
import type { AttributionModel, RoiDimension } from '../gql/graphql';
import { Empty, Failure, Loading, Page } from '../ui';

const MODELS: AttributionModel[] = ['LINEAR', 'FIRST_TOUCH', 'LAST_TOUCH', 'U_SHAPED'];
const DIMENSIONS: RoiDimension[] = ['CAMPAIGN', 'CHANNEL', 'CLIENT', 'SEGMENT'];

export default function Roi() {
  const { t, i18n } = useTranslation();
  const [model, setModel] = useState<AttributionModel>('LINEAR');
  const [by, setBy] = useState<RoiDimension>('CAMPAIGN');
  const currency = 'EUR';
  const [{ data, fetching, error }] = useQuery({ query: CampaignRoiDocument, variables: { currency, by, model } });
  const r = data?.roiReport;
  const pct = (v: number | null | undefined) =>
    v == null ? '—' : new Intl.NumberFormat(i18n.resolvedLanguage, { style: 'percent', maximumFractionDigits: 1 }).format(v);
  const rows = (r?.rows ?? []).map((x) => ({ label: x.label, cost: Number(x.cost.amount), revenue: Number(x.revenue.amount) }));
  return (
    <Page
      title={t('roi.title')}
      actions={
        <div className="row">
          <label>
            {t('roi.by')}{' '}
            <select value={by} onChange={(e) => setBy(e.target.value as RoiDimension)}>
              {DIMENSIONS.map((d) => (
                <option key={d} value={d}>
                  {t(`roi.dim.${d}`)}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t('roi.model')}{' '}
            <select value={model} onChange={(e) => setModel(e.target.value as AttributionModel)}>
              {MODELS.map((m) => (
                <option key={m} value={m}>
                  {t(`roi.models.${m}`)}
                </option>
              ))}
            </select>
          </label>
        </div>
      }
    >
      <Failure error={error} />
      {fetching && !data ? (
        <Loading />
      ) : !r?.rows.length ? (
        <Empty>{t('roi.none')}</Empty>
      ) : (
        <>
          <div className="chart card" role="img" aria-label={t('roi.chart')}>
            <ResponsiveContainer width="100%" height={260}>
              <BarChart data={rows}>
                <CartesianGrid strokeDasharray="3 3" />
                <XAxis dataKey="label" />
                <YAxis tickFormatter={(v: number) => moneyShort(v, currency)} width={80} />
                <Tooltip formatter={(v) => moneyShort(Number(v), currency)} />
                <Legend />
                <Bar isAnimationActive={false} dataKey="cost" name={t('roi.cost')} fill="#a05a00" />
                <Bar isAnimationActive={false} dataKey="revenue" name={t('roi.revenue')} fill="#2f7d4f" />
              </BarChart>
            </ResponsiveContainer>
          </div>
          <table>
            <thead>
              <tr>
                <th scope="col">{t(`roi.dim.${by}`)}</th>
                <th scope="col">{t('roi.cost')}</th>
                <th scope="col">{t('roi.revenue')}</th>
                <th scope="col">{t('roi.profit')}</th>
                <th scope="col">ROI</th>
              </tr>
            </thead>
            <tbody>
              {r.rows.map((x) => (
                <tr key={x.key}>
                  <td>{x.label}</td>
                  <td>{money(x.cost)}</td>
                  <td>{money(x.revenue)}</td>
                  <td>{money(x.profit)}</td>
                  <td>{pct(x.roi)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="small muted">
            {t('roi.unattributed')}: {money(r.unattributed)}
            {r.otherCurrencyRevenues > 0 && ` · ${t('roi.otherCurrencies', { count: r.otherCurrencyRevenues })}`}
          </p>
        </>
      )}
    </Page>
  );
}
