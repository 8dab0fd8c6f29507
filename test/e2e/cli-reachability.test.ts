// A cloud that cannot be reached or credentials that are not there: the real CLI fails within seconds with
// one line saying what to set or check, exit 1, and never asks a metadata server when provider.endpoint is
// on loopback (issue 12 item 8, issue 17 items 3 and 4). The "metadata server" here is a tripwire on
// 127.0.0.1 that the SDK chains are pointed at through their own environment variables.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli, type CliResult } from '../../testkit/cli.ts';
import { freePort } from '../../testkit/etcd.ts';

let dir: string;
let tripwire: Server;
let tripwireUrl: string;
let hits: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'routesync-reach-'));
  tripwire = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => tripwire.listen(0, '127.0.0.1', r));
  tripwireUrl = `http://127.0.0.1:${(tripwire.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((r) => (tripwire ? tripwire.close(() => r()) : r()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** No credentials of any cloud, a home without SDK config files, and every metadata lookup aimed at the tripwire. */
function bareEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!/^(AWS_|ALIBABA_CLOUD_|GOOGLE_|GCE_|ROUTESYNC_|CLOUDSDK_)/.test(k)) env[k] = v;
  const host = tripwireUrl.replace('http://', '');
  return {
    ...env,
    HOME: dir,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: tripwireUrl,
    GCE_METADATA_HOST: host,
    GCE_METADATA_IP: host,
    ...extra,
  };
}

function config(name: string, provider: Record<string, unknown>): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    stringify({ cluster: 'reach', clusterCIDR: '10.244.0.0/16', provider, store: { type: 'memory' } }),
  );
  return file;
}

const aws = (endpoint?: string) => ({
  type: 'aws',
  region: 'us-east-1',
  vpcId: 'vpc-1',
  ...(endpoint ? { endpoint } : {}),
});
const gce = (endpoint?: string) => ({
  type: 'gce',
  project: 'p',
  network: 'default',
  ...(endpoint ? { endpoint } : {}),
});

function oneLine(r: CliResult): string {
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines, r.stderr).toHaveLength(1);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  return lines[0] as string;
}

describe('no credentials', () => {
  it('GCE, loopback endpoint: one line naming ROUTESYNC_GCE_ACCESS_TOKEN, exit 1, no metadata lookup, no request', async () => {
    hits = [];
    const file = config('gce-loopback', gce(tripwireUrl));
    for (const cmd of [['status'], ['reconcile', '--dry-run'], ['reconcile', '--yes']]) {
      const r = await runCli([...cmd, '-c', file], { env: bareEnv(), cwd: dir });
      expect(r.code, r.stderr).toBe(1);
      expect(oneLine(r)).toMatch(
        /^routesync: no GCE credentials for provider\.endpoint http:\/\/127\.0\.0\.1:\d+: .*set ROUTESYNC_GCE_ACCESS_TOKEN/,
      );
    }
    expect(hits).toEqual([]);
  });

  it('GCE, Google endpoint: after the metadata server said no, one line naming what to set, exit 1, no stack trace', async () => {
    hits = [];
    const r = await runCli(['status', '-c', config('gce-real', gce())], { env: bareEnv(), cwd: dir });
    expect(r.code, r.stderr).toBe(1);
    expect(oneLine(r)).toBe(
      'routesync: no GCE credentials found: set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, run on GCE/GKE with a service account (Workload Identity), or set ROUTESYNC_GCE_ACCESS_TOKEN',
    );
    // Only the metadata server (the tripwire) was asked; nothing was sent to Compute without credentials.
    expect(
      hits.every((h) => h.includes('/computeMetadata/')),
      hits.join(', '),
    ).toBe(true);
  });

  it('AWS, loopback endpoint: one line naming AWS_ACCESS_KEY_ID, exit 1, and the instance metadata service is never asked', async () => {
    hits = [];
    const file = config('aws-loopback', aws(tripwireUrl));
    for (const cmd of [['status'], ['reconcile', '--yes'], ['run']]) {
      const r = await runCli([...cmd, '-c', file], { env: bareEnv(), cwd: dir });
      expect(r.code, r.stderr).toBe(1);
      expect(oneLine(r)).toMatch(
        /^routesync: no AWS credentials for provider\.endpoint http:\/\/127\.0\.0\.1:\d+: .*set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/,
      );
    }
    expect(hits).toEqual([]);
  });

  it('AWS, real endpoint: the SDK chain ends in one line instead of its error and the safety valve, exit 1', async () => {
    const r = await runCli(['status', '-c', config('aws-real', aws())], { env: bareEnv(), cwd: dir });
    expect(r.code, r.stderr).toBe(1);
    expect(oneLine(r)).toMatch(
      /^routesync: no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE/,
    );
  });
});

describe('an unreachable endpoint', () => {
  it('status and reconcile fail within seconds with one line naming the endpoint, and never say deletes are held', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const file = config('unreachable', aws(url));
    const env = bareEnv({ AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' });
    for (const cmd of [['status'], ['status', '-o', 'json'], ['reconcile', '--dry-run'], ['reconcile', '--yes']]) {
      // Today's retries took ~27 s; the bound of the first look is 3 s.
      const r = await runCli([...cmd, '-c', file], { env, cwd: dir, timeoutMs: 12_000 });
      expect(r.code, `${cmd.join(' ')}: ${r.stderr}`).toBe(1);
      expect(oneLine(r)).toBe(`routesync: cannot reach ${url} (ECONNREFUSED): is provider.endpoint right?`);
      expect(r.stderr).not.toMatch(/held/);
      expect(r.stdout).toBe('');
    }
  });
});
