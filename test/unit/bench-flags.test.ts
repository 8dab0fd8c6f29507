// bench/flags.ts, the benches' one flag parser: typed values from a spec, defaults, and a bad flag named in
// one line (exit 2 from a bench's main, checked on a real bench below).
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CHAOS_FLAGS } from '../../bench/chaos/run.ts';
import {
  defaults,
  FlagError,
  flagName,
  int,
  parseFlags,
  sizesCloudsScale,
  someOf,
  type Spec,
  usage,
} from '../../bench/flags.ts';
import { PROVIDER_KINDS } from '../../providers/plugins.ts';
import { REPO } from '../../testkit/cli.ts';

const spec = sizesCloudsScale({ sizes: [100, 1000], timeScale: 10 });

function problem(s: Spec, argv: string[]): string {
  try {
    parseFlags(s, argv);
  } catch (e) {
    expect(e).toBeInstanceOf(FlagError);
    return (e as Error).message;
  }
  throw new Error(`${argv.join(' ')} was accepted`);
}

describe('bench flags', () => {
  it('gives the defaults without flags; clouds default to every plug-in kind', () => {
    expect(parseFlags(spec, [])).toEqual({
      values: { sizes: [100, 1000], clouds: [...PROVIDER_KINDS], timeScale: 10 },
      help: false,
    });
    expect(defaults(CHAOS_FLAGS)).toEqual({ provider: 'aws', minutes: 3, vms: 60, seed: 1, timeScale: 5 });
  });

  it('reads both `--flag value` and `--flag=value`, camelCase keys as kebab-case flags', () => {
    expect(parseFlags(spec, ['--sizes', '5,7', '--clouds=gce', '--time-scale=2.5']).values).toEqual({
      sizes: [5, 7],
      clouds: ['gce'],
      timeScale: 2.5,
    });
    expect(flagName('stopAfter')).toBe('--stop-after');
    expect(parseFlags(spec, ['-h']).help).toBe(true);
  });

  it('names the flag and what it wants for a bad value', () => {
    expect(problem(spec, ['--sizes', '0,5'])).toBe('--sizes: an integer ≥ 1, not "0,5"');
    expect(problem(spec, ['--sizes', '1,,2'])).toMatch(/^--sizes: a comma-separated list/);
    expect(problem(spec, ['--clouds', 'aws,azure'])).toBe(
      `--clouds: one of ${PROVIDER_KINDS.join(', ')}, not "aws,azure"`,
    );
    expect(problem(spec, ['--time-scale', '0'])).toBe('--time-scale: a number > 0, not "0"');
    expect(problem(CHAOS_FLAGS, ['--vms', '300'])).toBe('--vms: an integer in 4..200, not "300"');
    expect(problem(CHAOS_FLAGS, ['--seed', '1.5'])).toBe('--seed: an integer, not "1.5"');
  });

  it('refuses unknown flags, missing values and stray arguments, listing the flags it knows', () => {
    expect(problem(spec, ['--size', '5'])).toBe('unknown flag --size (use --sizes, --clouds, --time-scale)');
    expect(problem(spec, ['--sizes'])).toBe('--sizes: needs a value');
    expect(problem(spec, ['--sizes', '--clouds', 'aws'])).toBe('--sizes: needs a value');
    expect(problem(spec, ['aws'])).toBe('unexpected argument "aws" (use --sizes, --clouds, --time-scale)');
  });

  it('prints every flag with its default in the usage', () => {
    const s = { ...spec, runtime: { help: 'runtimes', default: ['container'], read: someOf(['container', 'bare']) } };
    const text = usage('node bench/x.ts [flags]: x', s);
    expect(text.split('\n')).toEqual([
      'node bench/x.ts [flags]: x',
      '',
      '  --sizes       VM counts, comma-separated (default 100,1000)',
      `  --clouds      clouds, comma-separated (default ${PROVIDER_KINDS.join(',')})`,
      '  --time-scale  emulated ms per real ms (default 10)',
      '  --runtime     runtimes (default container)',
      '',
    ]);
    expect(() => int(1, 5)('6')).toThrow('an integer in 1..5');
  });

  it('a bench given a bad flag says so in one line and exits 2, before starting anything', () => {
    const r = spawnSync(process.execPath, ['bench/convergence.ts', '--clouds', 'azure'], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`convergence: --clouds: one of ${PROVIDER_KINDS.join(', ')}, not "azure"\n`);
  });
});
