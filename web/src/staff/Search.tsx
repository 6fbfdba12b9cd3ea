import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router-dom';
import { useQuery } from 'urql';
import { SearchCompaniesDocument, SearchContactsDocument } from '../gql/graphql';
import { Badge, Empty, Failure, Loading, Page, Pager } from '../ui';
import { healthTone } from './health';

// The API has no full-text search across records: companies by name prefix, contacts by exact
// e-mail are the filters there are (see web/README.md "What the API made awkward").
export default function Search() {
  const { t } = useTranslation();
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const [text, setText] = useState(q);
  const [after, setAfter] = useState<string | null>(null);
  const [{ data, fetching, error }] = useQuery({
    query: SearchCompaniesDocument,
    variables: { prefix: q || null, first: 25, after },
  });
  const isEmail = q.includes('@');
  const [contacts] = useQuery({ query: SearchContactsDocument, variables: { email: q }, pause: !isEmail });
  const companies = data?.companies;
  return (
    <Page title={t('search.title')}>
      <form
        role="search"
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          setAfter(null);
          setParams(text ? { q: text } : {});
        }}
      >
        <label htmlFor="q">{t('search.label')}</label>
        <input id="q" type="search" value={text} onChange={(e) => setText(e.target.value)} placeholder={t('search.placeholder')} />
        <button type="submit" className="primary">
          {t('search.go')}
        </button>
      </form>
      <Failure error={error} />
      {isEmail && contacts.data?.contacts?.edges.length ? (
        <>
          <h2>{t('search.contacts')}</h2>
          <ul className="list">
            {contacts.data.contacts.edges.map(({ node }) => (
              <li key={node.id}>
                {node.name} · {node.email}{' '}
                {node.company && <Link to={`/companies/${node.company.id}`}>{node.company.name}</Link>}
              </li>
            ))}
          </ul>
        </>
      ) : null}
      <h2>
        {t('search.companies')} {companies?.totalCount != null && <span className="muted">({companies.totalCount})</span>}
      </h2>
      {fetching && !data ? (
        <Loading />
      ) : !companies?.edges.length ? (
        <Empty>{t('search.none')}</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{t('company.name')}</th>
              <th scope="col">{t('company.kind')}</th>
              <th scope="col">{t('company.city')}</th>
              <th scope="col">{t('company.tier')}</th>
              <th scope="col">{t('company.health')}</th>
            </tr>
          </thead>
          <tbody>
            {companies.edges.map(({ node }) => (
              <tr key={node.id}>
                <td>
                  <Link to={`/companies/${node.id}`}>{node.name}</Link>
                </td>
                <td>{t(`kinds.${node.kind}`)}</td>
                <td>{node.city ?? '—'}</td>
                <td>{node.tier ?? '—'}</td>
                <td>{node.health ? <Badge tone={healthTone(node.health.level)}>{t(`health.${node.health.level}`)}</Badge> : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager
        hasNext={!!companies?.pageInfo.hasNextPage}
        isFirst={after === null}
        onFirst={() => setAfter(null)}
        onNext={() => setAfter(companies?.pageInfo.endCursor ?? null)}
      />
    </Page>
  );
}
