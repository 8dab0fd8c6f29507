// Two route tables of one Aliyun VPC applied side by side (src/apply.ts applyPlan → the Aliyun provider →
// pop-core → the emulator on its realistic profile, time-scaled): the VPC-wide task window is waited out
// instead of answered with OperationConflict, and settle polling costs fewer reads than the entries it
// waits for: a small table listed whole per look, a bigger one read entry by entry (never listed whole).
import { afterEach, describe, expect, it } from 'vitest';
import { createAliyunEmulator, EMULATOR_TOPOLOGY } from '../../emulators/aliyun/emulator.ts';
import { configFor } from '../../providers/plugins.ts';
import { createAliyunProvider } from '../../providers/aliyun/provider.ts';
import { readParams } from '../../emulators/aliyun/wire.ts';
import type { EmulatorFactory } from '../../emulators/shared/types.ts';
import { startEmulator } from '../../emulators/shared/server.ts';
import type { Change, ProgressEvent } from '../../providers/types.ts';
import { applyPlan } from '../../src/apply.ts';
import { validateConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { useDummyCredentials } from '../../testkit/clouds.ts';

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
    return {
      ...emu,
      handle: (req, action) => {
        seen.push(readParams(req));
        return emu.handle(req, action);
      },
    };
  };
}

type Params = Map<string, string>;

/** 120 routes into each of the VPC's two tables through applyPlan; returns the DescribeRouteEntryList reads it made. */
async function applyTwoTables(settle?: {
  wholeTablePages: number;
}): Promise<{ reads: Params[]; created: Set<string> }> {
  const seen: Params[] = [];
  const emu = await startEmulator(recording(seen), {
    profile: 'realistic',
    timeScale: SCALE,
    instanceTag: TAG,
    instances: 120,
  });
  open.push(emu);
  const config = validateConfig({
    cluster: 'e2e',
    clusterCIDR: '10.240.0.0/12',
    store: { type: 'memory' },
    provider: {
      type: 'aliyun',
      region: EMULATOR_TOPOLOGY.region,
      vpcId: EMULATOR_TOPOLOGY.vpcId,
      endpoint: emu.url,
      instanceFilter: `${TAG.key}=${TAG.value}`,
    },
  });
  useDummyCredentials('ak-vpc');
  const provider = createAliyunProvider(
    configFor('aliyun', config.provider),
    { cluster: 'e2e', clusterCIDR: config.clusterCIDR, logger: silentLogger, timeScale: SCALE },
    settle ? { settle } : {},
  );
  open.push(provider);
  const vms = await provider.listInstances(AbortSignal.timeout(30_000));
  expect(vms).toHaveLength(120);
  const tables = await provider.routeTables(AbortSignal.timeout(30_000));
  expect(tables.map((t) => t.id)).toEqual([SYS, CUS]);

  const changes: Change[] = tables.flatMap((t) =>
    vms.map(
      (v, i): Change => ({ op: 'create', table: t.id, destination: `10.240.${i}.0/24`, target: v.id, reason: 'test' }),
    ),
  );
  emu.counters.reset();
  seen.length = 0;
  const events: ProgressEvent[] = [];
  const rep = await applyPlan(tables, changes, {
    provider,
    logger: silentLogger,
    signal: AbortSignal.timeout(60_000),
    fence: () => undefined,
    onProgress: (e) => events.push(e),
  });

  expect(rep.stopped).toBeUndefined();
  expect(rep.results.map((r) => r.outcome)).toEqual(Array(240).fill('applied'));
  // Side by side: both tables started before either had a result.
  const firstResult = events.findIndex((e) => e.type === 'result');
  expect(
    events
      .slice(0, firstResult)
      .filter((e) => e.type === 'start')
      .map((e) => e.table)
      .sort(),
  ).toEqual([SYS, CUS].sort());

  const snap = emu.counters.snapshot();
  // 3 batches per table, each accepted at its first try: no OperationConflict, TaskConflict or IncorrectRouteEntryStatus.
  expect(snap.byAction.CreateRouteEntries).toEqual({ ok: 6 });
  const state = (await (await fetch(`${emu.url}/_emulator/state`)).json()) as {
    tables: Array<{ id: string; routes: Array<{ destination: string; state: string; target: string | null }> }>;
  };
  for (const t of state.tables)
    expect(t.routes.filter((r) => r.target !== null).map((r) => r.state)).toEqual(Array(120).fill('active'));
  return {
    reads: seen.filter((p) => p.get('Action') === 'DescribeRouteEntryList'),
    created: new Set(changes.map((c) => c.destination)),
  };
}

describe('aliyun: the tables of one VPC applied at once', () => {
  it('small tables (up to two pages): each look lists the table whole, far fewer reads than entries', async () => {
    const { reads } = await applyTwoTables();
    expect(reads.length).toBeGreaterThan(0);
    for (const p of reads) expect(p.get('DestinationCidrBlock')).toBeUndefined();
    expect(reads.length).toBeLessThan(240 / 2);
  });

  it('a table past the whole-table limit: its entries are read one by one, and it is not listed whole again', async () => {
    const { reads, created } = await applyTwoTables({ wholeTablePages: 1 });
    for (const table of [SYS, CUS]) {
      const mine = reads.filter((p) => p.get('RouteTableId') === table);
      const firstSingle = mine.findIndex((p) => p.get('DestinationCidrBlock') !== undefined);
      expect(firstSingle).toBeGreaterThan(0);
      // Once the table outgrew one page (the second task), no read lists it whole any more.
      const after = mine.slice(firstSingle);
      for (const p of after) expect(created.has(p.get('DestinationCidrBlock') ?? '(whole table)')).toBe(true);
      // The second and third tasks' 70 entries, each confirmed by a read of its own.
      expect(new Set(after.map((p) => p.get('DestinationCidrBlock'))).size).toBe(70);
    }
  });
});
