// What a leader's Lease costs the API server at rest (src/kubernetes/lease.ts): one update per retryPeriod,
// no read before it — client-go's fast path for the leader — and still the full round (read, then decide)
// when the record changed under it: a Lease someone else wrote is a 409 on the fast update, never overwritten.
// Counted in the API emulator's request log.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeconfigFor } from '../../emulators/kubernetes/kubeconfig.ts';
import { findResource } from '../../emulators/kubernetes/resources.ts';
import { startKubeEmulator, type RunningKubeEmulator } from '../../emulators/kubernetes/server.ts';
import type { Obj } from '../../emulators/kubernetes/status.ts';
import { openKubeClient } from '../../src/kubernetes/client.ts';
import { LeaseLeadership } from '../../src/kubernetes/lease.ts';
import { silentLogger } from '../../src/log.ts';
import { until } from '../../testkit/wait.ts';

const NS = 'routesync';
let emu: RunningKubeEmulator;
let dir: string;
const LEASES = findResource('coordination.k8s.io', 'v1', 'leases')!;

beforeAll(async () => {
  emu = await startKubeEmulator();
  dir = mkdtempSync(join(tmpdir(), 'k8s-lease-calls-'));
});
afterAll(async () => {
  await emu?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const calls = (client: string, action: string, outcome = 'ok') =>
  emu.counters.snapshot().byClient[client]?.[action]?.[outcome] ?? 0;

describe('Lease calls of a leader at rest', () => {
  it('renews with one update per retry period and no read; a record changed meanwhile is read, then renewed', async () => {
    const path = join(dir, 'kc');
    writeFileSync(path, kubeconfigFor(emu.url, { token: 'leader' }));
    const a = new LeaseLeadership({
      kube: await openKubeClient({ kubeconfig: path, env: {} }),
      namespace: NS,
      name: 'calls',
      identity: 'a',
      leaseDurationMs: 3_000,
      renewDeadlineMs: 2_000,
      retryPeriodMs: 100,
      logger: silentLogger,
    });
    try {
      await a.campaign(new AbortController().signal);
      const gets0 = calls('leader', 'get:leases');
      const updates0 = calls('leader', 'update:leases');
      await until('10 renewals', () => calls('leader', 'update:leases') >= updates0 + 10, 10_000);
      expect(calls('leader', 'get:leases')).toBe(gets0);
      expect(a.isLeader()).toBe(true);

      // Someone else writes the Lease (an annotation: still a's): the fast update is a 409, the full round
      // reads it and renews on top of it; a keeps the lead and nothing it did not read is overwritten.
      const cur = emu.registry.get(LEASES, NS, 'calls');
      emu.registry.update(
        LEASES,
        NS,
        'calls',
        { ...cur, metadata: { ...(cur.metadata as Obj), annotations: { 'example.com/who': 'ops' } } },
        undefined,
      );
      const gets1 = calls('leader', 'get:leases');
      await until('a read after the conflict', () => calls('leader', 'get:leases') > gets1, 5_000);
      expect(calls('leader', 'update:leases', 'Conflict')).toBe(1);
      const updates1 = calls('leader', 'update:leases');
      await until('renewals again', () => calls('leader', 'update:leases') >= updates1 + 3, 5_000);
      expect(a.isLeader()).toBe(true);
      const lease = emu.registry.get(LEASES, NS, 'calls') as { metadata: Obj; spec: { holderIdentity: string } };
      expect(lease.spec.holderIdentity).toBe('a');
      expect((lease.metadata.annotations as Obj)['example.com/who']).toBe('ops');
      // Back on the fast path: one read for the one conflict.
      expect(calls('leader', 'get:leases')).toBe(gets1 + 1);
    } finally {
      await a.resign();
    }
  });
});
