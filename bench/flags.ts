// The one flag parser of the benchmarks: each bench declares its options (name, help, default, how a value
// is read) and gets typed values back; node:util parseArgs does the splitting (`--k v`, `--k=v`). A bad flag
// is one line on stderr naming it and exit 2, `--help` prints the options with their defaults.
import { parseArgs } from 'node:util';
import { PROVIDER_KINDS, type ProviderKind } from '../providers/plugins.ts';

export class FlagError extends Error {}

export interface Option<T> {
  /** After the flag in --help, e.g. "VM counts, comma-separated". */
  help: string;
  default: T;
  /** The flag's text → its value; throws FlagError saying what is wanted (the flag name is added). */
  read: (raw: string) => T;
  /** How the default reads in --help, when String(default) would not do. */
  shown?: string;
}

/** Options by key; each value type is its own, and Values<S> recovers them from the spec's literal type. */
export type Spec = Record<string, Option<unknown>>;
export type Values<S extends Spec> = { [K in keyof S]: S[K]['default'] };

/** `timeScale` → `--time-scale`. */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Parses `argv` against `spec`; throws FlagError (one line, naming the flag) on anything it cannot take. */
export function parseFlags<S extends Spec>(spec: S, argv: readonly string[]): { values: Values<S>; help: boolean } {
  const byFlag = new Map(Object.keys(spec).map((k) => [flagName(k).slice(2), k]));
  const known = () => [...byFlag.keys()].map((f) => `--${f}`).join(', ');
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        ...Object.fromEntries([...byFlag.keys()].map((f) => [f, { type: 'string' as const }])),
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (e) {
    const err = e as Error & { code?: string };
    const flag = /'(-[^'\s,]+)/.exec(err.message)?.[1] ?? 'a flag';
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new FlagError(`unknown flag ${flag} (use ${known()})`);
    if (/does not take an argument/.test(err.message)) throw new FlagError('--help takes no value');
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw new FlagError(`${flag}: needs a value`);
    if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      const arg = /'([^']*)'/.exec(err.message)?.[1] ?? '';
      throw new FlagError(`unexpected argument ${JSON.stringify(arg)} (use ${known()})`);
    }
    throw new FlagError(err.message.split('\n')[0] ?? 'bad flags');
  }
  const out: Record<string, unknown> = {};
  for (const [flag, key] of byFlag) {
    const o = spec[key] as Option<unknown>;
    const raw = parsed.values[flag];
    if (typeof raw !== 'string') {
      out[key] = o.default;
      continue;
    }
    try {
      out[key] = o.read(raw);
    } catch (e) {
      if (!(e instanceof FlagError)) throw e;
      throw new FlagError(`--${flag}: ${e.message}, not ${JSON.stringify(raw)}`);
    }
  }
  return { values: out as Values<S>, help: parsed.values.help === true };
}

/** Every option at its default: what a bench run without flags gets. */
export function defaults<S extends Spec>(spec: S): Values<S> {
  return Object.fromEntries(Object.entries(spec).map(([k, o]) => [k, o.default])) as Values<S>;
}

/** The --help text: what the bench does, then each flag with its default. */
export function usage(summary: string, spec: Spec): string {
  const rows = Object.entries(spec).map(([k, o]) => [flagName(k), o.help, o.shown ?? shown(o.default)] as const);
  const w = Math.max(...rows.map((r) => r[0].length));
  return [summary, '', ...rows.map(([f, h, d]) => `  ${f.padEnd(w)}  ${h} (default ${d})`), ''].join('\n');
}

function shown(v: unknown): string {
  return Array.isArray(v) ? v.join(',') : String(v);
}

/**
 * What a bench's main calls: the values, or — on a bad flag — one line `<bench>: <problem>` on stderr and
 * exit 2; `--help` prints the usage and exits 0.
 */
export function benchFlags<S extends Spec>(
  bench: string,
  summary: string,
  spec: S,
  argv: readonly string[] = process.argv.slice(2),
): Values<S> {
  try {
    const { values, help } = parseFlags(spec, argv);
    if (help) {
      process.stdout.write(usage(summary, spec));
      process.exit(0);
    }
    return values;
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    process.stderr.write(`${bench}: ${e.message}\n`);
    process.exit(2);
  }
}

// Readers for the kinds of value the benches take.

function list<T>(read: (s: string) => T): (raw: string) => T[] {
  return (raw) => {
    const parts = raw.split(',').map((s) => s.trim());
    if (parts.some((p) => p === '')) throw new FlagError('a comma-separated list without empty items');
    return parts.map(read);
  };
}

/** An integer in [min, max]. */
export function int(min = 1, max = Number.MAX_SAFE_INTEGER): (raw: string) => number {
  return (raw) => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isInteger(n) || n < min || n > max)
      throw new FlagError(max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer in ${min}..${max}`);
    return n;
  };
}

/** A number in [min, max] (or (min, max] when `above` is set: > min). */
export function num(min: number, max = Number.POSITIVE_INFINITY, above = false): (raw: string) => number {
  return (raw) => {
    const n = Number(raw);
    const ok = raw.trim() !== '' && Number.isFinite(n) && (above ? n > min : n >= min) && n <= max;
    if (!ok) {
      const lo = above ? `> ${min}` : `≥ ${min}`;
      throw new FlagError(max === Number.POSITIVE_INFINITY ? `a number ${lo}` : `a number ${lo} and ≤ ${max}`);
    }
    return n;
  };
}

/** Any integer (a seed). */
export function anyInt(raw: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isSafeInteger(n)) throw new FlagError('an integer');
  return n;
}

/** Any text (a directory). */
export const text = (raw: string): string => raw;

export const ints = (min = 1, max?: number) => list(int(min, max));
export const nums = (min: number, max?: number) => list(num(min, max));

/** One of `choices`. */
export function oneOf<T extends string>(choices: readonly T[]): (raw: string) => T {
  return (raw) => {
    if (!(choices as readonly string[]).includes(raw)) throw new FlagError(`one of ${choices.join(', ')}`);
    return raw as T;
  };
}

export const someOf = <T extends string>(choices: readonly T[]) => list(oneOf(choices));

/** A cloud, from the plug-in table's kinds. */
export const cloud = oneOf<ProviderKind>(PROVIDER_KINDS);
/** Clouds, comma-separated. */
export const clouds = someOf<ProviderKind>(PROVIDER_KINDS);

/** The three flags most benches take: `--sizes 100,1000 --clouds aws,gce --time-scale 50`. */
export function sizesCloudsScale(defaults: { sizes: number[]; clouds?: readonly ProviderKind[]; timeScale: number }) {
  return {
    sizes: { help: 'VM counts, comma-separated', default: defaults.sizes, read: ints(1) },
    clouds: { help: 'clouds, comma-separated', default: [...(defaults.clouds ?? PROVIDER_KINDS)], read: clouds },
    timeScale: { help: 'emulated ms per real ms', default: defaults.timeScale, read: num(0, undefined, true) },
  } satisfies Spec;
}

export type Flags = Values<ReturnType<typeof sizesCloudsScale>>;
