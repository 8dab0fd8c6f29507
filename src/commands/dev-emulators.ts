// The cloud emulators for `routesync emulator` and `demo`, loaded when one of those commands runs. They are
// a development tool: the image ships no emulators/ (Dockerfile), so the specifier is a variable, which
// keeps every other command (and `--help`) free of them and lets a missing tree be named in one line.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type * as Clouds from '../../emulators/clouds.ts';
import type * as KubeNodes from '../../emulators/kubernetes/nodes.ts';
import type * as KubeServer from '../../emulators/kubernetes/server.ts';
import { UsageError } from './common.ts';

const CLOUDS_MODULE = '../../emulators/clouds.ts';
const KUBE_MODULES = ['../../emulators/kubernetes/server.ts', '../../emulators/kubernetes/nodes.ts'] as const;

export type CloudEmulators = typeof Clouds;
export type KubeEmulator = typeof KubeServer & typeof KubeNodes;

function missing(command: string): UsageError {
  return new UsageError(
    `${command}: the cloud emulators are a development tool and are not shipped in this image; run it from a clone of routesync (npm start)`,
  );
}

export async function loadCloudEmulators(command: string): Promise<CloudEmulators> {
  const url = new URL(CLOUDS_MODULE, import.meta.url);
  if (!existsSync(fileURLToPath(url))) throw missing(command);
  return (await import(url.href)) as CloudEmulators;
}

/** The Kubernetes API emulator (emulators/kubernetes/): its server and the Nodes for a cloud emulator's VMs. */
export async function loadKubeEmulator(command: string): Promise<KubeEmulator> {
  const urls = KUBE_MODULES.map((m) => new URL(m, import.meta.url));
  if (urls.some((u) => !existsSync(fileURLToPath(u)))) throw missing(command);
  const [server, nodes] = await Promise.all(urls.map((u) => import(u.href)));
  return { ...(server as typeof KubeServer), ...(nodes as typeof KubeNodes) };
}
