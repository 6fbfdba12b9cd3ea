import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useMutation, useQuery } from 'urql';
import { date, money } from '../../format';
import type { AdminPriceListsQuery, PriceListFieldsFragment } from './gql/graphql';
import { AdminPriceListsDocument, CreatePriceListDocument, UpdatePriceListDocument } from './gql/graphql';
import { Badge, Empty, Failure, Loading, Page, PayloadErrors } from '../../ui';

type Product = NonNullable<AdminPriceListsQuery['products']>['edges'][number]['node'];
interface RateRow {
  discipline: string;
  rate: string;
  costRate: string;
}
interface PriceRow {
  productId: string;
  price: string;
}

export default function PriceLists() {
  const { t } = useTranslation();
  const [{ data, fetching, error }, refetch] = useQuery({ query: AdminPriceListsDocument });
  const [editing, setEditing] = useState<PriceListFieldsFragment | 'new' | null>(null);
  const [saved, setSaved] = useState<string>();
  const lists = data?.priceLists?.edges.map((e) => e.node) ?? [];
  const products = data?.products?.edges.map((e) => e.node) ?? [];
  return (
    <Page
      title={t('prices.title')}
      actions={
        <button
          type="button"
          className="primary"
          onClick={() => {
            setSaved(undefined);
            setEditing('new');
          }}
        >
          {t('prices.new')}
        </button>
      }
    >
      <Failure error={error} />
      {saved && (
        <p role="status" className="alert alert-ok">
          {t('prices.saved', { name: saved })}
        </p>
      )}
      {fetching && !data ? (
        <Loading />
      ) : !lists.length ? (
        <Empty>{t('prices.none')}</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{t('prices.name')}</th>
              <th scope="col">{t('prices.currency')}</th>
              <th scope="col">{t('prices.validity')}</th>
              <th scope="col">{t('prices.tier')}</th>
              <th scope="col">{t('prices.contents')}</th>
              <th scope="col">{t('prices.state')}</th>
            </tr>
          </thead>
          <tbody>
            {lists.map((l) => (
              <tr key={l.id} data-price-list={l.name}>
                <td>
                  <button type="button" className="link" onClick={() => setEditing(l)} aria-label={t('prices.editLabel', { name: l.name })}>
                    {l.name}
                  </button>
                </td>
                <td>{l.currency}</td>
                <td>
                  {date(l.validFrom)} – {date(l.validTo)}
                </td>
                <td>{l.partnerTier ?? t('prices.vendor')}</td>
                <td>{t('prices.counts', { rates: l.rates?.length ?? 0, products: l.products?.length ?? 0 })}</td>
                <td>{l.active ? <Badge tone="ok">{t('prices.active')}</Badge> : <Badge tone="warn">{t('prices.inactive')}</Badge>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editing && (
        <Editor
          key={editing === 'new' ? 'new' : `${editing.id}.${editing.version}`}
          list={editing === 'new' ? null : editing}
          products={products}
          onCancel={() => setEditing(null)}
          onSaved={(name) => {
            setSaved(name);
            setEditing(null);
            refetch({ requestPolicy: 'network-only' });
          }}
        />
      )}
    </Page>
  );
}

function Editor({ list, products, onSaved, onCancel }: { list: PriceListFieldsFragment | null; products: Product[]; onSaved: (name: string) => void; onCancel: () => void }) {
  const { t } = useTranslation();
  const [name, setName] = useState(list?.name ?? '');
  const [currency, setCurrency] = useState(list?.currency ?? 'EUR');
  const [validFrom, setValidFrom] = useState(list?.validFrom ?? '');
  const [validTo, setValidTo] = useState(list?.validTo ?? '');
  const [tier, setTier] = useState(list?.partnerTier ?? '');
  const [active, setActive] = useState(list?.active ?? true);
  const [rates, setRates] = useState<RateRow[]>(
    list?.rates?.map((r) => ({ discipline: r.discipline, rate: r.rate?.amount ?? '', costRate: r.costRate?.amount ?? '' })) ?? [],
  );
  const [prices, setPrices] = useState<PriceRow[]>(list?.products?.map((p) => ({ productId: p.productId, price: p.price?.amount ?? '' })) ?? []);
  const [created, create] = useMutation(CreatePriceListDocument);
  const [updated, update] = useMutation(UpdatePriceListDocument);
  const rateInput = rates.filter((r) => r.discipline.trim() && r.rate).map((r) => ({ discipline: r.discipline.trim(), rate: r.rate, costRate: r.costRate || null }));
  const priceInput = prices.filter((p) => p.productId && p.price);
  const errors = list ? updated.data?.updatePriceList?.errors : created.data?.createPriceList?.errors;
  return (
    <form
      className="card"
      aria-labelledby="price-list-editor"
      onSubmit={async (e) => {
        e.preventDefault();
        if (list) {
          const r = await update({
            input: { id: list.id, expectedVersion: list.version, name, validFrom: validFrom || null, validTo: validTo || null, active, rates: rateInput, products: priceInput },
          });
          const saved = r.data?.updatePriceList?.priceList;
          if (saved) onSaved(saved.name);
        } else {
          const r = await create({
            input: { name, currency, validFrom: validFrom || null, validTo: validTo || null, partnerTier: tier || null, rates: rateInput, products: priceInput },
          });
          const saved = r.data?.createPriceList?.priceList;
          if (saved) onSaved(saved.name);
        }
      }}
    >
      <h2 id="price-list-editor">{list ? t('prices.edit', { name: list.name }) : t('prices.new')}</h2>
      <label>
        {t('prices.name')} <input required value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        {t('prices.currency')}{' '}
        <input required disabled={!!list} value={currency} maxLength={3} size={4} onChange={(e) => setCurrency(e.target.value.toUpperCase())} />
      </label>
      <div className="row">
        <label>
          {t('prices.validFrom')} <input type="date" value={validFrom} onChange={(e) => setValidFrom(e.target.value)} />
        </label>
        <label>
          {t('prices.validTo')} <input type="date" value={validTo} onChange={(e) => setValidTo(e.target.value)} />
        </label>
      </div>
      <label>
        {t('prices.tier')} <input disabled={!!list} value={tier} onChange={(e) => setTier(e.target.value)} placeholder={t('prices.tierPlaceholder')} />
      </label>
      {list && (
        <label>
          <input type="checkbox" checked={active} onChange={(e) => setActive(e.target.checked)} /> {t('prices.active')}
        </label>
      )}
      <fieldset className="stage">
        <legend>{t('prices.rates')}</legend>
        {rates.map((r, i) => (
          <div className="row" key={i}>
            <label>
              {t('prices.discipline')} <input value={r.discipline} onChange={(e) => setRates(rates.map((x, j) => (j === i ? { ...x, discipline: e.target.value } : x)))} />
            </label>
            <label>
              {t('prices.rate')} <input inputMode="decimal" size={8} value={r.rate} onChange={(e) => setRates(rates.map((x, j) => (j === i ? { ...x, rate: e.target.value } : x)))} />
            </label>
            <label>
              {t('prices.costRate')} <input inputMode="decimal" size={8} value={r.costRate} onChange={(e) => setRates(rates.map((x, j) => (j === i ? { ...x, costRate: e.target.value } : x)))} />
            </label>
            <button type="button" onClick={() => setRates(rates.filter((_, j) => j !== i))}>
              {t('prices.remove')}
            </button>
          </div>
        ))}
        <button type="button" onClick={() => setRates([...rates, { discipline: '', rate: '', costRate: '' }])}>
          {t('prices.addRate')}
        </button>
      </fieldset>
      <fieldset className="stage">
        <legend>{t('prices.products')}</legend>
        {prices.map((p, i) => (
          <div className="row" key={i}>
            <label>
              {t('prices.product')}{' '}
              <select value={p.productId} onChange={(e) => setPrices(prices.map((x, j) => (j === i ? { ...x, productId: e.target.value } : x)))}>
                <option value="">{t('prices.choose')}</option>
                {products.map((pr) => (
                  <option key={pr.id} value={pr.id}>
                    {pr.sku} · {pr.name} ({money(pr.listPrice)})
                  </option>
                ))}
              </select>
            </label>
            <label>
              {t('prices.price')} <input inputMode="decimal" size={8} value={p.price} onChange={(e) => setPrices(prices.map((x, j) => (j === i ? { ...x, price: e.target.value } : x)))} />
            </label>
            <button type="button" onClick={() => setPrices(prices.filter((_, j) => j !== i))}>
              {t('prices.remove')}
            </button>
          </div>
        ))}
        <button type="button" onClick={() => setPrices([...prices, { productId: '', price: '' }])}>
          {t('prices.addProduct')}
        </button>
      </fieldset>
      <div className="row">
        <button type="submit" className="primary" disabled={created.fetching || updated.fetching}>
          {t('prices.save')}
        </button>
        <button type="button" onClick={onCancel}>
          {t('prices.cancel')}
        </button>
      </div>
      <Failure error={created.error ?? updated.error} />
      <PayloadErrors errors={errors} />
    </form>
  );
}
