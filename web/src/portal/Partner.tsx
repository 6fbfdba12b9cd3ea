import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, Route, Routes, useParams } from 'react-router-dom';
import { useMutation, useQuery } from 'urql';
import { money } from '../format';
import {
  PartnerDealDocument,
  PartnerPipelineDocument,
  PartnerPriceListDocument,
  PartnerRegisterCompanyDocument,
  PartnerRegisterDealDocument,
  PartnerRegisterLeadDocument,
} from '../gql/graphql';
import { Badge, Empty, Failure, Loading, Page, PayloadErrors } from '../ui';
import type { UserErr } from '../ui';

export default function PartnerPortal() {
  return (
    <Routes>
      <Route index element={<Pipeline />} />
      <Route path="register" element={<Register />} />
      <Route path="deals/:id" element={<PartnerDeal />} />
      <Route path="prices" element={<Prices />} />
      <Route path="*" element={<Pipeline />} />
    </Routes>
  );
}

function Pipeline() {
  const { t } = useTranslation();
  const [{ data, fetching, error }] = useQuery({ query: PartnerPipelineDocument });
  if (fetching && !data) return <Loading />;
  const stages = new Map((data?.pipelines ?? []).flatMap((p) => p.stages.map((s) => [s.id, s.name] as const)));
  const deals = data?.deals?.edges ?? [];
  return (
    <Page title={t('partner.pipeline')}>
      <Failure error={error} />
      {!deals.length ? (
        <Empty>{t('partner.noDeals')}</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{t('deal.title')}</th>
              <th scope="col">{t('partner.client')}</th>
              <th scope="col">{t('deal.stage')}</th>
              <th scope="col">{t('deal.amount')}</th>
            </tr>
          </thead>
          <tbody>
            {deals.map(({ node: d }) => (
              <tr key={d.id}>
                <td>
                  <Link to={`/partner/deals/${d.id}`}>{d.title}</Link> <Badge tone="info">{d.status}</Badge>
                </td>
                <td>{d.company?.name ?? '—'}</td>
                <td>{stages.get(d.stageId) ?? '—'}</td>
                <td>{money(d.amount)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>{t('partner.companies')}</h2>
      <ul className="list">
        {(data?.companies?.edges ?? []).map(({ node: c }) => (
          <li key={c.id}>
            {c.name} <span className="muted">{t(`kinds.${c.kind}`)} · {c.city ?? '—'}</span>
          </li>
        ))}
      </ul>
    </Page>
  );
}

function PartnerDeal() {
  const { t } = useTranslation();
  const { id = '' } = useParams();
  const [{ data, fetching, error }] = useQuery({ query: PartnerDealDocument, variables: { id } });
  if (fetching && !data) return <Loading />;
  const d = data?.deal;
  if (!d)
    return (
      <Page title={t('errors.notFoundTitle')}>
        <p>{t('errors.notFound')}</p>
        <Failure error={error} />
      </Page>
    );
  return (
    <Page title={d.title}>
      <p>
        {d.company?.name} · {d.stage?.name} · {money(d.amount)} · <Badge tone="info">{d.status}</Badge>
      </p>
      {d.contact && (
        <p>
          {t('partner.lead')}: {d.contact.name} {d.contact.email}
        </p>
      )}
    </Page>
  );
}

function Register() {
  const { t } = useTranslation();
  const [{ data }, refetch] = useQuery({ query: PartnerPipelineDocument });
  const companies = (data?.companies?.edges ?? []).map((e) => e.node).filter((c) => c.kind !== 'PARTNER');
  const [errors, setErrors] = useState<UserErr[]>();
  const [notice, setNotice] = useState<string>();
  const [warnings, setWarnings] = useState<string[]>([]);
  const [, createCompany] = useMutation(PartnerRegisterCompanyDocument);
  const [, createLead] = useMutation(PartnerRegisterLeadDocument);
  const [, createDeal] = useMutation(PartnerRegisterDealDocument);
  const [company, setCompany] = useState({ name: '', city: '' });
  const [lead, setLead] = useState({ companyId: '', firstName: '', lastName: '', email: '' });
  const [deal, setDeal] = useState({ companyId: '', title: '', amount: '' });
  const done = (msg: string, errs: UserErr[] | undefined, ok: boolean) => {
    setErrors(errs);
    setNotice(ok ? msg : undefined);
    if (ok) refetch({ requestPolicy: 'network-only' });
  };
  const companySelect = (value: string, on: (v: string) => void, id: string) => (
    <label htmlFor={id}>
      {t('partner.client')}
      <select id={id} required value={value} onChange={(e) => on(e.target.value)}>
        <option value="">{t('partner.choose')}</option>
        {companies.map((c) => (
          <option key={c.id} value={c.id}>
            {c.name}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <Page title={t('partner.register')}>
      <PayloadErrors errors={errors} />
      {warnings.length > 0 && (
        <div className="alert alert-warn" role="status">
          {warnings.join(' ')}
        </div>
      )}
      {notice && (
        <p role="status" className="alert alert-ok">
          {notice}
        </p>
      )}
      <div className="grid">
        <form
          className="card"
          aria-labelledby="reg-company"
          onSubmit={async (e) => {
            e.preventDefault();
            const r = await createCompany({ input: { name: company.name, city: company.city || null } });
            const p = r.data?.createCompany;
            done(t('partner.companyRegistered', { name: company.name }), p?.errors, !!p?.company);
            if (p?.company) setCompany({ name: '', city: '' });
          }}
        >
          <h2 id="reg-company">{t('partner.newCompany')}</h2>
          <label>
            {t('company.name')} <input required value={company.name} onChange={(e) => setCompany({ ...company, name: e.target.value })} />
          </label>
          <label>
            {t('company.city')} <input value={company.city} onChange={(e) => setCompany({ ...company, city: e.target.value })} />
          </label>
          <button type="submit" className="primary">
            {t('partner.registerCompany')}
          </button>
        </form>
        <form
          className="card"
          aria-labelledby="reg-lead"
          onSubmit={async (e) => {
            e.preventDefault();
            const r = await createLead({
              input: { companyId: lead.companyId, firstName: lead.firstName, lastName: lead.lastName, email: lead.email || null, lifecycle: 'LEAD' },
            });
            const p = r.data?.createContact;
            done(t('partner.leadRegistered', { name: `${lead.firstName} ${lead.lastName}` }), p?.errors, !!p?.contact);
            if (p?.contact) setLead({ companyId: lead.companyId, firstName: '', lastName: '', email: '' });
          }}
        >
          <h2 id="reg-lead">{t('partner.newLead')}</h2>
          {companySelect(lead.companyId, (v) => setLead({ ...lead, companyId: v }), 'lead-company')}
          <label>
            {t('partner.firstName')} <input required value={lead.firstName} onChange={(e) => setLead({ ...lead, firstName: e.target.value })} />
          </label>
          <label>
            {t('partner.lastName')} <input required value={lead.lastName} onChange={(e) => setLead({ ...lead, lastName: e.target.value })} />
          </label>
          <label>
            {t('partner.email')} <input type="email" value={lead.email} onChange={(e) => setLead({ ...lead, email: e.target.value })} />
          </label>
          <button type="submit" className="primary">
            {t('partner.registerLead')}
          </button>
        </form>
        <form
          className="card"
          aria-labelledby="reg-deal"
          onSubmit={async (e) => {
            e.preventDefault();
            const r = await createDeal({ input: { companyId: deal.companyId, title: deal.title, amount: deal.amount || null, currency: 'EUR' } });
            const p = r.data?.createDeal;
            setWarnings(p?.warnings ?? []);
            done(t('partner.dealRegistered', { title: deal.title }), p?.errors, !!p?.deal);
            if (p?.deal) setDeal({ companyId: deal.companyId, title: '', amount: '' });
          }}
        >
          <h2 id="reg-deal">{t('partner.newDeal')}</h2>
          {companySelect(deal.companyId, (v) => setDeal({ ...deal, companyId: v }), 'deal-company')}
          <label>
            {t('deal.title')} <input required value={deal.title} onChange={(e) => setDeal({ ...deal, title: e.target.value })} />
          </label>
          <label>
            {t('deal.amountEur')} <input inputMode="decimal" value={deal.amount} onChange={(e) => setDeal({ ...deal, amount: e.target.value })} />
          </label>
          <button type="submit" className="primary">
            {t('partner.registerDeal')}
          </button>
        </form>
      </div>
    </Page>
  );
}

function Prices() {
  const { t } = useTranslation();
  const [{ data, fetching, error }] = useQuery({ query: PartnerPriceListDocument });
  if (fetching && !data) return <Loading />;
  const lists = data?.priceLists?.edges ?? [];
  return (
    <Page title={t('partner.prices')}>
      <Failure error={error} />
      {!lists.length ? (
        <Empty>{t('partner.noPrices')}</Empty>
      ) : (
        lists.map(({ node: l }) => (
          <section key={l.id} className="card" aria-label={l.name}>
            <h2>
              {l.name} <span className="muted small">{l.currency}</span>
            </h2>
            <table>
              <caption>{t('partner.rates')}</caption>
              <tbody>
                {(l.rates ?? []).map((r) => (
                  <tr key={r.discipline}>
                    <th scope="row">{r.discipline}</th>
                    <td>{money(r.rate)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <table>
              <caption>{t('partner.products')}</caption>
              <tbody>
                {(l.products ?? []).map((p) => (
                  <tr key={p.productId}>
                    <th scope="row">{p.name ?? p.sku}</th>
                    <td>{money(p.price)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        ))
      )}
    </Page>
  );
}
