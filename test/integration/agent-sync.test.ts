// One agent, in process, against a real file store, the AWS emulator's metadata service and iptables
// inside a network namespace the test makes: waiting for the subnet, writing subnet.env and the CNI
// config only on change, refusing a bad subnet without touching anything, and cleaning up.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.ts';
import { Iptables } from '../../src/agent/iptables.ts';
import { AgentMetrics, startAgentServer } from '../../src/agent/metrics.ts';
import { systemClock } from '../../src/lib/clock.ts';
import { validateConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { FileStore } from '../../src/store/file/store.ts';
import { createAwsEmulator } from '../../emulators/aws/emulator.ts';
import { startEmulator, type RunningEmulator } from '../../emulators/shared/server.ts';
import { NetnsKit } from '../../testkit/netns.ts';

describe('agent sync', () => {
  let kit: NetnsKit;
  let ns: string;
  let emu: RunningEmulator;
  let dir: string;
  let id: string;
  let store: FileStore;
  let agent: Agent;
  let metrics: AgentMetrics;
  let masqFile: string;
  const save = () =>
    kit
      .exec(ns, ['iptables-save'])
      .split('\n')
      .filter((l) => !l.startsWith('#'));

  beforeAll(async () => {
    kit = new NetnsKit();
    ns = kit.add('sync');
    kit.exec(ns, ['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-s', '192.0.2.0/24', '-j', 'MASQUERADE']);
    emu = await startEmulator(createAwsEmulator, { instances: 1 });
    id = (emu.cloud.admin.state() as { instances: Array<{ id: string }> }).instances[0]?.id as string;
    dir = mkdtempSync(join(tmpdir(), 'rs-agent-'));
    masqFile = join(dir, 'ip-masq-agent');
    writeFileSync(
      masqFile,
      'nonMasqueradeCIDRs: [10.0.0.0/8, 100.64.0.0/10]\nmasqLinkLocal: true\nresyncInterval: 5s\n',
    );
    writeFileSync(join(dir, 'ip_forward'), '0\n');
    store = new FileStore(join(dir, 'state.json'));
    const config = validateConfig({
      cluster: 'agent',
      clusterCIDR: '10.244.0.0/16',
      provider: { type: 'aws', region: 'us-east-1', vpcId: 'vpc-1', endpoint: emu.url },
      store: { type: 'file', path: join(dir, 'state.json') },
      agent: {
        identity: { metadataEndpoint: `${emu.url}/_metadata/${id}` },
        subnetEnv: join(dir, 'run/flannel/subnet.env'),
        cniConfig: { path: join(dir, 'cni/10-routesync.conflist') },
        mtu: 9001,
        ipMasqAgentConfig: masqFile,
        ingress: [{ port: 8080, endpoints: ['10.244.3.2:80', '10.244.3.3:80'] }],
      },
    });
    metrics = new AgentMetrics({ defaultMetrics: false });
    agent = new Agent({
      config,
      store,
      iptables: new Iptables({ prefix: ['ip', 'netns', 'exec', ns] }),
      logger: silentLogger,
      clock: systemClock,
      metrics,
      ipForwardPath: join(dir, 'ip_forward'),
    });
  });
  afterAll(async () => {
    await kit?.teardown();
    await emu?.close();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('before the controller allocates: rules in, forwarding on, no subnet.env, not ready', async () => {
    const r = await agent.sync();
    expect(r).toMatchObject({ instanceId: id, rulesChanged: true, filesChanged: [] });
    expect(r.subnet).toBeUndefined();
    expect(readFileSync(join(dir, 'ip_forward'), 'utf8').trim()).toBe('1');
    expect(existsSync(join(dir, 'run/flannel/subnet.env'))).toBe(false);
    expect(agent.ready()).toEqual({ ok: false, reason: `waiting for the controller to allocate a subnet to ${id}` });
    expect(await metrics.registry.getSingleMetricAsString('routesync_agent_subnet_known')).toMatch(/ 0$/);
    // The ip-masq-agent file is taken as it is: its list (plus the cluster) and masqLinkLocal.
    const nat = save().filter((l) => l.startsWith('-A ROUTESYNC-POSTRTG'));
    expect(nat.map((l) => / -d (\S+)/.exec(l)?.[1])).toEqual([
      '10.244.0.0/16',
      '10.0.0.0/8',
      '100.64.0.0/10',
      '224.0.0.0/4',
      undefined,
    ]);
  });

  it('once allocated: subnet.env and the CNI conflist, then nothing changes on the next sync', async () => {
    await store.allocate([
      { instanceId: id, subnet: '10.244.3.0/24', name: 'vm', privateIp: '10.0.0.4', allocatedAt: 1 },
    ]);
    const r = await agent.sync();
    expect(r.subnet).toBe('10.244.3.0/24');
    expect(r.rulesChanged).toBe(false);
    const env = join(dir, 'run/flannel/subnet.env');
    expect(readFileSync(env, 'utf8')).toBe(
      'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=9001\nFLANNEL_IPMASQ=true\n',
    );
    const cni = JSON.parse(readFileSync(join(dir, 'cni/10-routesync.conflist'), 'utf8'));
    expect(cni.plugins[0]).toMatchObject({
      type: 'bridge',
      bridge: 'cni0',
      ipMasq: false,
      mtu: 9001,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.3.0/24', gateway: '10.244.3.1' }]] },
    });
    const mtime = statSync(env).mtimeMs;
    expect(await agent.sync()).toMatchObject({ rulesChanged: false, filesChanged: [] });
    expect(statSync(env).mtimeMs).toBe(mtime);
    expect(agent.ready()).toEqual({ ok: true });
  });

  it('serves its metrics and readiness on its own port', async () => {
    const server = await startAgentServer('127.0.0.1:0', metrics, () => agent.ready());
    try {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      expect(text).toMatch(/^routesync_agent_subnet_known 1$/m);
      expect(text).toMatch(/^routesync_agent_rules_in_place 1$/m);
      expect(text).toMatch(/^routesync_agent_last_successful_sync_timestamp_seconds \d/m);
      expect(text).toMatch(/^routesync_agent_sync_errors_total\{reason="store"\} 0$/m);
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('restores rules flushed behind its back on the next sync', async () => {
    kit.exec(ns, ['iptables', '-t', 'nat', '-F', 'ROUTESYNC-ING-TCP-8080']);
    expect((await agent.sync()).rulesChanged).toBe(true);
    expect(save().filter((l) => l.startsWith('-A ROUTESYNC-ING-TCP-8080'))).toHaveLength(2);
  });

  it('a subnet outside clusterCIDR in the store is refused and nothing installed changes', async () => {
    const before = save();
    const env = readFileSync(join(dir, 'run/flannel/subnet.env'), 'utf8');
    const path = join(dir, 'state.json');
    const good = readFileSync(path, 'utf8');
    writeFileSync(path, good.replace('10.244.3.0/24', '10.99.3.0/24'));
    await expect(agent.sync()).rejects.toThrow(
      `store: the subnet of ${id} is 10.99.3.0/24, not a subnet inside clusterCIDR 10.244.0.0/16; refusing it`,
    );
    expect(save()).toEqual(before);
    expect(readFileSync(join(dir, 'run/flannel/subnet.env'), 'utf8')).toBe(env);
    expect(await metrics.registry.getSingleMetricAsString('routesync_agent_sync_errors_total')).toMatch(
      /reason="store"} 1/,
    );
    expect(agent.ready().ok).toBe(false);
    writeFileSync(path, good);
    await agent.sync();
    expect(agent.ready().ok).toBe(true);
  });

  it('a broken ip-masq-agent file is one line naming it, and changes nothing', async () => {
    const before = save();
    writeFileSync(masqFile, 'nonMasqueradeCIDRs: [10.0.0.1/8]\n');
    await expect(agent.sync()).rejects.toThrow(
      `agent.ipMasqAgentConfig: ${masqFile}: nonMasqueradeCIDRs.0: "10.0.0.1/8" has host bits set`,
    );
    expect(save()).toEqual(before);
  });

  it('cleanup removes its rules and files, and leaves the foreign rule', async () => {
    const removed = await agent.cleanup();
    expect(removed).toEqual([join(dir, 'run/flannel/subnet.env'), join(dir, 'cni/10-routesync.conflist')]);
    const after = save();
    expect(after.join('\n')).not.toContain('ROUTESYNC');
    expect(after).toContain('-A POSTROUTING -s 192.0.2.0/24 -j MASQUERADE');
  });
});
