// `routesync emulator`: what a user runs to rehearse a config. One line naming the URL, serves until
// SIGTERM, exits 0; refuses to bind beyond loopback.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PROVIDER_KINDS, type ProviderKind } from '../../providers/types.ts';
import { BIN, cliEnv, runCli } from '../helpers/cli.ts';

function startEmulatorCli(args: string[]): Promise<{ url: string; firstLine: string; stop(): Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN, 'emulator', ...args], { env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no listening line; stdout: ${out}`)), 30_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^(.*emulator listening on (http:\/\/127\.0\.0\.1:\d+))\n/m.exec(out);
      if (!m) return;
      clearTimeout(timer);
      resolve({
        url: m[2] as string,
        firstLine: m[1] as string,
        stop: () =>
          new Promise((done) => {
            child.once('exit', (code) => done(code));
            child.kill('SIGTERM');
          }),
      });
    });
    child.once('exit', (code) => reject(new Error(`emulator exited ${code} before listening: ${out}`)));
  });
}

describe.each(PROVIDER_KINDS.map((k) => [k] as [ProviderKind]))('routesync emulator --provider %s', (kind) => {
  it('prints where it listens, serves the admin API with the seeded VMs, and exits 0 on SIGTERM', async () => {
    const emu = await startEmulatorCli(['--provider', kind, '--instances', '3', '--profile', 'fast', '--route-quota', '7', '--tag', 'team=blue']);
    try {
      expect(emu.firstLine).toBe(`routesync ${kind} emulator listening on ${emu.url}`);
      const state = (await (await fetch(`${emu.url}/_emulator/state`)).json()) as { instances: Array<{ tags: Record<string, string> }>; tables: Array<{ quota: number }> };
      expect(state.instances).toHaveLength(3);
      for (const i of state.instances) expect(i.tags.team).toBe('blue');
      expect(state.tables[0]?.quota).toBe(7);
    } finally {
      expect(await emu.stop()).toBe(0);
    }
  });
});

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
