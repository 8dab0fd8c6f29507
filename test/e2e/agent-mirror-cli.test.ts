// `routesync emulator --mirror-netns`: the emulated route table becomes the namespace's kernel routes.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { BIN, cliEnv, REPO } from '../../testkit/cli.ts';
import { NetnsKit } from '../../testkit/netns.ts';
import { until } from '../../testkit/wait.ts';

describe('routesync emulator --mirror-netns', () => {
  let kit: NetnsKit;
  let ns: string;
  let child: ReturnType<typeof spawn>;
  let url = '';
  beforeAll(async () => {
    kit = new NetnsKit();
    ns = kit.add('mirror');
    // The VPC segment the emulated VMs (10.0.0.x) sit on, so `via <VM IP>` is a valid gateway.
    kit.ip(ns, 'link add vpc0 type veth peer name vpc1');
    kit.ip(ns, 'link set vpc0 up');
    kit.ip(ns, 'link set vpc1 up');
    kit.ip(ns, 'addr add 10.0.0.1/16 dev vpc0');
    child = spawn(
      process.execPath,
      [BIN, 'emulator', '--provider', 'aws', '--profile', 'fast', '--instances', '2', '--mirror-netns', ns],
      { cwd: REPO, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    url = await until(
      'the emulator to listen',
      () =>
        new Promise<string | undefined>((r) =>
          child.stdout?.once('data', (d: Buffer) => r(/listening on (\S+)/.exec(d.toString())?.[1])),
        ),
      20_000,
    );
  });
  afterAll(async () => {
    child?.kill('SIGTERM');
    await kit?.teardown();
  });

  it('mirrors a create and a delete', async () => {
    const state = (await (await fetch(`${url}/_emulator/state`)).json()) as {
      instances: Array<{ id: string; privateIp: string }>;
    };
    const vm = state.instances[0]!;
    await fetch(`${url}/_emulator/routes`, {
      method: 'POST',
      body: JSON.stringify({ destination: '10.244.9.0/24', target: vm.id }),
    });
    await until('the kernel route', () => kit.ip(ns, 'route show 10.244.9.0/24').includes(`via ${vm.privateIp}`), 5000);
    await fetch(`${url}/_emulator/routes`, {
      method: 'DELETE',
      body: JSON.stringify({ destination: '10.244.9.0/24' }),
    });
    await until('the kernel route to go', () => kit.ip(ns, 'route show 10.244.9.0/24').trim() === '', 5000);
  });
});
