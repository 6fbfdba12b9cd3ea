// A small design system of our own: native elements (button, table, dialog-free forms) styled in
// styles.css, so keyboard and screen readers work without a component library.
import type { ReactNode } from 'react';
import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import type { CombinedError } from 'urql';

export function Page({ title, children, actions }: { title: string; children: ReactNode; actions?: ReactNode }) {
  const h = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · Turnkey CRM`;
  }, [title]);
  return (
    <section className="page" aria-labelledby="page-title">
      <header className="page-head">
        <h1 id="page-title" ref={h} tabIndex={-1}>
          {title}
        </h1>
        {actions}
      </header>
      {children}
    </section>
  );
}

export function Loading() {
  const { t } = useTranslation();
  return (
    <p className="muted" role="status" aria-live="polite">
      {t('common.loading')}
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

/** A request-level failure in plain words (network, sign-in expired, refused). */
export function Failure({ error }: { error: CombinedError | Error | undefined }) {
  const { t } = useTranslation();
  if (!error) return null;
  let text = t('errors.generic');
  if ('networkError' in error && error.networkError) text = t('errors.network');
  else if ('graphQLErrors' in error && error.graphQLErrors.length) {
    const code = String(error.graphQLErrors[0].extensions?.code ?? '');
    text = code === 'FORBIDDEN' ? t('errors.forbidden') : error.graphQLErrors[0].message;
  } else if (error.message) text = error.message;
  return (
    <div className="alert alert-error" role="alert">
      {text}
    </div>
  );
}

export interface UserErr {
  code: string;
  message: string;
}

/** Typed payload errors (`errors: [UserError]`): the code in words, then the server's message. */
export function PayloadErrors({ errors }: { errors: UserErr[] | null | undefined }) {
  const { t } = useTranslation();
  if (!errors?.length) return null;
  return (
    <div className="alert alert-error" role="alert">
      {errors.map((e, i) => (
        <p key={i}>
          <strong>{t(`codes.${e.code}`, { defaultValue: e.code })}</strong> ({e.code}): {e.message}
        </p>
      ))}
    </div>
  );
}

export function Pager({ hasNext, onNext, onFirst, isFirst }: { hasNext: boolean; onNext: () => void; onFirst: () => void; isFirst: boolean }) {
  const { t } = useTranslation();
  if (!hasNext && isFirst) return null;
  return (
    <nav className="pager" aria-label={t('common.pagination')}>
      <button type="button" onClick={onFirst} disabled={isFirst}>
        {t('common.firstPage')}
      </button>
      <button type="button" onClick={onNext} disabled={!hasNext}>
        {t('common.nextPage')}
      </button>
    </nav>
  );
}

export function Badge({ tone, children }: { tone: 'ok' | 'warn' | 'bad' | 'info'; children: ReactNode }) {
  return <span className={`badge badge-${tone}`}>{children}</span>;
}
