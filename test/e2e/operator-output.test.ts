// What an operator reads from the real CLI (issue 17): request ids on GCE change lines, routes of vanished
// VMs shown as releasing, the quota forecast after a steep climb, plan lines in address order, and the
// progress line while a pass reads and applies.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startEmulator, type RunningEmulator, type StartOptions } from '../../providers/emulator/server.ts';
import { EMULATORS } from '../../providers/registry.ts';
import type { ProviderKind } from '../../providers/types.ts';
import { cliEnv, runCli } from '../helpers/cli.ts';
import { emulatorConfigDoc, TEST_TAG } from '../helpers/clouds.ts';

let emu: RunningEmulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

/** An emulator of `kind` and a config file (file store in a temp dir) pointing at it. */
async function rig(kind: ProviderKind, opts: StartOptions = {}, extra: Record<string, unknown> = {}): Promise<{ emu: RunningEmulator; cfg: string; dir: string }> {
  emu = await startEmulator(EMULATORS[kind], { profile: 'fast', instanceTag: TEST_TAG, ...opts });
  const dir = mkdtempSync(join(tmpdir(), 'routesync-ops-'));
  const cfg = join(dir, 'routesync.yaml');
  writeFileSync(cfg, stringify(emulatorConfigDoc(kind, emu.url, { store: { type: 'file', path: join(dir, 'state.json') }, ...extra })));
  return { emu, cfg, dir };
}

describe('GCE change lines', () => {
  it('carry the operation that made the change as the request id', async () => {
    const { cfg } = await rig('gce', { instances: 2 });
    const r = await runCli(['reconcile', '-c', cfg], { env: cliEnv() });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('✓'));
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l).toMatch(/^✓ cluster-net create 172\.16\.\d+\.0\/24 → \S+ \[operation-[0-9a-f-]+\]$/);
  });
});
