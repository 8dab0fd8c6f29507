import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type { Profile } from '../../emulators/shared/profile.ts';
import { PROVIDER_KINDS, type ProviderKind } from '../../providers/plugins.ts';
import { action, parseIntFlag, UsageError, withLogFlags } from './common.ts';
import { loadCloudEmulators } from './dev-emulators.ts';
import { bannerLines, emulatorConfigText } from './emulator-config.ts';

interface EmulatorFlags {
  provider: ProviderKind;
  host: string;
  port: number;
  instances: number;
  routeQuota?: number;
  timeScale: number;
  seed: number;
  profile: Profile;
  tag: string;
  mirrorNetns?: string;
  /** true: the config on stdout (the banner goes to stderr); a path: the config written there. */
  printConfig?: string | true;
}

/**
 * The emulators' profile names (emulators/shared/profile.ts `PROFILE_NAMES`, held equal by a test): listed
 * here because `--help` names them without loading the emulators, which the image does not ship.
 */
export const EMULATOR_PROFILES: readonly Profile[] = ['realistic', 'fast'];

function parseScale(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 10_000)
    throw new UsageError(`--time-scale: "${v}" must be a number in (0, 10000]`);
  return n;
}

function parseTag(v: string): string {
  if (!/^[^=\s]+=[^=\s]*$/.test(v)) throw new UsageError(`--tag: "${v}" must be key=value`);
  return v;
}

/** One line per distinct mirror failure (a missing namespace would otherwise repeat every 100 ms). */
function mirrorError(): (e: Error) => void {
  let last = '';
  return (e) => {
    if (e.message !== last) process.stderr.write(`routesync: route mirror: ${e.message}\n`);
    last = e.message;
  };
}

export function register(program: Command): void {
  const cmd = program
    .command('emulator')
    .description("Serve a wire-level emulator of one cloud's route API on loopback, for rehearsals and tests")
    .addOption(new Option('--provider <cloud>', 'cloud to emulate').choices(PROVIDER_KINDS).makeOptionMandatory())
    .option('--host <addr>', 'address to bind', '127.0.0.1')
    .option('--port <n>', 'port (0 = any free port)', parseIntFlag('--port', 0, 65535), 0)
    .option('--instances <n>', 'tagged VMs to create at start', parseIntFlag('--instances', 0, 100_000), 0)
    .option(
      '--route-quota <n>',
      "route entries per table (GCE: per project); default: the cloud's documented default",
      parseIntFlag('--route-quota', 1, 100_000),
    )
    .option('--time-scale <x>', 'emulated seconds per real second (async states, rate-limit refills)', parseScale, 1)
    .option('--seed <s>', 'seed for fault injection and generated ids', parseIntFlag('--seed', 0, 2 ** 31 - 1), 1)
    .addOption(
      new Option(
        '--profile <p>',
        'latencies, limits, quotas and settle times (emulators/<cloud>/profile.ts): the published ones, or tiny ones for tests',
      )
        .choices(EMULATOR_PROFILES)
        .default('realistic'),
    )
    .option('--tag <key=value>', 'tag/label the seeded VMs carry', parseTag, 'routesync-cluster=demo')
    .option(
      '--mirror-netns <name>',
      "make the route table real: mirror its routes into this network namespace's kernel routes (root)",
    )
    .option(
      '--print-config [file]',
      'write a routesync config that works against this emulator to FILE, or to stdout (the banner then goes to stderr)',
    );
  // The emulator logs nothing today; the flags are accepted so every command takes the same ones.
  withLogFlags(cmd, 'warn')
    .addHelpText(
      'after',
      [
        '',
        'Admin API on the same port: GET /_emulator/state, POST /_emulator/instances {"count":N},',
        'DELETE /_emulator/instances/ID, POST|DELETE /_emulator/routes, POST /_emulator/quota {"limit":N},',
        'POST|DELETE /_emulator/faults {"rate":0.3,"error":"throttle"}, GET /_emulator/requests.',
        "Each VM's metadata service (for routesync agent): /_metadata/INSTANCE_ID/… (AWS IMDSv2, GCE, Aliyun paths).",
        'AWS: every third VM has two network interfaces (admin body "networkInterfaces":N sets it); routes take',
        '"propagated":true, IPv6 and pl-… destinations ("maxEntries":N); GetServiceQuota has no applied value',
        'until POST /_emulator/quota (or --route-quota).',
        '',
        'The banner names what a config needs (region, VPC id or project + network, route tables, the',
        'instance filter, accepted credentials); GET /_emulator/state has the same under "topology".',
        '',
        'Examples:',
        '  routesync emulator --provider aws --port 8787 --instances 40',
        '  routesync emulator --provider gce --instances 10 --print-config rs.yaml   # then: ROUTESYNC_GCE_ACCESS_TOKEN=local routesync reconcile -c rs.yaml --dry-run',
        '  routesync emulator --provider aliyun --route-quota 50 --time-scale 10 --profile realistic',
      ].join('\n'),
    )
    .action(
      action(async (f: EmulatorFlags) => {
        if (!['127.0.0.1', 'localhost', '::1'].includes(f.host) && !process.env.ROUTESYNC_EMULATOR_ANY_HOST) {
          // Emulators accept unsigned requests; binding them beyond loopback is almost never intended.
          throw new UsageError(
            `--host: ${f.host} is not a loopback address (set ROUTESYNC_EMULATOR_ANY_HOST=1 to allow)`,
          );
        }
        const [key, value] = f.tag.split('=') as [string, string];
        const { startEmulator, EMULATOR_PLUGINS } = await loadCloudEmulators('emulator');
        const plugin = EMULATOR_PLUGINS[f.provider];
        const emu = await startEmulator(plugin.create, {
          host: f.host,
          port: f.port,
          instances: f.instances,
          timeScale: f.timeScale,
          seed: f.seed,
          profile: f.profile,
          instanceTag: { key, value },
          ...(f.routeQuota !== undefined ? { routeQuota: f.routeQuota } : {}),
          ...(f.mirrorNetns !== undefined ? { mirror: { netns: f.mirrorNetns, onError: mirrorError() } } : {}),
        });
        const d = emu.describe();
        let configNote = `routesync emulator … --print-config [FILE] writes one`;
        let toStdout: string | undefined;
        if (f.printConfig === true) {
          toStdout = emulatorConfigText(d, plugin, join('.routesync', `${f.provider}-emulator.json`));
          configNote = 'on stdout';
        } else if (typeof f.printConfig === 'string') {
          const file = resolve(f.printConfig);
          try {
            writeFileSync(
              file,
              emulatorConfigText(d, plugin, join(dirname(file), `${f.provider}-emulator-state.json`)),
            );
          } catch (e) {
            await emu.close();
            throw new UsageError(
              `--print-config: cannot write ${f.printConfig}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
            );
          }
          configNote = `written to ${file}`;
        }
        const state = emu.cloud.admin.state() as { instances?: unknown[]; tables?: Array<{ quota?: number }> };
        const quota = state.tables?.[0]?.quota;
        const banner = [
          `routesync ${f.provider} emulator listening on ${emu.url}`,
          ...bannerLines(
            d,
            plugin,
            { instances: state.instances?.length ?? 0, ...(quota !== undefined ? { quota } : {}) },
            configNote,
          ),
        ].join('\n');
        // With the config on stdout, stdout stays pure YAML (`> routesync.yaml`) and the banner moves to stderr.
        if (toStdout !== undefined) {
          process.stderr.write(`${banner}\n`);
          process.stdout.write(toStdout);
        } else process.stdout.write(`${banner}\n`);
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        await emu.close();
        return 0;
      }),
    );
}
