// The image ships bin/, src/, providers/ and the package files, not emulators/ (Dockerfile). This builds
// that tree in a temp dir (the real files, the repo's node_modules) and runs the CLI from it: every
// command loads, and the two that need the emulators refuse in one line instead of a module-not-found trace.
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../../testkit/cli.ts';

let dir: string;

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(dir, 'bin/routesync.js'), ...args], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'routesync-image-'));
  for (const p of ['bin', 'src', 'providers', 'package.json', 'package-lock.json'])
    cpSync(join(REPO, p), join(dir, p), { recursive: true });
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the image layout (no emulators/)', () => {
  it('loads every command for --help', async () => {
    const r = await run(['--help']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/emulator/);
  });

  it.each([
    ['emulator', ['emulator', '--provider', 'aws', '--port', '0']],
    ['demo', ['demo', '--provider', 'aws']],
  ])('`routesync %s` refuses in one line naming the emulators as a development tool', async (name, args) => {
    const r = await run(args);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      `routesync: ${name}: the cloud emulators are a development tool and are not shipped in this image; run it from a clone of routesync (npm start)`,
    ]);
  });
});
