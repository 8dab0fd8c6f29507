// `npm start`: everything in one process, no cloud account and no etcd — an emulator of one cloud, the
// file store in a temp dir, the controller, and light VM churn so there is something to watch. With
// `--inventory kubernetes` the Kubernetes API emulator runs beside it (./demo-kubernetes.ts).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { stringify } from 'yaml';
import { emulatorCredentials } from '../../providers/plugin.ts';
import { isProviderKind, PLUGINS, PROVIDER_KINDS, providerFields, type ProviderKind } from '../../providers/plugins.ts';
import { parseConfigText } from '../config.ts';
import { renderPassLine } from '../render.ts';
import { action, EXIT, loggerFrom, parseIntFlag, UsageError, withLogFlags, type LogFlags } from './common.ts';
import { startDemoKube, type DemoKube } from './demo-kubernetes.ts';
import { loadCloudEmulators, type CloudEmulators } from './dev-emulators.ts';
import { startController } from './run.ts';

const CLUSTER = 'demo';
const TAG = { key: 'routesync-cluster', value: CLUSTER };

async function freePort(preferred: number): Promise<number> {
  const tryPort = (p: number) =>
    new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(p, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => resolve(port));
      });
    });
  return tryPort(preferred).catch(() => tryPort(0));
}

export interface DemoFlags extends LogFlags {
  provider: string;
  inventory: string;
  instances: number;
  churn: number;
  dir?: string;
}

/** The emulator's ids that the cloud's config takes (region and VPC, or project and network). */
function providerDoc(clouds: CloudEmulators, kind: ProviderKind, url: string): Record<string, unknown> {
  const ids = providerFields(kind, clouds.TOPOLOGIES[kind]);
  return { type: kind, ...ids, endpoint: url, instanceFilter: `${TAG.key}=${TAG.value}` };
}

/** The dummy credentials another shell needs to talk to the emulator through the SDK. */
function envPrefix(kind: ProviderKind): string {
  return Object.entries(emulatorCredentials(PLUGINS[kind].credentials, 'demo'))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

export async function runDemo(flags: DemoFlags): Promise<number> {
  const kind = flags.provider;
  if (!isProviderKind(kind)) throw new UsageError(`--provider: "${kind}" must be one of ${PROVIDER_KINDS.join(', ')}`);
  if (flags.inventory !== 'cloud' && flags.inventory !== 'kubernetes')
    throw new UsageError(`--inventory: "${flags.inventory}" must be cloud or kubernetes`);
  const inKube = flags.inventory === 'kubernetes';
  // Dummy credentials for the SDK chain: the emulator accepts any, and nothing leaves loopback.
  Object.assign(process.env, emulatorCredentials(PLUGINS[kind].credentials, 'demo'));
  const clouds = await loadCloudEmulators('demo');
  const emu = await clouds.startEmulator(clouds.EMULATORS[kind], {
    profile: 'realistic',
    timeScale: 10,
    instances: flags.instances,
    instanceTag: TAG,
    seed: 7,
  });
  const dir = flags.dir ?? mkdtempSync(join(tmpdir(), 'routesync-demo-'));
  mkdirSync(dir, { recursive: true });
  // --inventory kubernetes: the Kubernetes API emulator beside the cloud's, with a Node per VM.
  let kube: DemoKube | undefined;
  if (inKube) kube = await startDemoKube(kind, emu.url, dir);
  const metricsPort = await freePort(9464);
  const doc = {
    cluster: CLUSTER,
    clusterCIDR: '172.16.0.0/16',
    provider: providerDoc(clouds, kind, emu.url),
    store: { type: 'file', path: join(dir, 'state.json') },
    reconcile: { interval: '30s', releaseAfter: '1m', reuseAfter: '2m', debounce: '2s' },
    metrics: { listen: `127.0.0.1:${metricsPort}` },
    log: { level: 'info' },
    ...(kube?.config ?? {}),
  };
  const configFile = join(dir, 'routesync.yaml');
  writeFileSync(
    configFile,
    `# written by \`npm start\` (routesync demo); points at an in-process ${kind} emulator${kube ? ' and Kubernetes API emulator' : ''}\n${stringify(doc)}`,
  );
  const config = parseConfigText(stringify(doc), configFile);
  // One line per pass on stdout says what happened; the log (warnings and errors by default, human lines
  // on a terminal) says what went wrong. --log-level info shows every route as it is written.
  const logger = loggerFrom(flags, 'warn');
  const say = (text: string) => process.stdout.write(text);
  const running = await startController(config, logger, { onPass: (r, ms) => say(renderPassLine(r, ms, Date.now())) });

  const where = kube
    ? [
        `routesync demo: ${kind} emulator with ${flags.instances} VMs and a Kubernetes API emulator with a Node for each; inventory and store kubernetes (Nodes, a Lease, podCIDRs), controller running.`,
        `  config:    ${configFile}`,
        `  nodes:     ${kube.nodesCommand}`,
        `  lease:     ${kube.leaseCommand}`,
        `  status:    ${envPrefix(kind)} npx routesync status -c ${configFile}`,
        `  dry run:   ${envPrefix(kind)} npx routesync reconcile -c ${configFile} --dry-run   (a real reconcile is refused while the demo holds the Lease)`,
        `  metrics:   ${running.url}/metrics   (also /status /healthz /readyz)`,
        `  emulators: ${emu.url}/_emulator/state   ${kube.url}/_emulator/state`,
        `VM churn: one VM (and its Node) added or terminated every ${flags.churn} s. Ctrl-C to stop.`,
      ]
    : [
        `routesync demo: ${kind} emulator with ${flags.instances} VMs, file store, controller running.`,
        `  config:    ${configFile}`,
        `  status:    ${envPrefix(kind)} npx routesync status -c ${configFile}`,
        `  dry run:   ${envPrefix(kind)} npx routesync reconcile -c ${configFile} --dry-run   (a real reconcile is refused while the demo holds the lock)`,
        `  metrics:   ${running.url}/metrics   (also /status /healthz /readyz)`,
        `  emulator:  ${emu.url}/_emulator/state`,
        `VM churn: one VM added or terminated every ${flags.churn} s. Ctrl-C to stop.`,
      ];
  process.stdout.write(['', ...where, ''].join('\n'));

  let n = 0;
  const churn = setInterval(() => {
    n++;
    void (async () => {
      try {
        if (n % 2 === 1) {
          const r = await fetch(`${emu.url}/_emulator/instances`, {
            method: 'POST',
            body: JSON.stringify({ count: 1, tags: { [TAG.key]: TAG.value } }),
          });
          if (!r.ok) throw new Error(`emulator answered ${r.status} to adding a VM`);
          const added = ((await r.json()) as { instances?: Array<{ id: string }> }).instances?.[0]?.id;
          // The VM's kubelet registers its Node; the Node watch brings the controller a pass.
          const node = kube && added ? await kube.addNodeFor(emu.url, added) : undefined;
          say(`[${clock()}] churn: added VM ${added ?? ''}${node ? ` (Node ${node})` : ''}\n`);
        } else {
          const state = (await (await fetch(`${emu.url}/_emulator/state`)).json()) as {
            instances: Array<{ id: string; state: string }>;
          };
          const alive = state.instances.filter((i) => i.state === 'running');
          const victim = alive[Math.floor(alive.length / 2)];
          if (victim)
            await fetch(`${emu.url}/_emulator/instances/${encodeURIComponent(victim.id)}`, { method: 'DELETE' });
          // The cloud's node lifecycle controller deletes the Node of a VM that is gone.
          const node = kube && victim ? await kube.removeNodeOf(victim.id) : undefined;
          if (victim) say(`[${clock()}] churn: terminated VM ${victim.id}${node ? ` (Node ${node})` : ''}\n`);
        }
        // Stands in for a cloud event feed: the change signal gets a pass within the debounce window (in
        // Kubernetes mode the Node watch is the signal).
        if (!kube) running.controller.notify('instance set changed');
      } catch (e) {
        logger.warn({ err: (e as Error).message }, 'demo churn failed');
      }
    })();
  }, flags.churn * 1000);

  const stop = () => running.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await running.done;
  clearInterval(churn);
  await kube?.close();
  await emu.close();
  process.stdout.write(`demo stopped; state kept in ${dir}\n`);
  return EXIT.ok;
}

function clock(): string {
  return new Date().toTimeString().slice(0, 8);
}

function configure(cmd: Command): Command {
  withLogFlags(
    cmd
      .description(
        'Run an emulated cloud, the embedded file store and the controller together, with light VM churn (what `npm start` runs); --inventory kubernetes adds a Kubernetes API emulator and runs in Kubernetes mode',
      )
      .option('--provider <kind>', PROVIDER_KINDS.join(', '), 'aliyun')
      .option(
        '--inventory <source>',
        'cloud (VMs by tag, file store) or kubernetes (a Kubernetes API emulator with a Node per VM; inventory.source and store.type kubernetes)',
        'cloud',
      )
      .option('--instances <n>', 'VMs at start', parseIntFlag('--instances', 0, 5000), 40)
      .option('--churn <seconds>', 'add/terminate a VM this often', parseIntFlag('--churn', 1, 3600), 20)
      .option('--dir <path>', 'where to keep config and state (default: a new temp dir)')
      .addHelpText(
        'after',
        '\nNeeds no cloud account and no etcd. With --inventory kubernetes it also needs no cluster: it prints a\nkubectl command (with the kubeconfig it wrote) that shows the Nodes, their podCIDRs and NetworkUnavailable.\n\nExamples:\n  npm start\n  npm start -- --provider gce\n  npm start -- --inventory kubernetes\n  routesync demo --provider aws --instances 100',
      ),
    'warn',
  );
  return cmd;
}

export function register(program: Command): void {
  configure(program.command('demo')).action(action((flags: DemoFlags) => runDemo(flags)));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const program = configure(new Command('routesync-demo')).action(action((flags: DemoFlags) => runDemo(flags)));
  await program.parseAsync(process.argv);
}
