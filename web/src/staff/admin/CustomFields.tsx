import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useMutation, useQuery } from 'urql';
import type { CustomFieldDefFieldsFragment, CustomFieldEntity, CustomFieldKind } from './gql/graphql';
import { CustomFieldDefinitionsDocument, DefineCustomFieldDocument, UpdateCustomFieldDocument } from './gql/graphql';
import { Badge, Empty, Failure, Loading, Page, PayloadErrors } from '../../ui';
import type { UserErr } from '../../ui';

const ENTITIES: CustomFieldEntity[] = ['COMPANY', 'CONTACT', 'LEAD', 'DEAL', 'TICKET'];
const KINDS: CustomFieldKind[] = ['TEXT', 'NUMBER', 'MONEY', 'DATE', 'BOOLEAN', 'SELECT', 'MULTISELECT'];
const hasOptions = (k: string) => k === 'SELECT' || k === 'MULTISELECT';

/** "gold: Gold" per line → options (the label is optional). */
function parseOptions(text: string) {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [value, ...rest] = l.split(':');
      const label = rest.join(':').trim();
      return { value: value.trim(), label: label || null };
    });
}

export default function CustomFields() {
  const { t } = useTranslation();
  const [entity, setEntity] = useState<CustomFieldEntity>('COMPANY');
  const [{ data, fetching, error }, refetch] = useQuery({ query: CustomFieldDefinitionsDocument, variables: { entity } });
  const [update, doUpdate] = useMutation(UpdateCustomFieldDocument);
  const [errors, setErrors] = useState<UserErr[]>();
  const reload = () => refetch({ requestPolicy: 'network-only' });
  const change = async (key: string, patch: Record<string, unknown>) => {
    const r = await doUpdate({ input: { entity, key, ...patch } });
    setErrors(r.data?.updateCustomField?.errors);
    reload();
  };
  const defs = data?.customFieldDefinitions ?? [];
  return (
    <Page
      title={t('fields.title')}
      actions={
        <label>
          {t('fields.entity')}{' '}
          <select value={entity} onChange={(e) => setEntity(e.target.value as CustomFieldEntity)}>
            {ENTITIES.map((e) => (
              <option key={e} value={e}>
                {t(`fields.entities.${e}`)}
              </option>
            ))}
          </select>
        </label>
      }
    >
      <Failure error={error ?? update.error} />
      <PayloadErrors errors={errors} />
      {fetching && !data ? (
        <Loading />
      ) : !defs.length ? (
        <Empty>{t('fields.none')}</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{t('fields.label')}</th>
              <th scope="col">{t('fields.key')}</th>
              <th scope="col">{t('fields.kind')}</th>
              <th scope="col">{t('fields.options')}</th>
              <th scope="col">{t('fields.state')}</th>
            </tr>
          </thead>
          <tbody>
            {defs.map((d) => (
              <FieldRow key={d.id} def={d} onChange={change} />
            ))}
          </tbody>
        </table>
      )}
      <NewField entity={entity} onCreated={reload} />
    </Page>
  );
}

function FieldRow({ def: d, onChange }: { def: CustomFieldDefFieldsFragment; onChange: (key: string, patch: Record<string, unknown>) => void }) {
  const { t } = useTranslation();
  const [option, setOption] = useState('');
  return (
    <tr data-field={d.key}>
      <td>
        <strong>{d.label}</strong>
        {d.required && <span className="muted small"> · {t('fields.required')}</span>}
        {d.help && <div className="small muted">{d.help}</div>}
      </td>
      <td>
        <code>{d.key}</code>
      </td>
      <td>
        {t(`fields.kinds.${d.kind}`)}
        {d.currency ? ` (${d.currency})` : ''}
      </td>
      <td>
        {hasOptions(d.kind) && (
          <>
            <ul className="list small">
              {d.options.map((o) => (
                <li key={o.value}>
                  {o.label} <code>{o.value}</code>{' '}
                  {o.retired ? (
                    <Badge tone="warn">{t('fields.retired')}</Badge>
                  ) : (
                    <button type="button" onClick={() => onChange(d.key, { removeOptions: [o.value] })} aria-label={t('fields.retireOptionLabel', { option: o.label })}>
                      {t('fields.retireOption')}
                    </button>
                  )}
                </li>
              ))}
            </ul>
            <div className="row">
              <label>
                <span className="sr-only">{t('fields.newOptionLabel', { field: d.label })}</span>
                <input value={option} onChange={(e) => setOption(e.target.value)} placeholder={t('fields.optionPlaceholder')} size={14} />
              </label>
              <button
                type="button"
                disabled={!option.trim()}
                onClick={() => {
                  onChange(d.key, { addOptions: parseOptions(option) });
                  setOption('');
                }}
              >
                {t('fields.addOption')}
              </button>
            </div>
          </>
        )}
      </td>
      <td>
        {d.active ? <Badge tone="ok">{t('fields.active')}</Badge> : <Badge tone="warn">{t('fields.retired')}</Badge>}{' '}
        <button type="button" onClick={() => onChange(d.key, { active: !d.active })} aria-label={t(d.active ? 'fields.retireLabel' : 'fields.restoreLabel', { field: d.label })}>
          {d.active ? t('fields.retire') : t('fields.restore')}
        </button>
      </td>
    </tr>
  );
}

function NewField({ entity, onCreated }: { entity: CustomFieldEntity; onCreated: () => void }) {
  const { t } = useTranslation();
  const [key, setKey] = useState('');
  const [label, setLabel] = useState('');
  const [kind, setKind] = useState<CustomFieldKind>('TEXT');
  const [required, setRequired] = useState(false);
  const [help, setHelp] = useState('');
  const [currency, setCurrency] = useState('EUR');
  const [options, setOptions] = useState('');
  const [done, setDone] = useState<string>();
  const [result, define] = useMutation(DefineCustomFieldDocument);
  return (
    <form
      className="card"
      aria-labelledby="new-field"
      onSubmit={async (e) => {
        e.preventDefault();
        setDone(undefined);
        const r = await define({
          input: {
            entity,
            key: key.trim(),
            label: label.trim(),
            kind,
            required,
            help: help.trim() || null,
            currency: kind === 'MONEY' ? currency : null,
            options: hasOptions(kind) ? parseOptions(options) : null,
          },
        });
        const def = r.data?.defineCustomField?.definition;
        if (def) {
          setDone(def.label);
          setKey('');
          setLabel('');
          setHelp('');
          setOptions('');
          onCreated();
        }
      }}
    >
      <h2 id="new-field">{t('fields.new', { entity: t(`fields.entities.${entity}`) })}</h2>
      <label>
        {t('fields.label')} <input required value={label} onChange={(e) => setLabel(e.target.value)} />
      </label>
      <label>
        {t('fields.key')} <input required pattern="[a-z][a-z0-9_]*" maxLength={40} value={key} onChange={(e) => setKey(e.target.value)} aria-describedby="key-help" />
      </label>
      <span id="key-help" className="small muted">
        {t('fields.keyHelp')}
      </span>
      <label>
        {t('fields.kind')}{' '}
        <select value={kind} onChange={(e) => setKind(e.target.value as CustomFieldKind)}>
          {KINDS.map((k) => (
            <option key={k} value={k}>
              {t(`fields.kinds.${k}`)}
            </option>
          ))}
        </select>
      </label>
      {kind === 'MONEY' && (
        <label>
          {t('fields.currency')} <input value={currency} onChange={(e) => setCurrency(e.target.value.toUpperCase())} maxLength={3} size={4} />
        </label>
      )}
      {hasOptions(kind) && (
        <label>
          {t('fields.optionsHelp')} <textarea rows={4} value={options} onChange={(e) => setOptions(e.target.value)} />
        </label>
      )}
      <label>
        {t('fields.help')} <input value={help} onChange={(e) => setHelp(e.target.value)} />
      </label>
      <label>
        <input type="checkbox" checked={required} onChange={(e) => setRequired(e.target.checked)} /> {t('fields.required')}
      </label>
      <button type="submit" className="primary" disabled={result.fetching}>
        {t('fields.define')}
      </button>
      <Failure error={result.error} />
      <PayloadErrors errors={result.data?.defineCustomField?.errors} />
      {done && <p role="status">{t('fields.defined', { label: done })}</p>}
    </form>
  );
}
