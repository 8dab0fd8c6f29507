// A small strict parser of the Prometheus text exposition format (0.0.4), for tests: prom-client can only
// write it. Strict means: any line it cannot account for throws, naming the line, so a malformed /metrics
// body fails the test instead of being half-read.
export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  timestamp?: number;
}

export interface Family {
  name: string;
  help?: string;
  type: MetricType;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function fail(lineNo: number, line: string, why: string): never {
  throw new Error(`prom-text line ${lineNo}: ${why}: ${JSON.stringify(line)}`);
}

function unescapeHelp(s: string): string {
  return s.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
}

// Prometheus reads values with Go's strconv.ParseFloat, which takes inf/infinity/nan in any case
// (prom-client writes NaN as "Nan").
function parseValue(s: string): number | undefined {
  const l = s.toLowerCase();
  if (l === '+inf' || l === 'inf' || l === '+infinity' || l === 'infinity') return Infinity;
  if (l === '-inf' || l === '-infinity') return -Infinity;
  if (l === 'nan') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) return undefined;
  return Number(s);
}

/** The family a sample name belongs to, given the declared types (histogram/summary suffixes). */
function familyOf(sample: string, families: Map<string, Family>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sample.endsWith(suffix)) continue;
    const base = sample.slice(0, -suffix.length);
    const f = families.get(base);
    if (f && (f.type === 'histogram' || (f.type === 'summary' && suffix !== '_bucket'))) return base;
  }
  return sample;
}

function parseLabels(src: string, lineNo: number, line: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 0;
  for (;;) {
    while (src[i] === ' ') i++;
    if (src[i] === '}') return { labels, rest: src.slice(i + 1) };
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"/.exec(src.slice(i));
    if (!m) fail(lineNo, line, 'bad label');
    const name = m[1]!;
    if (!LABEL_NAME.test(name)) fail(lineNo, line, `bad label name ${name}`);
    if (name in labels) fail(lineNo, line, `duplicate label ${name}`);
    i += m[0].length;
    let value = '';
    for (;;) {
      const c = src[i];
      if (c === undefined) fail(lineNo, line, 'unterminated label value');
      if (c === '"') break;
      if (c === '\\') {
        const n = src[i + 1];
        if (n === 'n') value += '\n';
        else if (n === '\\' || n === '"') value += n;
        else fail(lineNo, line, 'bad escape in label value');
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    labels[name] = value;
    i++;
    while (src[i] === ' ') i++;
    if (src[i] === ',') i++;
    else if (src[i] !== '}') fail(lineNo, line, 'expected , or } after label');
  }
}

export function parsePromText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const seenSeries = new Set<string>();
  const closed = new Set<string>(); // families whose samples ended: later samples would be non-contiguous
  let current: string | undefined;
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const get = (name: string): Family => {
    let f = families.get(name);
    if (!f) {
      f = { name, type: 'untyped', samples: [] };
      families.set(name, f);
    }
    return f;
  };
  lines.forEach((line, idx) => {
    const lineNo = idx + 1;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!m) return; // plain comment
      const [, kw, name, rest = ''] = m;
      if (!METRIC_NAME.test(name!)) fail(lineNo, line, 'bad metric name');
      const f = get(name!);
      if (kw === 'HELP') {
        if (f.help !== undefined) fail(lineNo, line, 'second HELP');
        f.help = unescapeHelp(rest);
      } else {
        if (!TYPES.has(rest.trim())) fail(lineNo, line, 'unknown TYPE');
        if (f.samples.length > 0) fail(lineNo, line, 'TYPE after samples');
        f.type = rest.trim() as MetricType;
      }
      return;
    }
    const nm = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
    if (!nm) fail(lineNo, line, 'bad sample');
    const name = nm[1]!;
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest.slice(1), lineNo, line));
    const parts = rest.trim().split(/\s+/);
    if (!/^\s/.test(rest) || parts.length < 1 || parts.length > 2) fail(lineNo, line, 'expected value [timestamp]');
    const value = parseValue(parts[0]!);
    if (value === undefined) fail(lineNo, line, 'bad value');
    const sample: Sample = { name, labels, value };
    if (parts[1] !== undefined) {
      if (!/^-?\d+$/.test(parts[1])) fail(lineNo, line, 'bad timestamp');
      sample.timestamp = Number(parts[1]);
    }
    const fam = familyOf(name, families);
    if (fam !== current) {
      if (current !== undefined) closed.add(current);
      if (closed.has(fam)) fail(lineNo, line, `samples of ${fam} are not contiguous`);
      current = fam;
    }
    const key = name + JSON.stringify(Object.entries(labels).sort());
    if (seenSeries.has(key)) fail(lineNo, line, 'duplicate series');
    seenSeries.add(key);
    const f = get(fam);
    if (f.type === 'histogram' && name === fam) fail(lineNo, line, 'histogram sample without _bucket/_sum/_count');
    if (f.type === 'counter' && value < 0) fail(lineNo, line, 'negative counter');
    f.samples.push(sample);
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

/** Buckets cumulative, le ascending, ending in +Inf equal to _count, per label set. */
function checkHistogram(f: Family): void {
  const groups = new Map<string, { buckets: Array<[number, number]>; count?: number; sum?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const g = groups.get(key) ?? { buckets: [] };
    groups.set(key, g);
    if (s.name === `${f.name}_bucket`) {
      const bound = le === undefined ? undefined : parseValue(le);
      if (bound === undefined) throw new Error(`prom-text: ${f.name}_bucket without a valid le label`);
      g.buckets.push([bound, s.value]);
    } else if (s.name === `${f.name}_count`) g.count = s.value;
    else if (s.name === `${f.name}_sum`) g.sum = s.value;
  }
  for (const [key, g] of groups) {
    if (g.count === undefined || g.sum === undefined)
      throw new Error(`prom-text: histogram ${f.name}${key} lacks _count or _sum`);
    const last = g.buckets.at(-1);
    if (!last || last[0] !== Infinity) throw new Error(`prom-text: histogram ${f.name}${key} lacks the +Inf bucket`);
    for (let i = 1; i < g.buckets.length; i++) {
      const [pb, pc] = g.buckets[i - 1]!;
      const [b, c] = g.buckets[i]!;
      if (!(b > pb)) throw new Error(`prom-text: histogram ${f.name}${key} le not ascending`);
      if (c < pc) throw new Error(`prom-text: histogram ${f.name}${key} buckets not cumulative`);
    }
    if (last[1] !== g.count)
      throw new Error(`prom-text: histogram ${f.name}${key} +Inf bucket ${last[1]} != _count ${g.count}`);
  }
}

/** The one sample of `family` whose labels include all of `match`; throws when none or several match. */
export function sampleValue(
  families: Map<string, Family>,
  family: string,
  match: Record<string, string> = {},
  sampleName = family,
): number {
  const f = families.get(family);
  if (!f) throw new Error(`no metric family ${family}`);
  const hits = f.samples.filter(
    (s) => s.name === sampleName && Object.entries(match).every(([k, v]) => s.labels[k] === v),
  );
  if (hits.length !== 1) throw new Error(`${hits.length} samples of ${sampleName} match ${JSON.stringify(match)}`);
  return hits[0]!.value;
}
