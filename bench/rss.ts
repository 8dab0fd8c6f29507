// Controller memory in a process of its own: `routesync run` (child, file store) against an emulator in this
// process; VmRSS of the child sampled from /proc until every VM's route is in every table, then over a few
// steady resync passes. `node bench/rss.ts --sizes 5000 --clouds aws`.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startEmulator } from '../providers/emulator/server.ts';
import { EMULATORS } from '../providers/registry.ts';
import type { ProviderKind } from '../providers/types.ts';
import { emulatorConfigDoc, TEST_TAG, TOPOLOGY, useDummyCredentials } from '../test/helpers/clouds.ts';
import { parseFlags, table, WRITE } from './common.ts';

const STEADY_S = 20;
const MAX_CONVERGE_S = Number(process.env.BENCH_ROW_TIMEOUT_S ?? 600);

async function rssMB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!m) throw new Error(`/proc/${pid}/status has no VmRSS`);
  return Number(m[1]) / 1024;
}

export async function controllerRss(kind: ProviderKind, vms: number, timeScale: number): Promise<Record<string, string | number>> {
  useDummyCredentials('routesync-rss');
  const emu = await startEmulator(EMULATORS[kind], { profile: 'realistic', timeScale, instances: vms, routeQuota: vms * 2 + 100, instanceTag: TEST_TAG });
  const dir = await mkdtemp(join(tmpdir(), 'routesync-rss-'));
  const cfg = join(dir, 'routesync.yaml');
  await writeFile(
    cfg,
    stringify(
      emulatorConfigDoc(kind, emu.url, {
        clusterCIDR: '172.16.0.0/12',
        subnetLen: 26,
        store: { type: 'file', path: join(dir, 'state.json') },
        metrics: { listen: '127.0.0.1:0' },
        reconcile: { interval: '5s' },
        log: { level: 'warn' },
      }),
    ),
  );
  const child = spawn(process.execPath, ['bin/routesync.js', 'run', '-c', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => void (stderr = (stderr + b.toString()).slice(-4000)));
  const pid = child.pid as number;
  const want = vms * (kind === 'gce' ? 1 : TOPOLOGY[kind].tables.length);
  const created = () => {
    const snap = emu.counters.snapshot();
    let n = 0;
    for (const [action, outcomes] of Object.entries(snap.byAction)) if (WRITE.test(action) && !/Modify|delete/i.test(action)) n += outcomes.ok ?? 0;
    return n;
  };
  let peak = 0;
  const t0 = performance.now();
  try {
    // Aliyun batches 50 entries per call: count entries, not calls, through the table itself.
    const routesIn = async () => (kind === 'aliyun' ? countAliyunRoutes(emu.url) : created());
    while ((await routesIn()) < want) {
      if (child.exitCode !== null) throw new Error(`controller exited ${child.exitCode}: ${stderr.trim().split('\n').pop()}`);
      if ((performance.now() - t0) / 1000 > MAX_CONVERGE_S) throw new Error(`not converged after ${MAX_CONVERGE_S}s (${await routesIn()}/${want})`);
      peak = Math.max(peak, await rssMB(pid));
      await new Promise((r) => setTimeout(r, 250));
    }
    const convergedS = (performance.now() - t0) / 1000;
    let steadyPeak = 0;
    for (let i = 0; i < STEADY_S * 4; i++) {
      steadyPeak = Math.max(steadyPeak, await rssMB(pid));
      await new Promise((r) => setTimeout(r, 250));
    }
    peak = Math.max(peak, steadyPeak);
    return { cloud: kind, vms, convergedWallS: convergedS.toFixed(1), peakRssMB: peak.toFixed(0), steadyRssMB: steadyPeak.toFixed(0), endRssMB: (await rssMB(pid)).toFixed(0) };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await emu.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function countAliyunRoutes(url: string): Promise<number> {
  const r = await fetch(`${url}/_emulator/state`);
  const s = (await r.json()) as { tables?: Array<{ entries?: Array<{ description?: string; Description?: string }> }> };
  return (s.tables ?? []).reduce((n, t) => n + (t.entries ?? []).filter((e) => (e.description ?? e.Description ?? '').startsWith('routesync:')).length, 0);
}

if (import.meta.main) {
  const f = parseFlags(process.argv.slice(2), { sizes: [5000], clouds: ['aws'], timeScale: 50 });
  const rows = [];
  for (const kind of f.clouds) for (const n of f.sizes) rows.push(await controllerRss(kind, n, f.timeScale));
  process.stdout.write(`${table(rows)}\n`);
  process.exit(0);
}
