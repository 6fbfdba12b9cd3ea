// The admin screens, one lazily loaded chunk: staff who are not admins never download it.
import { useTranslation } from 'react-i18next';
import { Navigate, NavLink, Route, Routes } from 'react-router-dom';
import Books from './Books';
import CustomFields from './CustomFields';
import Pipelines from './Pipelines';
import PriceLists from './PriceLists';

export default function Admin() {
  const { t } = useTranslation();
  const tabs = [
    ['books', 'admin.books'],
    ['fields', 'admin.fields'],
    ['pipelines', 'admin.pipelines'],
    ['prices', 'admin.prices'],
  ];
  return (
    <>
      <nav aria-label={t('admin.nav')} className="tabs">
        {tabs.map(([to, key]) => (
          <NavLink key={to} to={`/admin/${to}`} className="tab">
            {t(key)}
          </NavLink>
        ))}
      </nav>
      <Routes>
        <Route index element={<Navigate to="books" replace />} />
        <Route path="books" element={<Books />} />
        <Route path="fields" element={<CustomFields />} />
        <Route path="pipelines" element={<Pipelines />} />
        <Route path="prices" element={<PriceLists />} />
      </Routes>
    </>
  );
}
