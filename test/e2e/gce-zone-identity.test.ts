// GCE instance names are unique per zone, not per project (issue 16, item 7): a VM is `<zone>/<name>` in the
// inventory, the store, the routes' targets and the next hops, end to end through the reconcile engine, the
// real provider, the official SDK and the GCE emulator; and a store written by an older version (VMs keyed
// by bare name) keeps its subnets, its routes untouched.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ownerMark, routeName } from '../../providers/gce/names.ts';
import { cloudInventory } from '../../src/inventory/cloud.ts';
import { silentLogger } from '../../src/log.ts';
import { reconcileOnce } from '../../src/reconcile.ts';
import { renderPlan } from '../../src/render.ts';
import { EtcdStore } from '../../src/store/etcd/store.ts';
import { FileStore } from '../../src/store/file/store.ts';
import { createMemoryStore } from '../../src/store/memory/store.ts';
import type { Store } from '../../src/store/types.ts';
import type { CloudFixture } from '../../testkit/clouds.ts';
import { type ControllerWorld, controllerWorld } from '../../testkit/controller-world.ts';
import { startEtcd, type EtcdServer } from '../../testkit/etcd.ts';

const A = 'us-central1-a';
const B = 'us-central1-b';
const C = 'us-central1-c';

interface World extends ControllerWorld {
  /** Our routes as the emulator holds them: destination → next hop (`<zone>/<name>`). */
  routes(): Promise<Record<string, string>>;
}

/** `makeStore` gets the VMs' private IPs (by `<zone>/<name>`): an old store records them. */
async function world(
  makeStore: (ip: Record<string, string>) => Promise<Store> = async () => createMemoryStore(),
): Promise<World> {
  const w = await controllerWorld(
    'gce',
    0,
    {},
    {
      store: async (f) => {
        // One name in two zones, and a name of its own.
        const added = await f.admin('POST', 'instances', {
          instances: [
            { name: 'twin', zone: A },
            { name: 'twin', zone: B },
            { name: 'solo', zone: C },
          ],
        });
        expect(added.status).toBe(201);
        return makeStore(await ips(f));
      },
    },
  );
  const routes = async () => {
    const s = (await w.f.admin('GET', 'state')).json as {
      tables: Array<{ id: string; routes: Array<{ destination: string; target: string | null; name: string }> }>;
    };
    const net = s.tables.find((t) => t.id === 'cluster-net');
    return Object.fromEntries(
      (net?.routes ?? [])
        .filter((r) => r.name.startsWith(`${w.f.config.cluster}-`))
        .map((r) => [r.destination, String(r.target)]),
    );
  };
  return { ...w, routes };
}

/** The VMs' private IPs, by `<zone>/<name>`. */
async function ips(f: CloudFixture): Promise<Record<string, string>> {
  const s = (await f.admin('GET', 'state')).json as { instances: Array<{ id: string; privateIp: string }> };
  return Object.fromEntries(s.instances.map((i) => [i.id, i.privateIp]));
}

/** A route of ours as an older version inserted it: same name and description, next hop the VM's URL. */
async function oldRoute(f: CloudFixture, destination: string, target: string): Promise<void> {
  const r = await f.admin('POST', 'routes', {
    destination,
    target,
    name: routeName(f.config.cluster, destination),
    description: ownerMark(f.config.cluster),
  });
  expect(r.status).toBe(201);
}

let w: World | undefined;
afterEach(async () => {
  await w?.f.close();
  await w?.store.close();
  w = undefined;
});

describe('GCE: VM identity is zone + name (issue 16, item 7)', () => {
  it('two VMs with one name in two zones get two subnets and two routes, each to its own VM', async () => {
    w = await world();
    const r = await w.settle();
    expect(r.converged).toBe(true);
    const held = Object.fromEntries(r.allocations.map((a) => [a.instanceId, a.subnet]));
    expect(Object.keys(held).sort()).toEqual([`${A}/twin`, `${B}/twin`, `${C}/solo`]);
    expect(new Set(Object.values(held)).size).toBe(3);
    // Each route's next hop is the instance URL in its own zone (the emulator refuses a zone that is not the VM's).
    expect(await w.routes()).toEqual({
      [held[`${A}/twin`] as string]: `${A}/twin`,
      [held[`${B}/twin`] as string]: `${B}/twin`,
      [held[`${C}/solo`] as string]: `${C}/solo`,
    });
    const [t] = await w.f.provider.routeTables();
    const listed = await w.f.provider.listRoutes(t!);
    expect(listed.filter((x) => x.marked).map((x) => [x.destination, x.target, x.state])).toEqual(
      expect.arrayContaining([[held[`${B}/twin`], `${B}/twin`, 'active']]),
    );
    // A VM of the pair that goes is released on its own; its twin keeps subnet and route.
    expect((await w.f.admin('DELETE', `instances/${encodeURIComponent(`${A}/twin`)}`)).status).toBe(200);
    w.clock.advance(2 * 60_000);
    await w.settle();
    w.clock.advance(2 * 60_000);
    const after = await w.settle();
    expect(after.allocations.map((a) => a.instanceId).sort()).toEqual([`${B}/twin`, `${C}/solo`]);
    const left = await w.routes();
    expect(left[held[`${B}/twin`] as string]).toBe(`${B}/twin`);
    expect(left[held[`${A}/twin`] as string]).toBeUndefined();
  });

  it('the lookup before a release asks the VM’s own zone: a twin elsewhere does not keep it', async () => {
    w = await world();
    await w.settle();
    const look = await w.f.provider.lookupInstances([`${A}/twin`, `${B}/twin`, `${C}/twin`]);
    expect(Object.fromEntries(look)).toEqual({
      [`${A}/twin`]: 'running',
      [`${B}/twin`]: 'running',
      [`${C}/twin`]: 'notFound',
    });
  });

  it('many ids are looked up by one listing of the project, not an instances.get each', async () => {
    w = await world();
    const names = Array.from({ length: 12 }, (_, i) => `vm-${i + 1}`);
    // Not labelled for the cluster: a Kubernetes inventory asks for the VMs its Nodes name, labels or not.
    const added = await w.f.admin('POST', 'instances', {
      instances: names.map((name) => ({ name, zone: A, labels: {} })),
    });
    expect(added.status).toBe(201);
    const gets = w.count('instances.get');
    const lists = w.count('instances.aggregatedList');
    const ids = [...names.map((n) => `${A}/${n}`), `${B}/twin`, `${C}/twin`, `${C}/ghost`];
    const look = await w.f.provider.lookupInstances(ids);
    expect(Object.fromEntries(look)).toEqual({
      ...Object.fromEntries(names.map((n) => [`${A}/${n}`, 'running'])),
      [`${B}/twin`]: 'running',
      [`${C}/twin`]: 'notFound',
      [`${C}/ghost`]: 'notFound',
    });
    expect(w.count('instances.get')).toBe(gets);
    expect(w.count('instances.aggregatedList') - lists).toBeGreaterThanOrEqual(1);
    expect(w.count('instances.aggregatedList') - lists).toBeLessThanOrEqual(2);
  });

  it('an old store with two VMs of one name, none matching by private IP: a finding, no guess, nothing deleted', async () => {
    w = await world();
    // Written by an older version: `twin` (bare name), with an IP that is neither twin's.
    await w.store.allocate([
      { instanceId: 'twin', subnet: '172.16.7.0/24', name: 'twin', privateIp: '10.128.99.99', allocatedAt: 1 },
    ]);
    await oldRoute(w.f, '172.16.7.0/24', `${A}/twin`);
    for (let i = 0; i < 3; i++) {
      const r = await w.c.runOnce({ full: true });
      expect(r.converged).toBe(false);
      // The first pass names both VMs of the name; once the twin in zone b holds a subnet of its own (the
      // old route claims none for it) it is no candidate any more.
      const candidates = i === 0 ? `${A}/twin \\(.*\\), ${B}/twin \\(` : `${A}/twin \\(`;
      expect(r.errors.join('\n')).toMatch(
        new RegExp(`store record twin → 172\\.16\\.7\\.0/24 .*could be ${candidates}.*not migrated`),
      );
      expect(r.migrated).toBeUndefined();
      // Well past releaseAfter: the record is not released while a VM of that name exists.
      w.clock.advance(5 * 60_000);
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(w.count('routes.delete')).toBe(0);
    expect((await w.routes())['172.16.7.0/24']).toBe(`${A}/twin`);
    expect((await w.store.load()).allocations.find((x) => x.subnet === '172.16.7.0/24')?.instanceId).toBe('twin');
  });
});

describe.each(['file', 'etcd'] as const)('GCE: a %s store written by an older version (VMs by bare name)', (kind) => {
  let etcd: EtcdServer | undefined;
  let dir: string;
  let n = 0;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'routesync-gce7-'));
    if (kind === 'etcd') etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd?.stop({ keepData: false });
    rmSync(dir, { recursive: true, force: true });
  });

  /** The store with the records an older version wrote: each VM keyed by its bare name. */
  async function oldStore(records: Array<{ id: string; subnet: string; ip: string }>): Promise<Store> {
    n++;
    if (kind === 'file') {
      const s = new FileStore(join(dir, `old-${n}.json`));
      await s.allocate(
        records.map((r, i) => ({
          instanceId: r.id,
          subnet: r.subnet,
          name: r.id,
          privateIp: r.ip,
          allocatedAt: 1000 + i,
        })),
      );
      return s;
    }
    // The etcd layout as it was: subnets/<a.b.c.d-len> → JSON, instances/<name> → subnet.
    const base = `/routesync/old${n}/`;
    const raw = new Etcd3({ hosts: etcd!.endpoints });
    try {
      for (const [i, r] of records.entries()) {
        await raw
          .put(`${base}subnets/${r.subnet.replace('/', '-')}`)
          .value(JSON.stringify({ instanceId: r.id, name: r.id, privateIp: r.ip, allocatedAt: 1000 + i }));
        await raw.put(`${base}instances/${r.id}`).value(r.subnet);
      }
    } finally {
      raw.close();
    }
    return new EtcdStore({
      endpoints: etcd!.endpoints,
      prefix: '/routesync',
      cluster: `old${n}`,
      logger: silentLogger,
    });
  }

  it('keeps every subnet by name + private IP, leaves the old routes alone, and routes the new twin', async () => {
    w = await world((ip) =>
      oldStore([
        { id: 'twin', subnet: '172.16.1.0/24', ip: ip[`${A}/twin`] as string },
        { id: 'solo', subnet: '172.16.2.0/24', ip: ip[`${C}/solo`] as string },
      ]),
    );
    await oldRoute(w.f, '172.16.1.0/24', `${A}/twin`);
    await oldRoute(w.f, '172.16.2.0/24', `${C}/solo`);

    // `reconcile --dry-run` shows the moves and writes nothing.
    const dry = await reconcileOnce(
      {
        config: w.f.config,
        provider: w.f.provider,
        inventory: cloudInventory(w.f.provider),
        store: w.store,
        logger: silentLogger,
        clock: w.clock,
        signal: new AbortController().signal,
        fence: () => undefined,
        dryRun: true,
      },
      { quotaExceeded: new Set() },
      { full: true },
    );
    const shown = renderPlan(dry);
    expect(shown).toContain(`* migrate 172.16.1.0/24: twin → ${A}/twin`);
    expect(shown).toContain(`* migrate 172.16.2.0/24: solo → ${C}/solo`);
    expect(shown).toContain('(not written: dry run)');
    // Only the twin in zone b has no route yet.
    expect(dry.plan.changes.map((c) => [c.op, c.target])).toEqual([['create', `${B}/twin`]]);
    expect((await w.store.load()).allocations.map((a) => a.instanceId).sort()).toEqual(['solo', 'twin']);

    const first = await w.c.runOnce({ full: true });
    expect(first.migrated?.map((m) => [m.from, m.to, m.subnet])).toEqual([
      ['solo', `${C}/solo`, '172.16.2.0/24'],
      ['twin', `${A}/twin`, '172.16.1.0/24'],
    ]);
    const r = await w.settle();
    expect(r.converged).toBe(true);
    const held = Object.fromEntries((await w.store.load()).allocations.map((a) => [a.instanceId, a.subnet]));
    expect(held[`${A}/twin`]).toBe('172.16.1.0/24');
    expect(held[`${C}/solo`]).toBe('172.16.2.0/24');
    expect(Object.keys(held).sort()).toEqual([`${A}/twin`, `${B}/twin`, `${C}/solo`]);
    // The old routes are ours and right: not deleted, not re-inserted; one insert, for the twin in zone b.
    expect(w.count('routes.delete')).toBe(0);
    expect(w.f.calls.filter((x) => x.action === 'routes.insert' && x.outcome === 'ok')).toHaveLength(1);
    expect(await w.routes()).toEqual({
      '172.16.1.0/24': `${A}/twin`,
      '172.16.2.0/24': `${C}/solo`,
      [held[`${B}/twin`] as string]: `${B}/twin`,
    });
    // A second pass has nothing to migrate or change.
    const again = await w.c.runOnce({ full: true });
    expect(again.migrated).toBeUndefined();
    expect(again.plan.changes).toEqual([]);
  });
});
