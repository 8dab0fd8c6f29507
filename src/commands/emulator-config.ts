// The config `routesync emulator --print-config` writes, and the banner that tells what the emulator is:
// both from the emulator's own description, so they cannot drift from the ids it serves, and from its
// descriptor (emulators/<cloud>/index.ts: which ids a config names, how the banner shows them, the quota's scope).
import { stringify } from 'yaml';
import type { EmulatorPlugin } from '../../emulators/shared/plugin.ts';
import type { EmulatorDescription } from '../../emulators/shared/server.ts';
import { parseConfigText } from '../config.ts';

/** The cluster name the tag implies when it is the default `routesync-cluster=<name>` tag; else `local`. */
function clusterOf(instanceFilter: string): string {
  const [key, value = ''] = instanceFilter.split('=');
  return key === 'routesync-cluster' && /^[a-z]([a-z0-9-]*[a-z0-9])?$/.test(value) && value.length <= 26
    ? value
    : 'local';
}

/** Shell assignments of the credentials, for a command line. */
export function credentialsLine(d: EmulatorDescription): string {
  return Object.entries(d.credentials)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** What of its descriptor the banner and the config take. */
export type EmulatorPresentation = Pick<EmulatorPlugin, 'configIds' | 'bannerIds' | 'vocabulary'>;

/**
 * A config for `routesync run` / `reconcile` against the emulator: its ids, endpoint and instance filter,
 * the file store at `storePath`, a short interval. Checked against the schema before it is handed out.
 */
export function emulatorConfigText(d: EmulatorDescription, p: EmulatorPresentation, storePath: string): string {
  const provider: Record<string, unknown> = {
    type: d.provider,
    ...Object.fromEntries(p.configIds.map((k) => [k, d[k]])),
    endpoint: d.endpoint,
    instanceFilter: d.instanceFilter,
  };
  const doc = {
    cluster: clusterOf(d.instanceFilter),
    // Outside every emulated VPC / network range (Aliyun 192.168.0.0/16, AWS 10.0.0.0/16, GCE 10.128.0.0/16).
    clusterCIDR: '172.16.0.0/16',
    provider,
    store: { type: 'file', path: storePath },
    reconcile: { interval: '15s', releaseAfter: '1m', reuseAfter: '2m' },
    metrics: { listen: '127.0.0.1:9464' },
  };
  const text = [
    `# routesync against the ${d.provider} emulator at ${d.endpoint} (written by \`routesync emulator --print-config\`).`,
    `# The emulator accepts ${d.credentialsRule}; the SDK needs some set:`,
    `#   ${credentialsLine(d)} npx routesync reconcile -c THIS_FILE --dry-run`,
    `# Route tables it serves: ${d.tables.join(', ')} (discovered; provider.routeTableIds may name them).`,
    stringify(doc),
  ].join('\n');
  parseConfigText(text, 'emulator config');
  return text;
}

/** The lines after `… emulator listening on URL`: everything a config needs, and how to get one. */
export function bannerLines(
  d: EmulatorDescription,
  p: EmulatorPresentation,
  counts: { instances: number; quota?: number },
  configNote: string,
): string[] {
  const quota = counts.quota === undefined ? '' : `; route quota ${counts.quota} per ${p.vocabulary.quotaScope}`;
  return [
    ...p.bannerIds(d),
    `  VMs:         ${counts.instances} tagged ${d.instanceFilter} (provider.instanceFilter)${quota}`,
    `  credentials: ${d.credentialsRule}, e.g. ${credentialsLine(d)}`,
    `  config:      ${configNote}`,
    `  state:       ${d.endpoint}/_emulator/state (this topology, VMs, routes, quotas)`,
  ];
}
