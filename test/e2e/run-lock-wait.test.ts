// A second `routesync run` on a file store waits for the lock: it must say so, naming who holds it, once
// when it starts waiting (and then only every minute), not silently and not once per poll.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startEmulator, type RunningEmulator } from '../../emulators/shared/server.ts';
import { EMULATORS } from '../../emulators/clouds.ts';
import { BIN, cliEnv } from '../../testkit/cli.ts';
import { emulatorConfigDoc, TEST_TAG } from '../../testkit/clouds.ts';
import { until } from '../../testkit/wait.ts';

const children: ChildProcess[] = [];
let emu: RunningEmulator | undefined;
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await gone;
    }
  }
  await emu?.close();
  emu = undefined;
});

function run(cfg: string): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, [BIN, 'run', '-c', cfg], {
    env: cliEnv(),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return { child, stderr: () => err };
}

describe('routesync run on a file store held by another run', () => {
  it('says who holds the lock (pid, host, since) and that it waits, once rather than every poll', async () => {
    emu = await startEmulator(EMULATORS.aws, { profile: 'fast', instances: 2, instanceTag: TEST_TAG });
    const dir = mkdtempSync(join(tmpdir(), 'routesync-lockwait-'));
    const doc = (port: number) =>
      emulatorConfigDoc('aws', emu!.url, {
        store: { type: 'file', path: join(dir, 'state.json') },
        metrics: { listen: `127.0.0.1:${port}` },
      });
    writeFileSync(join(dir, 'a.yaml'), stringify(doc(0)));
    writeFileSync(join(dir, 'b.yaml'), stringify(doc(0)));
    const a = run(join(dir, 'a.yaml'));
    await until(
      'the first run to hold the lock',
      () => {
        try {
          return (
            (JSON.parse(readFileSync(join(dir, 'state.json.lock'), 'utf8')) as { pid: number }).pid === a.child.pid
          );
        } catch {
          return false;
        }
      },
      20_000,
    );
    const b = run(join(dir, 'b.yaml'));
    const line = await until(
      'the second run to say it waits',
      () =>
        b
          .stderr()
          .split('\n')
          .find((l) => /held by pid/.test(l)),
      20_000,
    );
    expect(line).toContain(`pid ${a.child.pid} on ${hostname()} since 20`);
    expect(line).toMatch(/waiting/);
    // Several polls (one a second) later it has not repeated itself.
    await new Promise((r) => setTimeout(r, 3500));
    expect(
      b
        .stderr()
        .split('\n')
        .filter((l) => /held by pid/.test(l)),
    ).toHaveLength(1);
    // And once the holder stops, it takes over.
    a.child.kill('SIGTERM');
    await until('the second run to take the lock', () => /took store lock/.test(b.stderr()), 20_000);
  }, 60_000);
});
