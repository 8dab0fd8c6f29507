// A short chaos run in the suite: two `routesync run` processes, a real etcd (restarted once), the AWS
// emulator on its realistic profile under 30 % throttling, 5xx, timeouts and resets, three leader SIGKILLs
// mid-apply, VM churn and foreign routes. Every invariant I1–I6 must PASS (bench/chaos/run.ts has the long run).
import { describe, expect, it } from 'vitest';
import { runChaos } from '../../bench/chaos/run.ts';

describe('chaos (short)', () => {
  it('I1–I6 hold through kills, an etcd restart, faults and churn', async () => {
    const minutes = 0.5;
    const stop = new AbortController();
    const hard = setTimeout(() => stop.abort(), (minutes + 1) * 60_000);
    const report = await runChaos({ provider: 'aws', minutes, vms: 24, seed: 11, timeScale: 5 }, stop.signal).finally(
      () => clearTimeout(hard),
    );
    const text = report.lines.join('\n');
    expect(
      report.results.map((r) => r.id),
      text,
    ).toEqual(['I1', 'I2', 'I3', 'I4', 'I5', 'I6']);
    for (const r of report.results) expect(r.pass, text).toBe(true);
    // The chaos really happened: three kills, writes by several leaders, foreign routes in place.
    expect(text).toMatch(/kill #3: SIGKILL leader/);
    // The free-subnet foreign route always goes in; taking over one of our routes needs our route to exist
    // in the last table first, which a 30-second run under load may not reach (the long run and
    // test/e2e/reconcile-clouds.test.ts cover the conflict case).
    expect(report.results.find((r) => r.id === 'I2')?.summary).toMatch(/^[12] foreign routes/);
    expect(report.results.find((r) => r.id === 'I4')?.summary).toMatch(/by [2-9] clients/);
  }, 150_000);
});
