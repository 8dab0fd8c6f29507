// `routesync status` and /status in Kubernetes mode (issue 14 item 6): one row per Node — providerID, the VM
// it maps to, podCIDR next to the allocated subnet, NetworkUnavailable as the Node carries it, and the
// Node's finding (no providerID, garbage, a VM the cloud does not have, excluded). Against a cloud emulator
// and the Kubernetes API emulator side by side, with store.type kubernetes (the podCIDRs written in allocate
// mode); the one-off command is the real CLI, the controller's /status the real server.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { CLOUD_EMULATOR_TOPOLOGY, providerIdFor, seedsFromCloudState } from '../../emulators/kubernetes/nodes.ts';
import { startKubeEmulator, type RunningKubeEmulator } from '../../emulators/kubernetes/server.ts';
import { PROVIDER_KINDS, type ProviderKind } from '../../providers/plugins.ts';
import { startController, type RunningController } from '../../src/commands/run.ts';
import { validateConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import type { StatusDocument } from '../../src/status.ts';
import { cliEnv, runCli } from '../../testkit/cli.ts';
import { emulatorConfigDoc, startCloud, type CloudFixture } from '../../testkit/clouds.ts';
import { until } from '../../testkit/wait.ts';

type Row = NonNullable<StatusDocument['nodes']>[number];

interface EmuState {
  instances: Array<{ id: string; zone: string; state: string }>;
}

async function setNetworkUnavailable(kube: RunningKubeEmulator, node: string, status: string, reason: string) {
  const r = await fetch(`${kube.url}/api/v1/nodes/${node}/status`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/strategic-merge-patch+json', authorization: 'Bearer someone-else' },
    body: JSON.stringify({
      status: {
        conditions: [
          { type: 'NetworkUnavailable', status, reason, message: 'set by the test', lastTransitionTime: new Date() },
        ],
      },
    }),
  });
  expect(r.status).toBe(200);
}

const byNode = (rows: readonly Row[]) => Object.fromEntries(rows.map((r) => [r.node, r]));

describe.each(PROVIDER_KINDS.map((k) => [k] as [ProviderKind]))('Kubernetes-mode status on %s', (kind) => {
  let f: CloudFixture | undefined;
  let kube: RunningKubeEmulator | undefined;
  let running: RunningController | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    running?.stop();
    await running?.done;
    await kube?.close();
    await f?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    running = kube = f = dir = undefined;
  });

  it('shows one row per Node in `status` (table and JSON) and in /status', async () => {
    f = await startCloud(kind, { instances: 3 });
    const state = (await f.admin('GET', 'state')).json as EmuState;
    const seeds = seedsFromCloudState(kind, state);
    const [a, b, excluded] = seeds.map((s) => s.name) as [string, string, string];
    seeds[2]!.labels = { 'routesync.io/exclude': 'true' };
    const zone = state.instances[0]!.zone;
    // A GCE VM is `<zone>/<name>`.
    const ghostId =
      kind === 'gce' ? `${zone}/ghost-vm` : kind === 'aws' ? 'i-0000000000000dead' : 'i-ghost000000000000';
    seeds.push(
      { name: 'bare', internalIP: '10.9.0.3' },
      { name: 'garbage', providerID: 'not a\nprovider id', internalIP: '10.9.0.1' },
      {
        name: 'ghost',
        providerID: providerIdFor(kind, { id: ghostId, zone }, CLOUD_EMULATOR_TOPOLOGY),
        internalIP: '10.9.0.2',
      },
    );
    kube = await startKubeEmulator({ nodes: seeds });
    await setNetworkUnavailable(kube, a, 'True', 'NoRouteCreated');
    dir = mkdtempSync(join(tmpdir(), 'k8s-status-'));
    const kcController = join(dir, 'controller.kubeconfig');
    const kcCli = join(dir, 'cli.kubeconfig');
    writeFileSync(kcController, kube.kubeconfig({ token: 'controller', namespace: 'routesync' }));
    writeFileSync(kcCli, kube.kubeconfig({ token: 'status-cli', namespace: 'routesync' }));
    const doc = emulatorConfigDoc(kind, f.emu.url, {
      inventory: { source: 'kubernetes' },
      kubernetes: { kubeconfig: kcController, namespace: 'routesync' },
      store: { type: 'kubernetes' },
      metrics: { listen: '127.0.0.1:0' },
      reconcile: { debounce: '100ms' },
    });
    const configFile = join(dir, 'routesync.yaml');
    writeFileSync(configFile, stringify(doc));
    const env = cliEnv();

    // Before any controller: every Node listed, none with a subnet or podCIDR; the findings named.
    const before = await runCli(['status', '-c', configFile, '--kubeconfig', kcCli, '-o', 'json'], { env });
    expect(before.stderr).toBe('');
    expect(before.code).toBe(0);
    const first = JSON.parse(before.stdout) as StatusDocument;
    expect(first.nodes?.map((r) => r.node)).toEqual([a, b, excluded, 'bare', 'garbage', 'ghost'].sort());
    const r0 = byNode(first.nodes ?? []);
    const vmA = state.instances[0]!.id;
    expect(r0[a]).toMatchObject({ vm: vmA, podCIDRs: [], subnet: null });
    expect(r0[a]?.providerID).toMatch(kind === 'aliyun' ? /^cn-hangzhou\.i-/ : new RegExp(`^${kind}://`));
    expect(r0[a]?.networkUnavailable).toMatchObject({ status: 'True', reason: 'NoRouteCreated' });
    expect(r0[b]?.networkUnavailable).toBeNull();
    expect(r0[a]?.finding).toBeUndefined();
    expect(r0[excluded]?.finding?.kind).toBe('excluded');
    expect(r0[excluded]?.vm).not.toBeNull();
    expect(r0.bare).toMatchObject({ providerID: null, vm: null, finding: { kind: 'missing' } });
    expect(r0.garbage).toMatchObject({ providerID: 'not a\nprovider id', vm: null });
    expect(r0.garbage?.finding?.kind).toBeDefined();
    expect(r0.ghost).toMatchObject({ vm: ghostId, finding: { kind: 'vm-not-found' } });
    // One list of the Nodes (the store reads the inventory's), never a watch: a one-off command keeps nothing
    // open (the old code opened one).
    const cliCalls = kube.counters.snapshot().byClient['status-cli'] ?? {};
    expect(cliCalls['list:nodes']).toEqual({ ok: 1 });
    expect(cliCalls['watch:nodes']).toBeUndefined();

    // The controller routes the three good Nodes, and writes their podCIDRs (allocate mode).
    running = await startController(validateConfig(doc), silentLogger);
    const url = `${running.url}/status`;
    const rows = async () => ((await (await fetch(url)).json()) as StatusDocument).nodes ?? [];
    // … and marks them network-ready once their routes are in every table (the report step).
    await until(
      'podCIDRs written and NetworkUnavailable False on the routed Nodes',
      async () => {
        const r = byNode(await rows());
        return [a, b].every(
          (n) =>
            r[n]?.subnet && r[n]?.podCIDRs[0] === r[n]?.subnet && r[n]?.networkUnavailable?.reason === 'RouteCreated',
        );
      },
      30_000,
    );
    const live = byNode(await rows());
    expect(live[a]?.subnet).not.toBe(live[b]?.subnet);
    expect(live[excluded]).toMatchObject({ subnet: null, podCIDRs: [], finding: { kind: 'excluded' } });
    expect(live.ghost).toMatchObject({ subnet: null, finding: { kind: 'vm-not-found' } });
    expect(live.bare?.finding?.kind).toBe('missing');
    expect(live[a]?.networkUnavailable?.status).toBe('False');
    // NetworkUnavailable is what the Node carries now, whoever wrote it (the controller leaves an excluded
    // Node's alone), without waiting for a pass.
    await setNetworkUnavailable(kube, excluded, 'True', 'SetByHand');
    await until(
      '/status shows the condition the Node carries',
      async () => byNode(await rows())[excluded]?.networkUnavailable?.reason === 'SetByHand',
      10_000,
    );

    // The one-off command's table: one line per Node with the same columns, findings spelled out below.
    const table = await runCli(['status', '-c', configFile, '--kubeconfig', kcCli], { env });
    expect(table.code).toBe(0);
    const all = table.stdout.split('\n');
    expect(all).toContain('Nodes: 6: 2 routed, 1 excluded, 3 with a finding');
    // The Nodes' table, after the VM list (on GCE a VM's id is its Node's name).
    const lines = all.slice(all.findIndex((l) => l.startsWith('NODE ')));
    expect(lines[0]).toMatch(/^NODE +PROVIDER ID +VM +PODCIDR +SUBNET +NETWORKUNAVAILABLE +FINDING$/);
    const rowA = lines.find((l) => l.startsWith(`${a} `));
    expect(rowA).toContain(`${live[a]?.subnet}  `);
    expect(rowA?.split(/ {2,}/)).toEqual([
      a,
      live[a]?.providerID,
      live[a]?.vm,
      live[a]?.subnet,
      live[a]?.subnet,
      'False RouteCreated',
    ]);
    expect(lines.find((l) => l.startsWith(`${excluded} `))).toMatch(/ {2}True SetByHand +excluded$/);
    expect(lines.find((l) => l.startsWith('bare '))).toMatch(
      /^bare +- +- +- +- +(not set|True NoRouteCreated) +missing$/,
    );
    // A providerID with a newline cannot break the table: it is quoted.
    expect(lines.find((l) => l.startsWith('garbage '))).toContain('"not a\\nprovider id"');
    expect(lines.some((l) => /^ {2}vm-not-found: Node ghost: the cloud has no VM/.test(l))).toBe(true);
    expect(lines).toContain(`  excluded: Node ${excluded}: carries routesync.io/exclude=true; not routed`);
  }, 90_000);
});

// The same on every cloud (the Node list fails before any cloud call): once, on AWS.
describe('Kubernetes-mode status, the API server down', () => {
  let f: CloudFixture | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await f?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    f = dir = undefined;
  });

  it('an API server that does not answer: one line naming it and where its address came from, exit 1', async () => {
    f = await startCloud('aws', { instances: 1 });
    dir = mkdtempSync(join(tmpdir(), 'k8s-status-'));
    // A port nothing listens on: the one a closed listener just had.
    const gone = await startKubeEmulator();
    const kc = join(dir, 'kubeconfig');
    writeFileSync(kc, gone.kubeconfig());
    const server = gone.url;
    await gone.close();
    const configFile = join(dir, 'routesync.yaml');
    writeFileSync(
      configFile,
      stringify(
        emulatorConfigDoc('aws', f.emu.url, { inventory: { source: 'kubernetes' }, kubernetes: { kubeconfig: kc } }),
      ),
    );
    const r = await runCli(['status', '-c', configFile], { env: cliEnv() });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([
      `routesync: Kubernetes API ${server} (kubernetes.kubeconfig ${kc}): listing Nodes (page 1): fetch failed (ECONNREFUSED)`,
    ]);
  });
});
