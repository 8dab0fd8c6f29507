// What an operator reads from the real CLI (issue 17): request ids on GCE change lines, routes of vanished
// VMs shown as releasing, the quota forecast after a steep climb, plan lines in address order, and the
// progress line while a pass reads and applies.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startEmulator, type RunningEmulator, type StartOptions } from '../../emulators/shared/server.ts';
import { EMULATORS } from '../../emulators/clouds.ts';
import type { ProviderKind } from '../../providers/plugins.ts';
import { spawn } from 'node:child_process';
import { BIN, cliEnv, REPO, runCli } from '../../testkit/cli.ts';
import { emulatorConfigDoc, TEST_TAG } from '../../testkit/clouds.ts';

let emu: RunningEmulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

/** Runs the CLI on a pseudo-terminal (util-linux `script`), 200 columns wide: what a person at a terminal sees. */
function runInPty(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  const q = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  const cmd = `stty cols 200; exec ${[process.execPath, BIN, ...args].map(q).join(' ')}`;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** The in-place frames of a progress line (each drawn after `\r` + erase-line). */
function frames(out: string, prefix: string): string[] {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the progress line is drawn with ANSI escapes, which is what this matches
  return out.split(/\r\x1b\[2K|\r?\n/).filter((f) => f.startsWith(prefix));
}

/** An emulator of `kind` and a config file (file store in a temp dir) pointing at it. */
async function rig(
  kind: ProviderKind,
  opts: StartOptions = {},
  extra: Record<string, unknown> = {},
): Promise<{ emu: RunningEmulator; cfg: string; dir: string }> {
  emu = await startEmulator(EMULATORS[kind], { profile: 'fast', instanceTag: TEST_TAG, ...opts });
  const dir = mkdtempSync(join(tmpdir(), 'routesync-ops-'));
  const cfg = join(dir, 'routesync.yaml');
  writeFileSync(
    cfg,
    stringify(emulatorConfigDoc(kind, emu.url, { store: { type: 'file', path: join(dir, 'state.json') }, ...extra })),
  );
  return { emu, cfg, dir };
}

describe('GCE change lines', () => {
  it('carry the operation that made the change as the request id', async () => {
    const { cfg } = await rig('gce', { instances: 2 });
    const r = await runCli(['reconcile', '-c', cfg, '--yes'], { env: cliEnv() });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('✓'));
    expect(lines).toHaveLength(2);
    for (const l of lines)
      expect(l).toMatch(/^✓ cluster-net create 172\.16\.\d+\.0\/24 → \S+ \[operation-[0-9a-f-]+\]$/);
  });
});

describe('status during releaseAfter', () => {
  it('shows the routes of a terminated VM as releasing, with when, not as ok', async () => {
    const { emu, cfg } = await rig('aws', { instances: 3 }, { reconcile: { releaseAfter: '10m' } });
    const env = cliEnv();
    expect((await runCli(['reconcile', '-c', cfg, '--yes'], { env })).code).toBe(0);
    const state = (await (await fetch(`${emu.url}/_emulator/state`)).json()) as { instances: Array<{ id: string }> };
    const gone = state.instances[1]!.id;
    expect((await fetch(`${emu.url}/_emulator/instances/${gone}`, { method: 'DELETE' })).status).toBe(200);

    const before = Date.now();
    const t = await runCli(['status', '-c', cfg], { env });
    expect(t.code, t.stderr).toBe(0);
    const tableLines = t.stdout.split('\n').filter((l) => l.startsWith('Table '));
    expect(tableLines).toHaveLength(2);
    for (const l of tableLines)
      expect(l).toMatch(/: 2 ok, 1 releasing \(VM gone; deleted from 20\S+Z, in (9m \d+s|10m)\)$/);
    const vmLine = t.stdout.split('\n').find((l) => l.startsWith(gone))!;
    expect(vmLine).toMatch(/missing since \S+; route and subnet released at \S+ \(in (9m \d+s|10m)\)$/);

    const j = await runCli(['status', '-c', cfg, '-o', 'json'], { env });
    const doc = JSON.parse(j.stdout) as {
      tables: Array<{ routes: Record<string, number> }>;
      allocations: Array<{ instanceId: string; missingSince?: string; releaseAt?: string }>;
    };
    for (const tb of doc.tables) expect(tb.routes).toMatchObject({ ok: 2, releasing: 1 });
    const a = doc.allocations.find((x) => x.instanceId === gone)!;
    const releaseAt = Date.parse(a.releaseAt!);
    expect(releaseAt - Date.parse(a.missingSince!)).toBe(600_000);
    expect(releaseAt).toBeGreaterThanOrEqual(before + 600_000 - 1000);
  });
});

describe('status quota forecast after a steep climb', () => {
  it('41 → 45 of 50 within a minute is growing, with how fast; at 50 of 50 it is full (never "not growing")', async () => {
    const { emu, cfg } = await rig('aws', { instances: 41, routeQuota: 50 });
    const env = cliEnv();
    const addVms = async (count: number) =>
      expect(
        (
          await fetch(`${emu.url}/_emulator/instances`, {
            method: 'POST',
            body: JSON.stringify({ count, tags: { [TEST_TAG.key]: TEST_TAG.value } }),
          })
        ).status,
      ).toBe(201);
    const quotaLines = (out: string) => out.split('\n').filter((l) => l.startsWith('  quota '));
    expect((await runCli(['reconcile', '-c', cfg, '--yes'], { env })).code).toBe(0);
    await addVms(4);
    expect((await runCli(['reconcile', '-c', cfg, '--yes'], { env })).code).toBe(0);

    const growing = await runCli(['status', '-c', cfg], { env });
    expect(growing.code, growing.stderr).toBe(0);
    const lines = quotaLines(growing.stdout);
    expect(lines).toHaveLength(2);
    for (const l of lines) {
      expect(l).toMatch(
        /^ {2}quota 45\/50 \(90%, api\); growing: \+\d+ in the last \d+s \(~\d+\/day\); full in ~\S+( \S+)? at that rate$/,
      );
      expect(l).not.toContain('not growing');
    }
    const doc = JSON.parse((await runCli(['status', '-c', cfg, '-o', 'json'], { env })).stdout) as {
      tables: Array<{ quota: { daysToQuota: number; forecast: { trend: string } } }>;
    };
    for (const t of doc.tables) {
      expect(t.quota.forecast.trend).toBe('growing');
      expect(t.quota.daysToQuota).toBeLessThan(1);
    }

    await addVms(5);
    // Exit 0: the five fit exactly.
    expect((await runCli(['reconcile', '-c', cfg, '--yes'], { env })).code).toBe(0);
    const full = await runCli(['status', '-c', cfg], { env });
    for (const l of quotaLines(full.stdout))
      expect(l).toBe('  quota 50/50 (100%, api); FULL: new VMs get no route until the quota is raised');
  });
});

describe('plan order and progress', () => {
  it('allocations and plan lines are in address order, numerically (172.16.2.0 before 172.16.10.0)', async () => {
    const { cfg } = await rig('aws', { instances: 12 });
    const r = await runCli(['reconcile', '-c', cfg, '--dry-run'], { env: cliEnv() });
    expect(r.code, r.stderr).toBe(0);
    const num = (cidr: string) =>
      cidr
        .split(/[./]/)
        .slice(0, 4)
        .reduce((a, o) => a * 256 + Number(o), 0);
    const allocs = [...r.stdout.matchAll(/^\+ allocate (\S+)/gm)].map((m) => m[1]!);
    expect(allocs).toHaveLength(12);
    expect(allocs).toEqual([...allocs].sort((a, b) => num(a) - num(b)));
    for (const table of r.stdout.split('\nTable ').slice(1)) {
      const creates = [...table.matchAll(/^ {2}\+ create\s+(\S+)/gm)].map((m) => m[1]!);
      expect(creates).toHaveLength(12);
      expect(creates).toEqual([...creates].sort((a, b) => num(a) - num(b)));
    }
  });

  it('on a terminal: a progress line while the pass reads, whose total never jumps', async () => {
    // Reads take about a second each: the emulator plays its realistic latencies ten times slower.
    const { cfg } = await rig('aws', { instances: 3, profile: 'realistic', timeScale: 0.1 });
    const r = await runInPty(['reconcile', '-c', cfg, '--dry-run'], cliEnv());
    expect(r.code, r.out).toBe(0);
    const reading = frames(r.out, 'reading');
    // Before the tables are discovered it names what it reads, without a count...
    expect(reading[0]).toMatch(/^reading — [a-z ,]+ \(0s\)$/);
    expect(
      reading.filter((f) => /^reading — /.test(f)).some((f) => /route tables/.test(f) && /inventory/.test(f)),
    ).toBe(true);
    // ...and once they are known the total is inventory + 2 tables, the same in every frame.
    const counted = reading.filter((f) => /^reading \d/.test(f));
    expect(counted.length).toBeGreaterThan(0);
    for (const f of counted) expect(f).toMatch(/^reading [0-2]\/3(, \d+ failed)? — \S/);
    expect(r.out).toContain('Plan: 6 to create');
  }, 60_000);

  it('on a terminal: the apply count is of the whole plan from the first frame on, not of the tables started so far', async () => {
    const fast = await rig('aws', { instances: 3 });
    const a = await runInPty(['reconcile', '-c', fast.cfg, '--yes'], cliEnv());
    expect(a.code, a.out).toBe(0);
    const applying = frames(a.out, 'applying');
    expect(applying.length).toBeGreaterThan(0);
    for (const f of applying) expect(f).toMatch(/^applying [0-6]\/6 — rtb-/);
  }, 60_000);
});
