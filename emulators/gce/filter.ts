// The Compute list `filter` language, the subset routesync and gcloud send: comparisons joined by AND or
// by juxtaposed parentheses. `eq`/`ne` take an RE2 regex that must match the whole value (the classic
// syntax); `=`/`!=` compare literally, `:` matches a `*` wildcard pattern. OR is refused like an unknown
// field: a filter the emulator does not understand must fail, never silently match everything.
export type FieldGetter = (field: string) => string | undefined | null;

interface Term {
  field: string;
  op: 'eq' | 'ne' | '=' | '!=' | ':';
  value: string;
}

export class FilterError extends Error {}

const TERM = /^\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*(eq|ne|!=|=|:)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s()]+)\s*/;

export function parseFilter(text: string | null, knownFields: (field: string) => boolean): Term[] {
  if (text === null || text.trim() === '') return [];
  const terms: Term[] = [];
  let rest = text.trim();
  while (rest !== '') {
    let inParens = false;
    if (rest.startsWith('(')) {
      inParens = true;
      rest = rest.slice(1);
    }
    const m = TERM.exec(rest);
    if (!m) throw new FilterError(`Invalid list filter expression '${text}'.`);
    const [, field, op, raw] = m as unknown as [string, string, Term['op'], string];
    if (!knownFields(field)) throw new FilterError(`Invalid field name '${field}' in filter.`);
    terms.push({ field, op, value: unquote(raw) });
    rest = rest.slice(m[0].length);
    if (inParens) {
      if (!rest.startsWith(')')) throw new FilterError(`Invalid list filter expression '${text}'.`);
      rest = rest.slice(1).trimStart();
    }
    const conj = /^(AND|OR)\s+/i.exec(rest);
    if (conj) {
      if ((conj[1] as string).toUpperCase() === 'OR') throw new FilterError(`Unsupported OR in list filter '${text}'.`);
      rest = rest.slice(conj[0].length);
    }
  }
  return terms;
}

function unquote(raw: string): string {
  if ((raw.startsWith('"') && raw.endsWith('"')) || (raw.startsWith("'") && raw.endsWith("'")))
    return raw.slice(1, -1).replace(/\\(.)/g, '$1');
  return raw;
}

export function compileFilter(
  text: string | null,
  knownFields: (field: string) => boolean,
): (get: FieldGetter) => boolean {
  const terms = parseFilter(text, knownFields).map((t) => {
    if (t.op === 'eq' || t.op === 'ne') {
      let re: RegExp;
      try {
        re = new RegExp(`^(?:${t.value})$`);
      } catch {
        throw new FilterError(`Invalid regular expression '${t.value}' in filter.`);
      }
      const want = t.op === 'eq';
      return (get: FieldGetter) => re.test(get(t.field) ?? '') === want;
    }
    if (t.op === ':') {
      const re = new RegExp(`^${t.value.split('*').map(escapeRe).join('.*')}$`);
      return (get: FieldGetter) => re.test(get(t.field) ?? '');
    }
    const want = t.op === '=';
    return (get: FieldGetter) => ((get(t.field) ?? '') === t.value) === want;
  });
  return (get) => terms.every((t) => t(get));
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
