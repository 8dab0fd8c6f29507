// The agent's "who am I" against each cloud emulator's metadata service (the real client code path:
// IMDSv2's token flow, GCE's Metadata-Flavor header, Aliyun's plain paths), on 127.0.0.1 only.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { whoAmI, type Cloud } from '../../src/agent/identity.ts';
import { startEmulator, type RunningEmulator } from '../../emulators/shared/server.ts';
import { EMULATORS } from '../../emulators/clouds.ts';
import { PROVIDER_KINDS } from '../../providers/plugins.ts';

const CLOUDS: readonly Cloud[] = PROVIDER_KINDS;

describe.each(CLOUDS)('metadata identity: %s', (cloud) => {
  let emu: RunningEmulator;
  let ids: string[];
  beforeAll(async () => {
    emu = await startEmulator(EMULATORS[cloud], { instances: 2 });
    ids = (emu.cloud.admin.state() as { instances: Array<{ id: string }> }).instances.map((i) => i.id);
  });
  afterAll(() => emu?.close());

  it('each VM learns its own instance id', async () => {
    for (const id of ids) {
      expect(await whoAmI({ cloud, source: 'metadata', endpoint: `${emu.url}/_metadata/${id}`, timeoutMs: 2000 })).toBe(
        id,
      );
    }
  });

  it('a VM that is gone has no metadata service: a clear error naming the URL', async () => {
    await expect(
      whoAmI({ cloud, source: 'metadata', endpoint: `${emu.url}/_metadata/i-nope`, timeoutMs: 2000 }),
    ).rejects.toThrow(/metadata service http:\/\/127\.0\.0\.1:\d+\/_metadata\/i-nope\/.*HTTP 404/);
  });

  it('the emulator holds clients to the cloud rules (token / header)', async () => {
    const base = `${emu.url}/_metadata/${ids[0]}`;
    if (cloud === 'aws') {
      expect((await fetch(`${base}/latest/meta-data/instance-id`)).status).toBe(401);
      expect((await fetch(`${base}/latest/api/token`, { method: 'PUT' })).status).toBe(400);
    } else if (cloud === 'gce') {
      const res = await fetch(`${base}/computeMetadata/v1/instance/name`);
      expect(res.status).toBe(403);
      expect(res.headers.get('metadata-flavor')).toBe('Google');
    } else {
      expect(await (await fetch(`${base}/latest/meta-data/instance-id`)).text()).toBe(ids[0]);
    }
  });
});

describe('metadata failures', () => {
  let silent: Server;
  let port: number;
  beforeAll(async () => {
    // Accepts and never answers: a metadata service that hangs.
    silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    port = (silent.address() as AddressInfo).port;
  });
  afterAll(() => {
    silent.closeAllConnections();
    return new Promise<void>((r) => silent.close(() => r()));
  });

  it('a service that does not answer fails within the timeout', async () => {
    const t0 = Date.now();
    await expect(
      whoAmI({ cloud: 'aliyun', source: 'metadata', endpoint: `http://127.0.0.1:${port}`, timeoutMs: 300 }),
    ).rejects.toThrow(/no answer within 300 ms/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('nothing listening is ECONNREFUSED in one line', async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const free = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    await expect(
      whoAmI({ cloud: 'gce', source: 'metadata', endpoint: `http://127.0.0.1:${free}`, timeoutMs: 1000 }),
    ).rejects.toThrow(/ECONNREFUSED/);
  });

  it('an answer that is not an id is refused', async () => {
    const s = createServer((_req, res) => res.end('<html>captive portal</html>'));
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    try {
      await expect(
        whoAmI({
          cloud: 'aliyun',
          source: 'metadata',
          endpoint: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
          timeoutMs: 1000,
        }),
      ).rejects.toThrow(/not an instance id/);
    } finally {
      await new Promise<void>((r) => s.close(() => r()));
    }
  });

  it.each(CLOUDS)('an empty answer (%s) is refused, naming the URL it came from', async (cloud) => {
    // 200 with an empty body, to the token PUT and the reads alike: no id is not an id of "".
    const s = createServer((_req, res) => res.end(''));
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    try {
      await expect(whoAmI({ cloud, source: 'metadata', endpoint: base, timeoutMs: 1000 })).rejects.toThrow(
        new RegExp(`^metadata service ${base}/\\S+: empty answer$`),
      );
    } finally {
      await new Promise<void>((r) => s.close(() => r()));
    }
  });

  it('Kubernetes mode takes the Node name from NODE_NAME', async () => {
    expect(
      await whoAmI({
        cloud: 'aws',
        source: 'kubernetes',
        timeoutMs: 1,
        env: { NODE_NAME: 'ip-10-0-1-5.ec2.internal' },
      }),
    ).toBe('ip-10-0-1-5.ec2.internal');
    await expect(whoAmI({ cloud: 'aws', source: 'kubernetes', timeoutMs: 1, env: {} })).rejects.toThrow(
      /NODE_NAME is not set/,
    );
  });
});
