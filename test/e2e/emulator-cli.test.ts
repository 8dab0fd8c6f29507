// `routesync emulator`: what a user runs to rehearse a config. One line naming the URL, serves until
// SIGTERM, exits 0; refuses to bind beyond loopback.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EmulatorDescription } from '../../emulators/shared/server.ts';
import { SECOND_NETWORK } from '../../emulators/gce/emulator.ts';
import { PROVIDER_KINDS, type ProviderKind } from '../../providers/plugins.ts';
import { parseConfigText } from '../../src/config.ts';
import { BIN, cliEnv, controllerEnv, dummyCredentials, runCli } from '../../testkit/cli.ts';
import { TOPOLOGY } from '../../testkit/clouds.ts';
import { until } from '../../testkit/wait.ts';

interface EmulatorChild {
  url: string;
  firstLine: string;
  /** The banner (stdout, or stderr when the config goes to stdout) once its last line is out. */
  banner: string;
  stdout: () => string;
  stop(): Promise<number | null>;
}

function startEmulatorCli(args: string[]): Promise<EmulatorChild> {
  const child = spawn(process.execPath, [BIN, 'emulator', ...args], {
    env: cliEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no listening line; stdout: ${out}`)), 30_000);
    const look = () => {
      const text = /listening on/.test(err) ? err : out;
      const m = /^(.*emulator listening on (http:\/\/127\.0\.0\.1:\d+))\n/m.exec(text);
      // The banner ends with the state line.
      if (!m || !/^ {2}state: .*\n/m.test(text)) return;
      clearTimeout(timer);
      resolve({
        url: m[2] as string,
        firstLine: m[1] as string,
        banner: text,
        stdout: () => out,
        stop: () =>
          new Promise((done) => {
            child.once('exit', (code) => done(code));
            child.kill('SIGTERM');
          }),
      });
    };
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      look();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      look();
    });
    child.once('exit', (code) => reject(new Error(`emulator exited ${code} before listening: ${out}`)));
  });
}

describe.each(PROVIDER_KINDS.map((k) => [k] as [ProviderKind]))('routesync emulator --provider %s', (kind) => {
  it('prints where it listens, serves the admin API with the seeded VMs, and exits 0 on SIGTERM', async () => {
    const emu = await startEmulatorCli([
      '--provider',
      kind,
      '--instances',
      '3',
      '--profile',
      'fast',
      '--route-quota',
      '7',
      '--tag',
      'team=blue',
    ]);
    try {
      expect(emu.firstLine).toBe(`routesync ${kind} emulator listening on ${emu.url}`);
      const state = (await (await fetch(`${emu.url}/_emulator/state`)).json()) as {
        instances: Array<{ tags: Record<string, string> }>;
        tables: Array<{ quota: number }>;
      };
      expect(state.instances).toHaveLength(3);
      for (const i of state.instances) expect(i.tags.team).toBe('blue');
      expect(state.tables[0]?.quota).toBe(7);
    } finally {
      expect(await emu.stop()).toBe(0);
    }
  });
});

describe.each(PROVIDER_KINDS.map((k) => [k] as [ProviderKind]))(
  'routesync emulator --provider %s tells what it is',
  (kind) => {
    it("the banner and /_emulator/state give the topology; --print-config FILE writes a config reconcile works with, using the banner's credentials", async () => {
      const dir = mkdtempSync(join(tmpdir(), 'routesync-emucfg-'));
      const file = join(dir, 'routesync.yaml');
      const emu = await startEmulatorCli([
        '--provider',
        kind,
        '--instances',
        '3',
        '--profile',
        'fast',
        '--print-config',
        file,
      ]);
      try {
        const state = (await (await fetch(`${emu.url}/_emulator/state`)).json()) as { topology: EmulatorDescription };
        const t = state.topology;
        expect(t).toMatchObject({
          provider: kind,
          endpoint: emu.url,
          instanceFilter: 'routesync-cluster=demo',
          tables: [...TOPOLOGY[kind].tables, ...(kind === 'gce' ? [SECOND_NETWORK] : [])],
        });
        if (kind === 'gce') {
          expect(emu.banner).toContain(`  project:     ${TOPOLOGY.gce.project}\n`);
          expect(emu.banner).toContain(`  network:     ${TOPOLOGY.gce.network} `);
        } else {
          expect(t).toMatchObject({ region: TOPOLOGY[kind].region, vpcId: TOPOLOGY[kind].vpcId });
          expect(emu.banner).toContain(
            `  region:      ${t.region}\n  vpcId:       ${t.vpcId}\n  tables:      ${t.tables.join(', ')}\n`,
          );
        }
        expect(emu.banner).toContain(`  config:      written to ${file}\n`);
        // The credentials line is something to paste: KEY=value pairs after "e.g.".
        const creds = /^ {2}credentials: .*, e\.g\. (.+)$/m.exec(emu.banner)?.[1] ?? '';
        const env = Object.fromEntries(creds.split(' ').map((kv) => kv.split('=') as [string, string]));
        expect(env).toEqual(t.credentials);
        const c = parseConfigText(readFileSync(file, 'utf8'), file);
        expect(c.provider.endpoint).toBe(emu.url);
        // Nothing of the parent's cloud environment: only what the banner said.
        const bare = controllerEnv('x');
        for (const k of Object.keys(dummyCredentials('x'))) delete bare[k];
        const r = await runCli(['reconcile', '-c', file, '--yes'], { env: { ...bare, ...env } });
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain('tables match the desired state');
        const after = (await (await fetch(`${emu.url}/_emulator/state`)).json()) as {
          tables: Array<{ id: string; routes: Array<{ destination: string }> }>;
        };
        const managed = after.tables.find(
          (x) => x.id === (kind === 'gce' ? TOPOLOGY.gce.network : TOPOLOGY[kind].tables.at(-1)),
        )!;
        expect(managed.routes.filter((x) => x.destination.startsWith('172.16.'))).toHaveLength(3);
      } finally {
        expect(await emu.stop()).toBe(0);
      }
    });

    it('--print-config alone puts the config on stdout and the banner on stderr', async () => {
      const emu = await startEmulatorCli(['--provider', kind, '--profile', 'fast', '--print-config']);
      try {
        await until('the config on stdout', () => /metrics:\n {2}listen: /.test(emu.stdout()), 10_000);
        const c = parseConfigText(emu.stdout(), 'stdout');
        expect(c.provider.type).toBe(kind);
        expect(c.provider.endpoint).toBe(emu.url);
        expect(emu.stdout()).not.toContain('listening on');
        expect(emu.banner).toContain('  config:      on stdout\n');
      } finally {
        expect(await emu.stop()).toBe(0);
      }
    });
  },
);

describe('routesync emulator flags', () => {
  it('refuses a non-loopback bind address and bad values with exit 2', async () => {
    for (const args of [
      ['--provider', 'aws', '--host', '0.0.0.0'],
      ['--provider', 'azure'],
      ['--provider', 'gce', '--time-scale', '0'],
      ['--provider', 'aliyun', '--tag', 'novalue'],
    ]) {
      const r = await runCli(['emulator', ...args], { env: cliEnv() });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
  });
});
