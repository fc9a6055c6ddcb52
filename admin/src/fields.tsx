/**
 * A form generated from an entry's stored fields: text, numbers, booleans, dates as dates, lists
 * of values, nested maps; anything else (lists of maps) as JSON text checked before saving.
 */
import type { ComponentChildren } from 'preact';

export type Value = unknown;
export type FieldMap = Record<string, Value>;

const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/;
/** Keys the server manages or derives: shown, not edited in the form. */
const MANAGED = new Set(['id', 'uuid', 'slug', 'modified_at', 'created_by', 'published_by']);

function isMap(value: Value): value is FieldMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isDateKey(key: string): boolean {
  return key.endsWith('_at') || key === 'date';
}

const pad = (n: number) => String(n).padStart(2, '0');

/** A date field's value as `datetime-local` text, or undefined when it is not a date we can edit as one. */
function asLocalInput(value: Value): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) {
    const d = new Date(value * 1000);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }
  if (typeof value === 'string') {
    const m = DATE_TEXT.exec(value);
    if (m) return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6] ?? '00'}`;
  }
  return undefined;
}

/** Back from the input, in the stored value's own form (Unix seconds stay numbers, text stays text). */
function fromLocalInput(text: string, previous: Value): Value {
  const [day, time = '00:00:00'] = text.split('T');
  const full = time.length === 5 ? `${time}:00` : time;
  if (typeof previous === 'number') return Math.floor(new Date(`${day}T${full}`).getTime() / 1000);
  return `${day} ${full}`;
}

const idOf = (path: string[]) => `field-${path.join('-').replace(/[^\w-]/g, '_')}`;

interface Props {
  path: string[];
  value: Value;
  onChange: (value: Value) => void;
  label: string;
  children?: ComponentChildren;
}

function Scalar({ path, value, onChange, label }: Props) {
  const id = idOf(path);
  const key = path[path.length - 1] ?? '';
  if (typeof value === 'boolean') {
    return (
      <div class="field check">
        <input id={id} type="checkbox" checked={value} onChange={(e) => onChange(e.currentTarget.checked)} />
        <label for={id}>{label}</label>
      </div>
    );
  }
  if (typeof value === 'number') {
    const local = path.length === 1 && isDateKey(key) ? asLocalInput(value) : undefined;
    if (local !== undefined) {
      return (
        <div class="field">
          <label for={id}>{label}</label>
          <input id={id} type="datetime-local" step="1" value={local} onInput={(e) => e.currentTarget.value && onChange(fromLocalInput(e.currentTarget.value, value))} />
        </div>
      );
    }
    return (
      <div class="field">
        <label for={id}>{label}</label>
        <input id={id} type="number" step="any" value={String(value)} onInput={(e) => e.currentTarget.value !== '' && onChange(Number(e.currentTarget.value))} />
      </div>
    );
  }
  const text = value === null || value === undefined ? '' : String(value);
  const local = isDateKey(key) ? asLocalInput(text) : undefined;
  if (local !== undefined) {
    return (
      <div class="field">
        <label for={id}>{label}</label>
        <input id={id} type="datetime-local" step="1" value={local} onInput={(e) => e.currentTarget.value && onChange(fromLocalInput(e.currentTarget.value, text))} />
      </div>
    );
  }
  const long = text.includes('\n') || text.length > 80;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {long ? (
        <textarea id={id} rows={Math.min(12, Math.max(3, text.split('\n').length))} value={text} onInput={(e) => onChange(e.currentTarget.value)} />
      ) : (
        <input id={id} value={text} onInput={(e) => onChange(e.currentTarget.value)} />
      )}
    </div>
  );
}

function List({ path, value, onChange, label }: Props & { value: Value[] }) {
  const id = idOf(path);
  return (
    <fieldset class="list">
      <legend>{label}</legend>
      <ul aria-label={label}>
        {value.map((item, i) => (
          <li key={i}>
            <label for={`${id}-${i}`} class="visually-hidden">
              {label} item {i + 1}
            </label>
            <input
              id={`${id}-${i}`}
              type={typeof item === 'number' ? 'number' : 'text'}
              value={String(item ?? '')}
              onInput={(e) => onChange(value.map((old, j) => (j === i ? (typeof old === 'number' ? Number(e.currentTarget.value) : e.currentTarget.value) : old)))}
            />
            <button type="button" class="secondary small" aria-label={`Remove ${label} item ${i + 1}`} onClick={() => onChange(value.filter((_, j) => j !== i))}>
              Remove
            </button>
          </li>
        ))}
      </ul>
      <button type="button" class="secondary small" onClick={() => onChange([...value, typeof value[0] === 'number' ? 0 : ''])}>
        Add {label} item
      </button>
    </fieldset>
  );
}

function Json({ path, value, onChange, label, onInvalid }: Props & { onInvalid: (path: string, bad: boolean) => void }) {
  const id = idOf(path);
  return (
    <div class="field">
      <label for={id}>{label} (JSON)</label>
      <textarea
        id={id}
        class="code"
        rows={6}
        defaultValue={JSON.stringify(value, null, 2)}
        onInput={(e) => {
          try {
            onChange(JSON.parse(e.currentTarget.value));
            onInvalid(path.join('.'), false);
          } catch {
            onInvalid(path.join('.'), true);
          }
        }}
      />
    </div>
  );
}

export function FieldEditor({ path, value, onChange, onInvalid }: { path: string[]; value: Value; onChange: (value: Value) => void; onInvalid: (path: string, bad: boolean) => void }) {
  const label = path.join(' › ');
  if (isMap(value)) {
    return (
      <fieldset class="map">
        <legend>{label}</legend>
        {Object.entries(value).map(([key, inner]) => (
          <FieldEditor key={key} path={[...path, key]} value={inner} onChange={(next) => onChange({ ...value, [key]: next })} onInvalid={onInvalid} />
        ))}
      </fieldset>
    );
  }
  if (Array.isArray(value)) {
    if (value.every((item) => typeof item === 'string' || typeof item === 'number')) return <List path={path} value={value} onChange={onChange} label={label} />;
    return <Json path={path} value={value} onChange={onChange} label={label} onInvalid={onInvalid} />;
  }
  return <Scalar path={path} value={value} onChange={onChange} label={label} />;
}

export function isManaged(key: string): boolean {
  return MANAGED.has(key);
}
