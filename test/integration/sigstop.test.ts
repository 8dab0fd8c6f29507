// I4, a deposed leader: two `routesync run` processes on a real etcd; the leader is SIGSTOPped during its
// apply, while a refused write (50 % 5xx) waits out its retry backoff, for 3× electionTTL. The standby takes
// over and writes; then the old leader is SIGCONTed into its overdue timers. From the emulator's request
// log: not one write of the old leader arrived after the new leader's first write (nor after the SIGCONT).
// Two rounds per cloud here; `node bench/sigstop.ts --rounds 10` is the long run.
import { describe, expect, it } from 'vitest';
import { sigstop } from '../../bench/sigstop.ts';
import { PROVIDER_KINDS, type ProviderKind } from '../../providers/plugins.ts';

describe.each(PROVIDER_KINDS.map((k) => [k] as [ProviderKind]))('SIGSTOPped leader: %s', (provider) => {
  it('writes nothing once its lease has passed to the standby', async () => {
    const rounds = await sigstop({
      provider,
      rounds: 2,
      ttlS: 2,
      vms: 40,
      timeScale: 5,
      faultRate: 0.5,
      stopAfter: 1,
      seed: 1,
    });
    for (const r of rounds) {
      const what = JSON.stringify(r);
      // The scenario happened: the lease passed to the standby, which wrote while the old leader was stopped.
      // (On a starved machine the new leader may lose the lease in turn and the old one lead again: its
      // writes from then on are a leader's, and the round counts only those made while it was deposed.)
      const [old, ...next] = r.leadersAfterStop;
      expect(
        next.some((l) => l.startsWith('ctl-') && l !== old),
        what,
      ).toBe(true);
      expect(r.newWroteWhileStopped, what).toBe(true);
      expect(r.oldWritesAfterNewFirst, what).toBe(0);
      expect(r.oldWritesAfterCont, what).toBe(0);
    }
  }, 120_000);
});
