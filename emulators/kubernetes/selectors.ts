// labelSelector and fieldSelector as the apiserver parses them. Label selectors: `k=v`, `k==v`, `k!=v`,
// `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, comma-joined (AND). `k!=v` and `notin` also match objects
// without the label, which is what makes `routesync.io/exclude!=true` select unlabelled Nodes.
// Field selectors: `path=v`, `path==v`, `path!=v` over dotted paths (metadata.name, involvedObject.name, …).
import { badRequest, type Obj } from './status.ts';

type LabelReq =
  | { key: string; op: 'eq' | 'ne'; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | 'absent' };

export interface Selector {
  matches(obj: Obj): boolean;
  readonly empty: boolean;
}

const ALWAYS: Selector = { matches: () => true, empty: true };

/** Splits on commas outside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((x) => x.trim()).filter((x) => x !== '');
}

const KEY = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]{0,61}[a-z0-9A-Z])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

function checkKey(key: string, raw: string): string {
  if (!KEY.test(key)) throw badRequest(`unable to parse requirement: invalid label key "${key}" in "${raw}"`);
  return key;
}

function checkValue(v: string, raw: string): string {
  if (!VALUE.test(v)) throw badRequest(`unable to parse requirement: invalid label value "${v}" in "${raw}"`);
  return v;
}

function parseLabelReq(raw: string): LabelReq {
  let m = /^(\S+)\s+(in|notin)\s+\((.*)\)$/.exec(raw);
  if (m) {
    const values = (m[3] as string).split(',').map((v) => checkValue(v.trim(), raw));
    return { key: checkKey(m[1] as string, raw), op: m[2] as 'in' | 'notin', values };
  }
  m = /^([^=!\s]+)\s*(==|!=|=)\s*(\S*)$/.exec(raw);
  if (m)
    return {
      key: checkKey(m[1] as string, raw),
      op: m[2] === '!=' ? 'ne' : 'eq',
      value: checkValue(m[3] as string, raw),
    };
  m = /^!\s*(\S+)$/.exec(raw);
  if (m) return { key: checkKey(m[1] as string, raw), op: 'absent' };
  if (/^\S+$/.test(raw)) return { key: checkKey(raw, raw), op: 'exists' };
  throw badRequest(`unable to parse requirement: "${raw}"`);
}

function labelsOf(obj: Obj): Record<string, string> {
  const meta = obj.metadata as Obj | undefined;
  return (meta?.labels as Record<string, string> | undefined) ?? {};
}

export function parseLabelSelector(s: string | null): Selector {
  if (s === null || s.trim() === '') return ALWAYS;
  const reqs = splitTop(s).map(parseLabelReq);
  return {
    empty: false,
    matches(obj) {
      const labels = labelsOf(obj);
      return reqs.every((r) => {
        const has = Object.hasOwn(labels, r.key);
        const v = labels[r.key];
        switch (r.op) {
          case 'eq':
            return has && v === r.value;
          case 'ne':
            return !has || v !== r.value;
          case 'in':
            return has && r.values.includes(v as string);
          case 'notin':
            return !has || !r.values.includes(v as string);
          case 'exists':
            return has;
          case 'absent':
            return !has;
        }
      });
    },
  };
}

/** The value at a dotted path, as the field-selector string the apiserver would compare ("" when absent). */
export function fieldValue(obj: Obj, path: string): string {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return '';
    cur = (cur as Obj)[part];
  }
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'string' ? cur : String(cur);
}

export function parseFieldSelector(s: string | null): Selector {
  if (s === null || s.trim() === '') return ALWAYS;
  const reqs = splitTop(s).map((raw) => {
    const m = /^([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*)$/.exec(raw);
    if (!m) throw badRequest(`invalid field selector: "${raw}": expected path=value or path!=value`);
    return { path: m[1] as string, ne: m[2] === '!=', value: (m[3] as string).trim() };
  });
  return {
    empty: false,
    matches: (obj) => reqs.every((r) => (fieldValue(obj, r.path) === r.value) !== r.ne),
  };
}
