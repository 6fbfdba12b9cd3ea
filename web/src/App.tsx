import { lazy, Suspense, useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Navigate, NavLink, Route, Routes, useNavigate } from 'react-router-dom';
import { Provider } from 'urql';
import type { Role, Session, SignInConfig } from './auth';
import { fetchConfig, isPortal, loadSession, oidcCallback, signOut } from './auth';
import { makeClient } from './client';
import { LANGUAGES, setLanguage } from './i18n';
import SignIn from './SignIn';
import { Failure, Loading } from './ui';

const Search = lazy(() => import('./staff/Search'));
const Company360 = lazy(() => import('./staff/Company360'));
const DealBoard = lazy(() => import('./staff/DealBoard'));
const Estimates = lazy(() => import('./staff/Estimates'));
const TicketQueue = lazy(() => import('./staff/Tickets'));
const TicketDetail = lazy(() => import('./staff/TicketDetail'));
const MyDay = lazy(() => import('./staff/MyDay'));
const Leads = lazy(() => import('./staff/Leads'));
const Forecast = lazy(() => import('./staff/Forecast'));
const Roi = lazy(() => import('./staff/Roi'));
const Import = lazy(() => import('./staff/Import'));
const Duplicates = lazy(() => import('./staff/Duplicates'));
// admin only: its own chunk, so other staff never download it
const Admin = lazy(() => import('./staff/admin/Admin'));
const CustomerPortal = lazy(() => import('./portal/Customer'));
const PartnerPortal = lazy(() => import('./portal/Partner'));

interface NavItem {
  to: string;
  key: string;
  roles: Role[];
}
const STAFF_NAV: NavItem[] = [
  { to: '/search', key: 'nav.search', roles: ['admin', 'sales', 'marketing', 'support'] },
  { to: '/day', key: 'nav.day', roles: ['admin', 'sales'] },
  { to: '/leads', key: 'nav.leads', roles: ['admin', 'sales', 'marketing'] },
  { to: '/deals', key: 'nav.board', roles: ['admin', 'sales'] },
  { to: '/forecast', key: 'nav.forecast', roles: ['admin', 'sales'] },
  { to: '/tickets', key: 'nav.tickets', roles: ['admin', 'support'] },
  { to: '/roi', key: 'nav.roi', roles: ['admin', 'marketing'] },
  { to: '/import', key: 'nav.import', roles: ['admin', 'sales', 'marketing'] },
  { to: '/duplicates', key: 'nav.duplicates', roles: ['admin', 'sales', 'marketing'] },
  { to: '/admin', key: 'nav.admin', roles: ['admin'] },
];
const PORTAL_NAV: NavItem[] = [
  { to: '/portal/tickets', key: 'nav.myTickets', roles: ['customer'] },
  { to: '/portal/kb', key: 'nav.kb', roles: ['customer'] },
  { to: '/portal/money', key: 'nav.money', roles: ['customer'] },
  { to: '/partner', key: 'nav.pipeline', roles: ['partner'] },
  { to: '/partner/register', key: 'nav.register', roles: ['partner'] },
  { to: '/partner/prices', key: 'nav.prices', roles: ['partner'] },
];

function home(role: Role): string {
  if (role === 'customer') return '/portal/tickets';
  if (role === 'partner') return '/partner';
  if (role === 'support') return '/tickets';
  if (role === 'marketing') return '/roi';
  return '/search';
}

function LanguageSwitch() {
  const { t, i18n } = useTranslation();
  return (
    <label className="lang">
      <span>{t('common.language')}</span>
      <select value={i18n.resolvedLanguage} onChange={(e) => void setLanguage(e.target.value)}>
        {LANGUAGES.map((l) => (
          <option key={l.code} value={l.code}>
            {l.label}
          </option>
        ))}
      </select>
    </label>
  );
}

function Shell({ session, config, onSignOut }: { session: Session; config: SignInConfig | null; onSignOut: () => void }) {
  const { t } = useTranslation();
  const nav = (isPortal(session.role) ? PORTAL_NAV : STAFF_NAV).filter((n) => n.roles.includes(session.role));
  return (
    <div className="shell">
      <a className="skip" href="#main">
        {t('common.skip')}
      </a>
      <header className="top">
        <span className="brand">Turnkey CRM</span>
        <nav aria-label={t('nav.main')}>
          <ul>
            {nav.map((n) => (
              <li key={n.to}>
                <NavLink to={n.to} end={n.to === '/partner'}>
                  {t(n.key)}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <LanguageSwitch />
          <span>
            {session.name} <span className="muted">({t(`roles.${session.role}`)})</span>
          </span>
          <button
            type="button"
            onClick={() => {
              void signOut(config);
              onSignOut();
            }}
          >
            {t('common.signOut')}
          </button>
        </div>
      </header>
      <main id="main">
        <Suspense fallback={<Loading />}>
          <Routes>
            <Route path="/" element={<Navigate to={home(session.role)} replace />} />
            <Route path="/signin-callback" element={<Navigate to={home(session.role)} replace />} />
            {!isPortal(session.role) && (
              <>
                <Route path="/search" element={<Search />} />
                <Route path="/companies/:id" element={<Company360 role={session.role} />} />
                <Route path="/deals" element={<DealBoard />} />
                <Route path="/deals/:id/estimates" element={<Estimates />} />
                <Route path="/tickets" element={<TicketQueue />} />
                <Route path="/tickets/:id" element={<TicketDetail />} />
                <Route path="/day" element={<MyDay />} />
                <Route path="/leads" element={<Leads />} />
                <Route path="/forecast" element={<Forecast />} />
                <Route path="/roi" element={<Roi />} />
                <Route path="/import" element={<Import session={session} />} />
                <Route path="/duplicates" element={<Duplicates />} />
                {session.role === 'admin' && <Route path="/admin/*" element={<Admin />} />}
              </>
            )}
            {session.role === 'customer' && <Route path="/portal/*" element={<CustomerPortal />} />}
            {session.role === 'partner' && <Route path="/partner/*" element={<PartnerPortal />} />}
            <Route path="*" element={<NotFound />} />
          </Routes>
        </Suspense>
      </main>
    </div>
  );
}

function NotFound() {
  const { t } = useTranslation();
  return (
    <section className="page">
      <h1>{t('errors.notFoundTitle')}</h1>
      <p>{t('errors.notFound')}</p>
    </section>
  );
}

export default function App() {
  const [session, setSession] = useState<Session | null>(() => loadSession());
  const [config, setConfig] = useState<SignInConfig | null>(null);
  const [error, setError] = useState<Error>();
  const navigate = useNavigate();
  useEffect(() => {
    fetchConfig()
      .then(async (c) => {
        setConfig(c);
        if (c.signIn === 'oidc' && window.location.pathname === '/signin-callback' && !loadSession()) {
          setSession(await oidcCallback(c));
          navigate('/', { replace: true });
        }
      })
      .catch((e: Error) => setError(e));
  }, [navigate]);
  const client = useMemo(
    () =>
      session
        ? makeClient(session, () => {
            signOut(null);
            setSession(null);
          })
        : null,
    [session],
  );
  if (!session || !client) {
    if (error) return <Failure error={error} />;
    if (!config) return <Loading />;
    return (
      <SignIn
        config={config}
        onSignedIn={(s) => {
          setSession(s);
          navigate(window.location.pathname === '/' ? home(s.role) : window.location.pathname + window.location.search, {
            replace: true,
          });
        }}
      />
    );
  }
  return (
    <Provider value={client}>
      <Shell session={session} config={config} onSignOut={() => setSession(null)} />
    </Provider>
  );
}
