// `reconcile` and `release` campaign briefly before writing. When the campaign times out, the message names
// the leader only if the store says who it is: a store that stopped answering is not "another replica".
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { FileLeadership } from '../../src/store/file/lock.ts';
import type { Leadership } from '../../src/store/types.ts';
import { takeLeadershipOnce } from '../../src/wiring.ts';

function stuck(leader: () => Promise<string | undefined>): Leadership {
  return {
    campaign: (signal) =>
      new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
    isLeader: () => false,
    fence: async () => undefined,
    checkNow: () => undefined,
    resign: async () => undefined,
    leader,
    onLost: () => undefined,
    close: async () => undefined,
  };
}

describe('takeLeadershipOnce', () => {
  it('names the leader the store knows', async () => {
    await expect(
      takeLeadershipOnce(
        stuck(async () => 'host-a/42'),
        20,
      ),
    ).rejects.toThrow('could not take leadership within 20 ms: host-a/42 leads; stop it or use that replica');
  });

  it('says the store stopped answering instead of "another replica leads"', async () => {
    const err = await takeLeadershipOnce(
      stuck(async () => Promise.reject(new Error('4 DEADLINE_EXCEEDED: Deadline exceeded'))),
      20,
    ).catch((e: Error) => e);
    expect(String(err)).toMatch(
      /could not take leadership within 20 ms: the store stopped answering \(4 DEADLINE_EXCEEDED/,
    );
    expect(String(err)).not.toMatch(/another replica/);
  });

  it('says nobody holds it when the store knows no leader', async () => {
    const err = await takeLeadershipOnce(
      stuck(async () => undefined),
      20,
    ).catch((e: Error) => e);
    expect(String(err)).toMatch(/no replica holds it: the store is slow or unreachable/);
    expect(String(err)).not.toMatch(/another replica/);
  });

  it('fails at once naming the holder when the file lock is taken, without waiting out the timeout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'routesync-take-'));
    const path = join(dir, 'state.json.lock');
    const holder = new FileLeadership({ path, logger: silentLogger });
    try {
      await holder.tryAcquire();
      const err = await takeLeadershipOnce(new FileLeadership({ path, logger: silentLogger }), 60_000).catch(
        (e: Error) => e,
      );
      expect(String(err)).toMatch(
        new RegExp(`store lock ${path} is held by pid ${process.pid} .*\\(a routesync run holds this state file\\)$`),
      );
    } finally {
      await holder.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
