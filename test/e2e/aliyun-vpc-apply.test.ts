// Two route tables of one Aliyun VPC applied side by side (src/apply.ts applyPlan → the Aliyun provider →
// pop-core → the emulator on its realistic profile, time-scaled): the VPC-wide task window is waited out
// instead of answered with OperationConflict, and settle polling reads only the entries a task touched.
import { afterEach, describe, expect, it } from 'vitest';
import { createAliyunEmulator, EMULATOR_TOPOLOGY } from '../../providers/aliyun/emulator.ts';
import { createAliyunProvider } from '../../providers/aliyun/provider.ts';
import { readParams } from '../../providers/aliyun/wire.ts';
import type { EmulatorFactory } from '../../providers/emulator/types.ts';
import { startEmulator } from '../../providers/emulator/server.ts';
import type { Change, ProgressEvent } from '../../providers/types.ts';
import { applyPlan } from '../../src/apply.ts';
import { validateConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { useDummyCredentials } from '../helpers/clouds.ts';

const TAG = { key: 'routesync-cluster', value: 'e2e' };
const [SYS, CUS] = EMULATOR_TOPOLOGY.tables;
// Realistic profile 50× faster: a task window of 20 ms, entries settling after 40-100 ms of real time.
const SCALE = 50;

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const x of open.splice(0)) await x.close();
});

/** The emulator as is, with every request's parameters kept so the test can see what each read asked for. */
function recording(seen: Array<Map<string, string>>): EmulatorFactory {
  return (ctx) => {
    const emu = createAliyunEmulator(ctx);
    return { ...emu, handle: (req, action) => (seen.push(readParams(req)), emu.handle(req, action)) };
  };
}

describe('aliyun: the tables of one VPC applied at once', () => {
  it('creates 120 routes in each of two tables with no conflict answered, reading only the entries each task created', async () => {
    const seen: Array<Map<string, string>> = [];
    const emu = await startEmulator(recording(seen), { profile: 'realistic', timeScale: SCALE, instanceTag: TAG, instances: 120 });
    open.push(emu);
    const config = validateConfig({
      cluster: 'e2e',
      clusterCIDR: '10.240.0.0/12',
      store: { type: 'memory' },
      provider: { type: 'aliyun', region: EMULATOR_TOPOLOGY.region, vpcId: EMULATOR_TOPOLOGY.vpcId, endpoint: emu.url, instanceFilter: `${TAG.key}=${TAG.value}` },
    });
    useDummyCredentials('ak-vpc');
    const provider = createAliyunProvider(config.provider, { cluster: 'e2e', clusterCIDR: config.clusterCIDR, logger: silentLogger, timeScale: SCALE });
    open.push(provider);
    const vms = await provider.listInstances(AbortSignal.timeout(30_000));
    expect(vms).toHaveLength(120);
    const tables = await provider.routeTables(AbortSignal.timeout(30_000));
    expect(tables.map((t) => t.id)).toEqual([SYS, CUS]);

    const changes: Change[] = tables.flatMap((t) => vms.map((v, i): Change => ({ op: 'create', table: t.id, destination: `10.240.${i}.0/24`, target: v.id, reason: 'test' })));
    emu.counters.reset();
    seen.length = 0;
    const events: ProgressEvent[] = [];
    const rep = await applyPlan(tables, changes, { provider, logger: silentLogger, signal: AbortSignal.timeout(60_000), fence: () => undefined, onProgress: (e) => events.push(e) });

    expect(rep.stopped).toBeUndefined();
    expect(rep.results.map((r) => r.outcome)).toEqual(Array(240).fill('applied'));
    // Side by side: both tables started before either had a result.
    const firstResult = events.findIndex((e) => e.type === 'result');
    expect(events.slice(0, firstResult).filter((e) => e.type === 'start').map((e) => e.table).sort()).toEqual([SYS, CUS].sort());

    const snap = emu.counters.snapshot();
    // 3 batches per table, each accepted at its first try: no OperationConflict, TaskConflict or IncorrectRouteEntryStatus.
    expect(snap.byAction.CreateRouteEntries).toEqual({ ok: 6 });
    const state = (await (await fetch(`${emu.url}/_emulator/state`)).json()) as { tables: Array<{ id: string; routes: Array<{ destination: string; state: string; target: string | null }> }> };
    for (const t of state.tables) expect(t.routes.filter((r) => r.target !== null).map((r) => r.state)).toEqual(Array(120).fill('active'));

    // Settle polling: every read names one destination this apply created; none lists a whole table.
    const reads = seen.filter((p) => p.get('Action') === 'DescribeRouteEntryList');
    const created = new Set(changes.map((c) => c.destination));
    expect(reads.length).toBeGreaterThanOrEqual(240);
    for (const p of reads) expect(created.has(p.get('DestinationCidrBlock') ?? '(whole table)')).toBe(true);
    const confirmed = new Set(reads.map((p) => `${p.get('RouteTableId')} ${p.get('DestinationCidrBlock')}`));
    expect(confirmed.size).toBe(240);
  });
});
