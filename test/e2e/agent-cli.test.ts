// `routesync agent` as a process inside a network namespace the test makes: --once, --cleanup, and bad
// input (one line, non-zero exit, the rules in place left as they were).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createAliyunEmulator } from '../../emulators/aliyun/emulator.ts';
import { startEmulator, type RunningEmulator } from '../../emulators/shared/server.ts';
import { FileStore } from '../../src/store/file/store.ts';
import { BIN, cliEnv, REPO, runCli, type CliResult } from '../../testkit/cli.ts';
import { NetnsKit } from '../../testkit/netns.ts';
import { forwardIntoNetns, type Forward } from '../../testkit/ns-forward.ts';

// Resolved once with the test's PATH: a case runs the agent with a PATH that lacks iptables.
const IP = execFileSync('sh', ['-c', 'command -v ip'], { encoding: 'utf8' }).trim();

function inNetns(ns: string, args: string[], env: NodeJS.ProcessEnv = cliEnv()): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(IP, ['netns', 'exec', ns, process.execPath, BIN, ...args], {
      cwd: REPO,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('routesync agent CLI', () => {
  let kit: NetnsKit;
  let ns: string;
  let emu: RunningEmulator;
  let fwd: Forward;
  let dir: string;
  let id: string;
  const save = () =>
    kit
      .exec(ns, ['iptables-save'])
      .split('\n')
      .filter((l) => !l.startsWith('#'));
  const configDoc = (agent: Record<string, unknown> = {}) => ({
    cluster: 'cli',
    clusterCIDR: '10.244.0.0/16',
    provider: { type: 'aliyun', region: 'cn-hangzhou', vpcId: 'vpc-1', endpoint: emu.url },
    store: { type: 'file', path: join(dir, 'state.json') },
    log: { level: 'warn' },
    agent: {
      identity: { metadataEndpoint: `${emu.url}/_metadata/${id}`, timeout: '1s' },
      subnetEnv: join(dir, 'subnet.env'),
      vpcCIDRs: ['192.168.0.0/16'],
      ...agent,
    },
  });
  const writeConfig = (name: string, doc: unknown) => {
    const p = join(dir, name);
    writeFileSync(p, stringify(doc));
    return p;
  };

  beforeAll(async () => {
    kit = new NetnsKit();
    ns = kit.add('cli');
    // A VPC interface with a jumbo MTU holding the default route: FLANNEL_MTU comes from it.
    kit.ip(ns, 'link add eth0 mtu 8500 type veth peer name eth0p mtu 8500');
    kit.ip(ns, 'link set eth0p up');
    kit.ip(ns, 'link set eth0 mtu 8500 up');
    kit.ip(ns, 'addr add 192.168.0.4/24 dev eth0');
    kit.ip(ns, 'route add default via 192.168.0.1 dev eth0');
    kit.exec(ns, ['iptables', '-t', 'filter', '-A', 'FORWARD', '-s', '198.51.100.0/24', '-j', 'DROP']);
    emu = await startEmulator(createAliyunEmulator, { instances: 1 });
    id = (emu.cloud.admin.state() as { instances: Array<{ id: string }> }).instances[0]?.id as string;
    fwd = await forwardIntoNetns(kit, ns, emu.port);
    dir = mkdtempSync(join(tmpdir(), 'rs-agent-cli-'));
  });
  afterAll(async () => {
    await fwd?.close();
    await kit?.teardown();
    await emu?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('--once before any allocation installs the rules, exits 1 and says it is waiting', async () => {
    const r = await inNetns(ns, ['agent', '-c', writeConfig('a.yaml', configDoc()), '--once']);
    expect(r.stderr).toBe(
      `routesync: no subnet allocated to ${id} in the store yet (is the controller running?); rules installed, subnet.env not written\n`,
    );
    expect(r.code).toBe(1);
    expect(save().join('\n')).toContain('-A ROUTESYNC-POSTRTG -d 192.168.0.0/16');
    expect(kit.exec(ns, ['sysctl', '-n', 'net.ipv4.ip_forward']).trim()).toBe('1');
  });

  it('--once with an allocation writes subnet.env with the interface MTU and exits 0', async () => {
    const store = new FileStore(join(dir, 'state.json'));
    await store.allocate([
      { instanceId: id, subnet: '10.244.7.0/24', name: 'vm', privateIp: '192.168.0.4', allocatedAt: 1 },
    ]);
    await store.close();
    const r = await inNetns(ns, ['agent', '-c', join(dir, 'a.yaml'), '--once']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, 'subnet.env'), 'utf8')).toBe(
      'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=8500\nFLANNEL_IPMASQ=true\n',
    );
  });

  it('bad input: one line, non-zero exit, the rules in place left as they were', async () => {
    const before = save();
    const cases: Array<{ doc: unknown; code: number; line: RegExp; env?: NodeJS.ProcessEnv }> = [
      {
        doc: configDoc({ vpcCIDRs: ['10.0.0.0/33'] }),
        code: 2,
        line: /^routesync: agent\.vpcCIDRs\.0: "10\.0\.0\.0\/33" is not a valid IPv4 CIDR\n$/,
      },
      {
        doc: configDoc({ ingress: [{ port: 80, endpoints: ['10.244.7.2'] }] }),
        code: 2,
        line: /^routesync: agent\.ingress\.0\.endpoints\.0: "10\.244\.7\.2" is not an IPv4 address:port/,
      },
      {
        doc: configDoc({ identity: { source: 'kubernetes' }, ingress: [{ port: 80, endpoints: ['10.244.7.2:80'] }] }),
        code: 2,
        line: /^routesync: agent\.ingress: not used in Kubernetes mode/,
      },
      {
        doc: configDoc({ identity: { metadataEndpoint: 'http://127.0.0.1:40999/x', timeout: '500ms' } }),
        code: 1,
        line: /^routesync: agent identity: metadata service http:\/\/127\.0\.0\.1:40999\/x\/latest\/meta-data\/instance-id: ECONNREFUSED\n$/,
      },
      {
        doc: configDoc(),
        code: 1,
        line: /^routesync: agent iptables: iptables-save not found \(install iptables\)\n$/,
        env: cliEnv({ PATH: '/nonexistent' }),
      },
    ];
    for (const [i, c] of cases.entries()) {
      const r = await inNetns(ns, ['agent', '-c', writeConfig(`bad-${i}.yaml`, c.doc), '--once'], c.env);
      expect(r.stderr, `case ${i}`).toMatch(c.line);
      expect(r.stderr.split('\n').filter(Boolean), `case ${i}`).toHaveLength(1);
      expect(r.code, `case ${i}`).toBe(c.code);
    }
    const state = join(dir, 'state.json');
    const good = readFileSync(state, 'utf8');
    writeFileSync(state, good.replace('10.244.7.0/24', '10.9.7.0/24'));
    try {
      const r = await inNetns(ns, ['agent', '-c', join(dir, 'a.yaml'), '--once']);
      expect(r.stderr).toBe(
        `routesync: agent store: store: the subnet of ${id} is 10.9.7.0/24, not a subnet inside clusterCIDR 10.244.0.0/16; refusing it\n`,
      );
      expect(r.code).toBe(1);
    } finally {
      writeFileSync(state, good);
    }
    expect(save()).toEqual(before);
  });

  it('--cleanup removes its chains and subnet.env, keeps the foreign rule', async () => {
    const r = await inNetns(ns, ['agent', '-c', join(dir, 'a.yaml'), '--cleanup']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(save().join('\n')).not.toContain('ROUTESYNC');
    expect(save()).toContain('-A FORWARD -s 198.51.100.0/24 -j DROP');
    expect(() => readFileSync(join(dir, 'subnet.env'))).toThrow(/ENOENT/);
  });

  it('--help names the flags', async () => {
    const r = await runCli(['agent', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--once');
    expect(r.stdout).toContain('--cleanup');
  });
});
