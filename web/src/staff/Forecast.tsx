import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useQuery } from 'urql';
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { money, moneyShort } from '../format';
import { ForecastChartsDocument } from '../gql/graphql';
import type { Period } from '../gql/graphql';
import { Empty, Failure, Loading, Page } from '../ui';

// recharts draws SVG; each chart also has its figures in a table (screen readers, printing).
export default function Forecast() {
  const { t } = useTranslation();
  const [period, setPeriod] = useState<Period>('MONTH');
  const currency = 'EUR';
  const [{ data, fetching, error }] = useQuery({ query: ForecastChartsDocument, variables: { currency, period } });
  const bookings = (data?.forecastByPeriod ?? []).map((b) => ({
    period: b.period ?? t('forecast.noDate'),
    amount: Number(b.amount.amount),
    weighted: Number(b.weighted.amount),
    commit: Number(b.commit.amount),
  }));
  const cash = (data?.cashCurve ?? []).map((c) => ({
    period: c.period,
    committed: Number(c.committed.amount),
    pipeline: Number(c.weightedPipeline.amount),
    expected: Number(c.expected.amount),
  }));
  const fmt = (v: number) => moneyShort(v, currency);
  return (
    <Page
      title={t('forecast.title')}
      actions={
        <label>
          {t('forecast.period')}{' '}
          <select value={period} onChange={(e) => setPeriod(e.target.value as Period)}>
            <option value="MONTH">{t('forecast.month')}</option>
            <option value="QUARTER">{t('forecast.quarter')}</option>
          </select>
        </label>
      }
    >
      <Failure error={error} />
      {fetching && !data ? <Loading /> : null}
      <section aria-labelledby="bookings" className="card">
        <h2 id="bookings">{t('forecast.bookings')}</h2>
        {!bookings.length ? (
          <Empty>{t('forecast.none')}</Empty>
        ) : (
          <>
            <div className="chart" role="img" aria-label={t('forecast.bookingsChart')}>
              <ResponsiveContainer width="100%" height={280}>
                <BarChart data={bookings}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="period" />
                  <YAxis tickFormatter={fmt} width={80} />
                  <Tooltip formatter={(v) => fmt(Number(v))} />
                  <Legend />
                  <Bar isAnimationActive={false} dataKey="amount" name={t('forecast.amount')} fill="#4062a8" />
                  <Bar isAnimationActive={false} dataKey="weighted" name={t('forecast.weighted')} fill="#2f7d4f" />
                  <Bar isAnimationActive={false} dataKey="commit" name={t('forecast.commit')} fill="#a05a00" />
                </BarChart>
              </ResponsiveContainer>
            </div>
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('forecast.period')}</th>
                  <th scope="col">{t('forecast.deals')}</th>
                  <th scope="col">{t('forecast.amount')}</th>
                  <th scope="col">{t('forecast.weighted')}</th>
                </tr>
              </thead>
              <tbody>
                {(data?.forecastByPeriod ?? []).map((b) => (
                  <tr key={b.period ?? '-'}>
                    <td>{b.period ?? t('forecast.noDate')}</td>
                    <td>{b.dealCount}</td>
                    <td>{money(b.amount)}</td>
                    <td>{money(b.weighted)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </section>
      <section aria-labelledby="cash" className="card">
        <h2 id="cash">{t('forecast.cash')}</h2>
        {!cash.length ? (
          <Empty>{t('forecast.none')}</Empty>
        ) : (
          <>
            <div className="chart" role="img" aria-label={t('forecast.cashChart')}>
              <ResponsiveContainer width="100%" height={280}>
                <LineChart data={cash}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="period" />
                  <YAxis tickFormatter={fmt} width={80} />
                  <Tooltip formatter={(v) => fmt(Number(v))} />
                  <Legend />
                  <Line isAnimationActive={false} dataKey="committed" name={t('forecast.committed')} stroke="#4062a8" />
                  <Line isAnimationActive={false} dataKey="pipeline" name={t('forecast.pipeline')} stroke="#a05a00" />
                  <Line isAnimationActive={false} dataKey="expected" name={t('forecast.expected')} stroke="#2f7d4f" strokeWidth={2} />
                </LineChart>
              </ResponsiveContainer>
            </div>
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('forecast.period')}</th>
                  <th scope="col">{t('forecast.committed')}</th>
                  <th scope="col">{t('forecast.expected')}</th>
                </tr>
              </thead>
              <tbody>
                {(data?.cashCurve ?? []).map((c) => (
                  <tr key={c.period}>
                    <td>{c.period}</td>
                    <td>{money(c.committed)}</td>
                    <td>{money({ amount: c.expected.amount, currency })}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </section>
    </Page>
  );
}
