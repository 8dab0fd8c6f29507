// Runs the Kubernetes API emulator standalone:
//   npx node emulators/kubernetes/main.ts --port 6443 --nodes 3 --kubeconfig /tmp/emu.kubeconfig
// then `KUBECONFIG=/tmp/emu.kubeconfig kubectl get nodes -o wide`.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isProviderKind, PROVIDER_KINDS } from '../../providers/plugins.ts';
import { EMULATOR_PLUGINS } from '../clouds.ts';
import { CLOUD_EMULATOR_TOPOLOGY, providerIdFor, seedsFromCloudState, type NodeSeed } from './nodes.ts';
import { startKubeEmulator } from './server.ts';

const HELP = `Usage: node emulators/kubernetes/main.ts [options]

Serves a wire-level emulator of the Kubernetes API subset routesync uses (discovery, nodes, nodes/status,
leases, configmaps, events; list/watch/get/create/update/patch/delete) on loopback, plain HTTP.

Options:
  --host <addr>          address to bind (loopback only) [127.0.0.1]
  --port <n>             port, 0 = any free port [0]
  --nodes <n>            Nodes to create at start, node-1..node-N [0]
  --cloud <${PROVIDER_KINDS.join('|')}>  providerID form of the seeded Nodes [aws]
  --from-cloud <url>     also register a Node for every live VM of the cloud emulator at url
                         (its /_emulator/state), in the --cloud form, so both run side by side
  --token <t>            require this bearer token (401 otherwise); repeatable
  --kubeconfig <path>    write a kubeconfig for this server (with the first token) to path
  --time-scale <x>       emulated seconds per real second [1]
  -h, --help             this text

Admin API on the same port: GET /_emulator/state, POST /_emulator/nodes {"name":…,"providerID":…},
DELETE /_emulator/nodes/NAME[?force=1], POST|GET|DELETE /_emulator/faults {"rate":1,"error":"throttle",
"action":"watch:nodes"}, POST /_emulator/watches/drop, POST /_emulator/watches/stall, POST /_emulator/compact,
GET|DELETE /_emulator/requests.
`;

function fail(msg: string): never {
  process.stderr.write(`routesync kubernetes emulator: ${msg}\n`);
  process.exit(2);
}

function int(name: string, v: string | undefined, def: number, max: number): number {
  if (v === undefined) return def;
  if (!/^\d+$/.test(v) || Number(v) > max) fail(`--${name}: "${v}" must be an integer in 0..${max}`);
  return Number(v);
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string' },
        nodes: { type: 'string' },
        cloud: { type: 'string', default: 'aws' },
        token: { type: 'string', multiple: true },
        kubeconfig: { type: 'string' },
        'from-cloud': { type: 'string' },
        'time-scale': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
  } catch (e) {
    return fail((e as Error).message);
  }
})();

if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
if (!['127.0.0.1', 'localhost', '::1'].includes(values.host)) fail(`--host: ${values.host} is not a loopback address`);
const cloud = values.cloud;
if (!isProviderKind(cloud)) fail(`--cloud: "${values.cloud}" must be one of ${PROVIDER_KINDS.join(', ')}`);
const scale = values['time-scale'] === undefined ? 1 : Number(values['time-scale']);
if (!(scale > 0 && scale <= 10_000)) fail(`--time-scale: "${values['time-scale']}" must be a number in (0, 10000]`);
const count = int('nodes', values.nodes, 0, 10_000);
const nodes: NodeSeed[] = Array.from({ length: count }, (_, i) => {
  const { id, zone } = EMULATOR_PLUGINS[cloud].sampleVm(i + 1);
  return {
    name: `node-${i + 1}`,
    zone,
    internalIP: `10.0.${Math.floor(i / 250)}.${(i % 250) + 4}`,
    providerID: providerIdFor(cloud, { id, zone }, CLOUD_EMULATOR_TOPOLOGY),
  };
});
if (values['from-cloud'] !== undefined) {
  const from = values['from-cloud'];
  if (!/^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\/?$/.test(from))
    fail(`--from-cloud: "${from}" must be a loopback emulator URL like http://127.0.0.1:8787`);
  let state: unknown;
  try {
    const r = await fetch(`${from.replace(/\/$/, '')}/_emulator/state`);
    if (!r.ok) fail(`--from-cloud: ${from}/_emulator/state answered HTTP ${r.status}`);
    state = await r.json();
  } catch (e) {
    fail(`--from-cloud: cannot read ${from}/_emulator/state: ${(e as Error).message}`);
  }
  try {
    nodes.push(...seedsFromCloudState(cloud, state));
  } catch (e) {
    fail(`--from-cloud: ${(e as Error).message}`);
  }
}

const emu = await startKubeEmulator({
  host: values.host,
  port: int('port', values.port, 0, 65535),
  timeScale: scale,
  nodes,
  ...(values.token ? { tokens: values.token } : {}),
});
if (values.kubeconfig)
  writeFileSync(values.kubeconfig, emu.kubeconfig(values.token?.[0] ? { token: values.token[0] } : {}), {
    mode: 0o600,
  });
process.stdout.write(`routesync kubernetes emulator listening on ${emu.url}\n`);
if (values.kubeconfig) process.stdout.write(`  KUBECONFIG=${values.kubeconfig} kubectl get nodes -o wide\n`);
await new Promise<void>((done) => {
  process.once('SIGINT', done);
  process.once('SIGTERM', done);
});
await emu.close();
