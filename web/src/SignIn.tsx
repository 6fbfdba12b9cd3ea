import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { DemoUser, Session, SignInConfig } from './auth';
import { demoUsers, devSignIn, oidcSignIn } from './auth';
import { Failure, Loading } from './ui';

export default function SignIn({ config, onSignedIn }: { config: SignInConfig; onSignedIn: (s: Session) => void }) {
  const { t } = useTranslation();
  const [users, setUsers] = useState<DemoUser[]>();
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (config.signIn === 'development') demoUsers().then(setUsers, setError);
  }, [config]);
  return (
    <main id="main" className="signin">
      <h1>{t('signIn.title')}</h1>
      <Failure error={error} />
      {config.signIn === 'oidc' ? (
        <button type="button" className="primary" onClick={() => oidcSignIn(config).catch(setError)}>
          {t('signIn.oidc')}
        </button>
      ) : !users ? (
        <Loading />
      ) : (
        <>
          <p>{t('signIn.development')}</p>
          <ul className="demo-users">
            {users.map((u) => (
              <li key={u.user}>
                <button
                  type="button"
                  disabled={busy}
                  onClick={() => {
                    setBusy(true);
                    devSignIn(u.user).then(onSignedIn, (e: Error) => {
                      setError(e);
                      setBusy(false);
                    });
                  }}
                >
                  <strong>{u.name}</strong> <span className="muted">{t(`roles.${u.role}`)} · {u.user}</span>
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
    </main>
  );
}
