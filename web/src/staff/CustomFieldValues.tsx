// Custom field values of a company on the 360° page, shown and edited (setCustomFields).
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useMutation, useQuery } from 'urql';
import { date } from '../format';
import type { CustomFieldValueFieldsFragment } from '../gql/graphql';
import { CompanyFieldOptionsDocument, SetCompanyCustomFieldsDocument } from '../gql/graphql';
import { Empty, Failure, PayloadErrors } from '../ui';

type Option = { value: string; label: string; retired: boolean };
const kindOf = (f: CustomFieldValueFieldsFragment) => f.kind.toUpperCase();

function shown(f: CustomFieldValueFieldsFragment, t: (k: string) => string): string {
  if (f.value === null || f.value === undefined || f.value === '') return '—';
  if (kindOf(f) === 'BOOLEAN') return t(['true', 'yes', '1'].includes(f.value.toLowerCase()) ? 'common.yes' : 'common.no');
  if (kindOf(f) === 'DATE') return date(f.value);
  if (kindOf(f) === 'SELECT' || kindOf(f) === 'MULTISELECT')
    return f.value
      .split(';')
      .map((v) => f.options.find((o) => o.value === v.trim())?.label ?? v)
      .join(', ');
  return f.value;
}

export default function CustomFieldValues({
  companyId,
  version,
  fields,
  canEdit,
  onSaved,
}: {
  companyId: string;
  version: number;
  fields: CustomFieldValueFieldsFragment[];
  canEdit: boolean;
  onSaved: () => void;
}) {
  const { t } = useTranslation();
  const [editing, setEditing] = useState(false);
  const [values, setValues] = useState<Record<string, string>>({});
  const [result, save] = useMutation(SetCompanyCustomFieldsDocument);
  const [done, setDone] = useState(false);
  const set = (k: string, v: string) => setValues({ ...values, [k]: v });
  // a value lists only its chosen options: the definitions offer the others, read when editing
  const [defs] = useQuery({ query: CompanyFieldOptionsDocument, pause: !editing });
  const optionsOf = (key: string): Option[] => defs.data?.customFieldDefinitions?.find((d) => d.key === key)?.options ?? [];
  return (
    <section aria-labelledby="custom-fields">
      <h2 id="custom-fields">{t('company.customFields')}</h2>
      {!fields.length ? (
        <Empty>{t('company.noCustomFields')}</Empty>
      ) : !editing ? (
        <>
          <dl className="fields">
            {fields.map((f) => (
              <div key={f.key} data-custom-field={f.key}>
                <dt>{f.label}</dt>
                <dd>
                  {shown(f, t)} {f.isDefault && f.value ? <span className="small muted">({t('company.defaultValue')})</span> : null}
                </dd>
              </div>
            ))}
          </dl>
          {done && <p role="status">{t('company.customFieldsSaved')}</p>}
          {canEdit && (
            <button
              type="button"
              onClick={() => {
                setValues(Object.fromEntries(fields.map((f) => [f.key, f.isDefault ? '' : (f.value ?? '')])));
                setDone(false);
                setEditing(true);
              }}
            >
              {t('company.editCustomFields')}
            </button>
          )}
        </>
      ) : (
        <form
          className="card"
          onSubmit={async (e) => {
            e.preventDefault();
            const changed = fields.filter((f) => (values[f.key] ?? '') !== (f.isDefault ? '' : (f.value ?? '')));
            const r = await save({
              input: { entity: 'COMPANY', id: companyId, expectedVersion: version, values: changed.map((f) => ({ key: f.key, value: values[f.key] || null })) },
            });
            if (r.data?.setCustomFields?.company) {
              setEditing(false);
              setDone(true);
              onSaved();
            }
          }}
        >
          {fields.map((f) => (
            <FieldInput key={f.key} field={f} options={optionsOf(f.key)} value={values[f.key] ?? ''} onChange={(v) => set(f.key, v)} />
          ))}
          <div className="row">
            <button type="submit" className="primary" disabled={result.fetching}>
              {t('company.saveCustomFields')}
            </button>
            <button type="button" onClick={() => setEditing(false)}>
              {t('prices.cancel')}
            </button>
          </div>
          <Failure error={result.error} />
          <PayloadErrors errors={result.data?.setCustomFields?.errors} />
        </form>
      )}
    </section>
  );
}

function FieldInput({ field: f, options, value, onChange }: { field: CustomFieldValueFieldsFragment; options: Option[]; value: string; onChange: (v: string) => void }) {
  const { t } = useTranslation();
  const kind = kindOf(f);
  const live = options.filter((o) => !o.retired || value.split(';').includes(o.value));
  if (kind === 'MULTISELECT') {
    const chosen = new Set(value.split(';').filter(Boolean));
    return (
      <fieldset className="stage">
        <legend>{f.label}</legend>
        {live.map((o) => (
          <label key={o.value}>
            <input
              type="checkbox"
              checked={chosen.has(o.value)}
              onChange={(e) => {
                const next = new Set(chosen);
                if (e.target.checked) next.add(o.value);
                else next.delete(o.value);
                onChange([...next].join(';'));
              }}
            />{' '}
            {o.label}
          </label>
        ))}
      </fieldset>
    );
  }
  let input;
  if (kind === 'SELECT')
    input = (
      <select value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">—</option>
        {live.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    );
  else if (kind === 'BOOLEAN')
    input = (
      <select value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">—</option>
        <option value="true">{t('common.yes')}</option>
        <option value="false">{t('common.no')}</option>
      </select>
    );
  else
    input = (
      <input
        type={kind === 'DATE' ? 'date' : 'text'}
        inputMode={kind === 'NUMBER' || kind === 'MONEY' ? 'decimal' : undefined}
        value={value}
        onChange={(e) => onChange(e.target.value)}
      />
    );
  return (
    <label>
      {f.label} {input} {f.help && <span className="small muted">{f.help}</span>}
    </label>
  );
}
