// Runs the real CLI (bin/routesync.js on the pinned Node) as a child process, for the e2e tests of exit
// codes and stderr. Many runs go through a small pool: each costs a Node start-up, and the machine has 2 cores.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type CredentialSource, emulatorCredentials } from '../providers/plugin.ts';
import { PLUGINS } from '../providers/plugins.ts';

export const REPO = fileURLToPath(new URL('../', import.meta.url));
export const BIN = `${REPO}bin/routesync.js`;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // process.execPath is the Node running vitest: the pinned Node 24 when run through npm/npx.
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? REPO,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Maps over items with at most `limit` in flight. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const CREDENTIALS: readonly CredentialSource[] = Object.values(PLUGINS).flatMap((p) => p.credentials);

/**
 * Dummy credentials for every cloud's SDK chain (what each plug-in lists it reads, set as for an emulator),
 * all naming `client`: the emulators attribute each request to it, and no metadata server is asked.
 */
export function dummyCredentials(client: string): Record<string, string> {
  return emulatorCredentials(CREDENTIALS, client);
}

/**
 * The environment families the clouds' SDK chains read (`AWS_`, `ALIBABA_`, `GOOGLE_`, …: the prefix of
 * each variable a plug-in lists), and routesync's own: a child told apart from its peers inherits none.
 */
const CLOUD_ENV = new RegExp(
  `^(${[...new Set(['ROUTESYNC_', ...CREDENTIALS.flatMap((c) => (c.source === 'env' ? [`${c.name.split('_')[0]}_`] : []))])].join('|')})`,
);

/** Env for a CLI child: dummy credentials, no metadata server, no config from the parent's environment. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.ROUTESYNC_CONFIG;
  delete env.ROUTESYNC_DEBUG;
  return { ...env, ...dummyCredentials('bad-input-test'), ...extra };
}

/**
 * Env for a `routesync run` child that must be told apart from its peers: nothing cloud- or routesync-related
 * inherited from the parent, and dummy credentials naming `client`.
 */
export function controllerEnv(client: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (CLOUD_ENV.test(k)) delete env[k];
  return { ...env, ...dummyCredentials(client) };
}

/**
 * A `routesync run -c configFile` child told apart from its peers as `client` (controllerEnv). Its stderr (the
 * log) goes to `stderr`: a file path, or a function given each chunk; without one it is drained, so a chatty
 * child never blocks on a full pipe.
 */
export function spawnRun(
  configFile: string,
  client: string,
  opts: { stderr?: string | ((chunk: string) => void); cwd?: string } = {},
): ChildProcess {
  const child = spawn(process.execPath, [BIN, 'run', '-c', configFile], {
    ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
    env: controllerEnv(client),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const to = opts.stderr;
  if (typeof to === 'string') child.stderr?.pipe(createWriteStream(to));
  else if (to) child.stderr?.on('data', (d: Buffer) => to(d.toString()));
  else child.stderr?.resume();
  return child;
}
