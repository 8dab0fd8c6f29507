// Bad input never gets past the front door: every malformed config in test/fixtures/bad-configs/ makes
// `validate` and `reconcile` exit 2 with one line per problem naming the field, no stack trace, and not a
// single connection to the cloud endpoint. Bad flags get a one-line usage error.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, pool, REPO, runCli, type CliResult } from '../../testkit/cli.ts';

const CORPUS = join(REPO, 'test/fixtures/bad-configs');

interface Case {
  name: string;
  file: string;
  expect: string;
  /** From an optional second line `# error: <text>`: the start of the problem line itself. */
  error?: string;
  /** The same file with provider.endpoint aimed at the tripwire, for `reconcile`. */
  aimed: string;
}

/** A field path, `(root)` or `config`, then `: ` and the message. */
const PROBLEM_LINE = /^routesync: (\(root\)|[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*): \S/;

let dir: string;
const cases: Case[] = [];
let tripwire: Server;
let tripwireUrl: string;
let connections = 0;
let requests = 0;
const validate = new Map<string, CliResult>();
const reconcile = new Map<string, CliResult>();

/** Inserts `endpoint:` right under `provider:` as text, so the file's own defect survives unchanged. */
function aimAt(text: string, url: string): string {
  if (/^\s+endpoint:/m.test(text)) return text;
  return text.replace(/^provider:[ \t]*\n(?=([ \t]+)\S)/m, (m, indent: string) => `${m}${indent}endpoint: ${url}\n`);
}

function expectFieldLines(r: CliResult, field: string): void {
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines.length).toBeGreaterThan(0);
  for (const l of lines) expect(l).toMatch(PROBLEM_LINE);
  expect(lines.some((l) => l.startsWith(`routesync: ${field}: `))).toBe(true);
  expect(r.stderr).not.toMatch(/^\s+at /m);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'routesync-bad-input-'));
  tripwire = createServer((_req, res) => {
    requests++;
    res.writeHead(500).end();
  });
  tripwire.on('connection', () => connections++);
  await new Promise<void>((r) => tripwire.listen(0, '127.0.0.1', r));
  tripwireUrl = `http://127.0.0.1:${(tripwire.address() as AddressInfo).port}`;

  // Cases that cannot be committed as text with a `# expect:` first line.
  const generated: Array<[string, Buffer]> = [
    ['generated-empty.yaml', Buffer.alloc(0)],
    ['generated-whitespace.yaml', Buffer.from('   \n\n  \t\n')],
    ['generated-binary.yaml', Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 131 + 7) % 256))],
    ['generated-utf16-bom.yaml', Buffer.from('\ufeffcluster: prod\n', 'utf16le')],
  ];
  for (const [name, bytes] of generated) {
    writeFileSync(join(dir, name), bytes);
    cases.push({ name, file: join(dir, name), expect: '(root)', aimed: join(dir, name) });
  }
  // Files that are not (or cannot be) configs: the read must be refused, never hang or eat memory.
  const huge = join(dir, 'generated-huge.yaml');
  writeFileSync(huge, `cluster: prod\n${'#'.repeat(2 * 1024 * 1024)}\n`);
  const fifo = join(dir, 'generated-fifo.yaml');
  execFileSync('mkfifo', [fifo]);
  for (const [name, file] of [
    ['generated-dev-zero', '/dev/zero'],
    ['generated-fifo.yaml', fifo],
    ['generated-huge.yaml', huge],
  ] as const) {
    cases.push({ name, file, expect: 'config', aimed: file });
  }
  for (const name of readdirSync(CORPUS)
    .filter((n) => n.endsWith('.yaml'))
    .sort()) {
    const text = readFileSync(join(CORPUS, name), 'utf8');
    const m = /^# expect: (\S+)\n/.exec(text);
    if (!m) throw new Error(`${name}: first line must be "# expect: <field>"`);
    const aimed = join(dir, `aimed-${name}`);
    writeFileSync(aimed, aimAt(text, tripwireUrl));
    const err = /^# expect: \S+\n# error: (.+)\n/.exec(text);
    cases.push({
      name,
      file: join(CORPUS, name),
      expect: m[1] as string,
      ...(err ? { error: err[1] as string } : {}),
      aimed,
    });
  }

  const env = cliEnv();
  await pool(cases, 4, async (c) => {
    validate.set(c.name, await runCli(['validate', '-c', c.file], { env, cwd: dir }));
    reconcile.set(c.name, await runCli(['reconcile', '-c', c.aimed, '--yes'], { env, cwd: dir }));
  });
}, 400_000);

afterAll(async () => {
  await new Promise<void>((r) => (tripwire ? tripwire.close(() => r()) : r()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('bad-config corpus', () => {
  it('has at least 30 committed cases, each naming the field it breaks', () => {
    expect(cases.filter((c) => !c.name.startsWith('generated-')).length).toBeGreaterThanOrEqual(30);
    const index = readFileSync(join(CORPUS, 'README.md'), 'utf8');
    for (const c of cases.filter((x) => !x.name.startsWith('generated-'))) expect(index).toContain(c.name);
  });

  it('every endpoint-bearing case really aims at the tripwire, not at a cloud', () => {
    for (const c of cases) {
      if (c.file === c.aimed) continue; // generated: no endpoint (and /dev/zero or the FIFO would never end)
      const text = readFileSync(c.aimed, 'latin1');
      if (!/^provider:[ \t]*\n[ \t]+\S/m.test(text)) continue;
      const endpoints = [...text.matchAll(/^\s+endpoint: (\S+)$/gm)].map((m) => m[1]);
      expect(endpoints.length, c.name).toBeGreaterThan(0);
      // A case whose defect is the endpoint's scheme keeps it: that URL is never dialled.
      for (const e of endpoints) expect(e, c.name).toMatch(/^(http:\/\/)?127\.0\.0\.1:\d+$|^(file|javascript):/);
    }
  });

  it('validate: exit 2, every stderr line names a field, the expected field is named, no stack trace', () => {
    const failures: string[] = [];
    for (const c of cases) {
      const r = validate.get(c.name) as CliResult;
      try {
        expect(r.code).toBe(2);
        expect(r.stdout).toBe('');
        expectFieldLines(r, c.expect);
        if (c.error !== undefined)
          expect(r.stderr.split('\n').some((l) => l.startsWith(`routesync: ${c.error}`))).toBe(true);
      } catch (e) {
        failures.push(
          `${c.name} (expect ${c.expect}): exit ${r.code}, stderr ${JSON.stringify(r.stderr)}: ${(e as Error).message.split('\n')[0]}`,
        );
      }
    }
    expect(failures).toEqual([]);
  });

  it('reconcile: the command exists', async () => {
    // Otherwise every case below would pass on "unknown command" alone.
    const r = await runCli(['--help'], { env: cliEnv() });
    expect(r.stdout).toMatch(/^\s+reconcile\b/m);
  });

  it('reconcile: exit 2 naming the field, no stack trace, and zero connections to the cloud endpoint', () => {
    const failures: string[] = [];
    for (const c of cases) {
      const r = reconcile.get(c.name) as CliResult;
      try {
        expect(r.code).toBe(2);
        expect(r.stderr).toContain(`${c.expect}: `);
        expect(r.stderr).not.toMatch(/^\s+at /m);
        expect(r.stderr).not.toMatch(/unknown command/);
      } catch (_e) {
        failures.push(`${c.name}: exit ${r.code}, stderr ${JSON.stringify(r.stderr.slice(0, 300))}`);
      }
    }
    expect(failures).toEqual([]);
    expect({ connections, requests }).toEqual({ connections: 0, requests: 0 });
  });

  it('nothing is written next to the bad config (no store file, no lock)', () => {
    const left = readdirSync(dir).filter((n) => !n.startsWith('aimed-') && !n.startsWith('generated-'));
    expect(left).toEqual([]);
  });
});

describe('bad flags', () => {
  const good = () => {
    const f = join(dir, 'good.yaml');
    writeFileSync(
      f,
      `cluster: prod\nclusterCIDR: 10.244.0.0/16\nprovider:\n  type: aws\n  region: us-east-1\n  vpcId: vpc-1\n  endpoint: ${tripwireUrl}\nstore:\n  type: memory\n`,
    );
    return f;
  };
  const FLAG_CASES: Array<{ args: () => string[]; names: string; env?: Record<string, string> }> = [
    { args: () => ['validate', '--bogus'], names: '--bogus' },
    { args: () => ['validate', '-c'], names: '--config' },
    { args: () => ['validate'], names: 'config' },
    { args: () => ['validate', '-c', join(dir, 'does-not-exist.yaml')], names: 'config' },
    { args: () => ['validate', '-c', dir], names: 'config' },
    { args: () => ['no-such-command'], names: 'no-such-command' },
    { args: () => ['emulator', '--provider', 'aws', '--port', 'abc'], names: '--port' },
    { args: () => ['emulator', '--provider', 'aws', '--port', '70000'], names: '--port' },
    { args: () => ['emulator', '--provider', 'azure'], names: '--provider' },
    { args: () => ['emulator'], names: '--provider' },
    { args: () => ['emulator', '--provider', 'aws', '--time-scale', '-1'], names: '--time-scale' },
    { args: () => ['emulator', '--provider', 'aws', '--time-scale', 'fast'], names: '--time-scale' },
    { args: () => ['emulator', '--provider', 'aws', '--seed', '1.5'], names: '--seed' },
    { args: () => ['emulator', '--provider', 'aws', '--tag', 'novalue'], names: '--tag' },
    { args: () => ['emulator', '--provider', 'aws', '--host', '10.1.2.3'], names: '--host' },
    { args: () => ['reconcile', '-c', good(), '-o', 'xml'], names: 'xml' },
    { args: () => ['reconcile', '-c', good(), '--bogus'], names: '--bogus' },
    { args: () => ['reconcile'], names: 'config' },
    // Issue 12: the flag and every allowed value on the one line.
    {
      args: () => ['reconcile', '-c', good(), '--log-level', 'garbage'],
      names:
        "'--log-level <level>' argument 'garbage' is invalid. Allowed choices are trace, debug, info, warn, error, fatal, silent.",
    },
    { args: () => ['run', '-c', good(), '--log-level', 'garbage'], names: '--log-level' },
    { args: () => ['status', '-c', good(), '--log-level', 'loud'], names: '--log-level' },
    { args: () => ['release', '-c', good(), 'i-1', '--yes', '--log-level', 'x'], names: '--log-level' },
    { args: () => ['validate', '-c', good(), '--log-level', ''], names: '--log-level' },
    { args: () => ['emulator', '--provider', 'aws', '--log-level', 'garbage'], names: '--log-level' },
    { args: () => ['demo', '--log-level', 'garbage'], names: '--log-level' },
    { args: () => ['agent', '-c', good(), '--log-level', 'garbage'], names: '--log-level' },
    { args: () => ['reconcile', '-c', good(), '--log-format', 'xml'], names: '--log-format' },
    { args: () => ['reconcile', '-c', good()], names: '--yes' },
  ];

  it('each gets exit 2 and exactly one stderr line naming the flag, with no cloud call', async () => {
    const results = await pool(FLAG_CASES, 4, async (c) => ({
      args: c.args(),
      r: await runCli(c.args(), { env: cliEnv(c.env), cwd: dir }),
    }));
    const failures: string[] = [];
    for (const [i, { args, r }] of results.entries()) {
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      const want = (FLAG_CASES[i] as (typeof FLAG_CASES)[number]).names;
      if (r.code !== 2 || lines.length !== 1 || !lines[0]?.startsWith('routesync: ') || !lines[0].includes(want)) {
        failures.push(`routesync ${args.join(' ')} → exit ${r.code}, stderr ${JSON.stringify(r.stderr)}`);
      }
    }
    expect(failures).toEqual([]);
    expect({ connections, requests }).toEqual({ connections: 0, requests: 0 });
  });
});
