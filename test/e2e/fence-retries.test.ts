// I4 on every cloud: the fence runs before every attempt of a write, retries included, not once per call.
// A write refused with a 5xx is retried after its backoff; a fence that has started refusing meanwhile (a
// leader resumed from a pause past its lease) must stop that retry before it is sent.
import { afterEach, describe, expect, it } from 'vitest';
import { PROVIDER_KINDS, type ProviderKind } from '../../providers/plugins.ts';
import { FencedError } from '../../providers/types.ts';
import { VOCABULARIES } from '../../emulators/clouds.ts';
import { startCloud, type CloudFixture } from '../../testkit/clouds.ts';

describe.each(PROVIDER_KINDS.map((k) => [k] as [ProviderKind]))('fence before every write attempt: %s', (kind) => {
  let f: CloudFixture | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  it('a retry of a refused write is fenced again, and not sent once the fence refuses', async () => {
    const cloud = await startCloud(kind);
    f = cloud;
    await cloud.admin('POST', 'instances', { count: 1 });
    const [vm] = (await cloud.provider.listInstances(AbortSignal.timeout(30_000))).filter((i) => i.state === 'running');
    const [table] = await cloud.provider.routeTables(AbortSignal.timeout(30_000));
    if (!vm || !table) throw new Error('emulator has no VM or no table');
    // The first write of each kind is refused (retryable 5xx).
    await cloud.admin('POST', 'faults', {
      rules: VOCABULARIES[kind].writes.map((action) => ({ action, rate: 1, count: 1, error: '5xx' })),
    });
    let fences = 0;
    // Leads until the first write has been answered: what a leader paused during that write's backoff sees.
    const fence = async () => {
      fences++;
      if ((await cloud.writes()) > 0) throw new Error('leadership lost: lease deadline passed');
    };
    const res = await cloud.provider.apply(
      table,
      [{ op: 'create', table: table.id, destination: '172.16.0.0/24', target: vm.id, reason: 'test' }],
      {
        signal: AbortSignal.timeout(30_000),
        fence,
      },
    );
    expect(res.map((r) => r.outcome)).not.toContain('applied');
    // Every provider says "lost leadership" the same way: skipped, with the one FencedError.
    expect(res[0]?.outcome).toBe('skipped');
    expect(res[0]?.error).toBeInstanceOf(FencedError);
    // One write was sent (and refused); its retry met the fence and was never sent.
    expect(await cloud.writes()).toBe(1);
    expect(fences).toBeGreaterThanOrEqual(2);
    const routes = await cloud.provider.listRoutes(table, AbortSignal.timeout(30_000));
    expect(routes.some((r) => r.destination === '172.16.0.0/24')).toBe(false);
  });
});
