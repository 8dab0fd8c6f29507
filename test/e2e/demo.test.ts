// `npm start` (routesync demo): one line per controller pass on stdout (what changed, quota, duration),
// not a JSON line per route on stderr. The real command, with fast churn so a few passes come quickly.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, cliEnv } from '../../testkit/cli.ts';
import { until } from '../../testkit/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'routesync-demo-test-'));
const PASS =
  /^\[\d\d:\d\d:\d\d\] pass \d+\.\d s: routes: (no changes|[^;]+); (subnets: [^;]+; )?(.+; )?quota rtb-\w+ \d+\/50, rtb-\w+ \d+\/50( — not converged)?$/;
const CHURN = /^\[\d\d:\d\d:\d\d\] churn: (added|terminated) VM i-\w+$/;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('routesync demo', () => {
  it('prints one line per pass and its churn, and logs nothing per route', async () => {
    const child = spawn(
      process.execPath,
      [BIN, 'demo', '--provider', 'aws', '--instances', '4', '--churn', '1', '--dir', dir],
      { env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const passLines = () => stdout.split('\n').filter((l) => / pass \d/.test(l));
      await until('three passes and some churn', () => passLines().length >= 3 && /churn: added/.test(stdout), 60_000);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    const lines = stdout.split('\n');
    const after = lines
      .slice(lines.findIndex((l) => l.startsWith('VM churn:')) + 1)
      .filter((l) => l !== '' && !l.startsWith('demo stopped'));
    for (const l of after) expect(l).toMatch(new RegExp(`${PASS.source}|${CHURN.source}`));
    // The first pass creates a route per VM in each of the two tables, on one line.
    expect(after.find((l) => PASS.test(l))).toMatch(
      /routes: 8 created; subnets: 4 subnets allocated; quota rtb-\w+ 4\/50, rtb-\w+ 4\/50$/,
    );
    expect(stderr).not.toContain('route create applied');
    expect(stderr).not.toContain('"level"');
  }, 90_000);
});
