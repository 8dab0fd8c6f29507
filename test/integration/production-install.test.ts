// What the Docker runtime stage does, without Docker: only the shipped files plus `npm ci --omit=dev`,
// then the CLI must start. Catches a runtime import of a dev dependency, a file outside bin/src/providers
// that the code needs, or a lockfile out of step with package.json.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SHIPPED = ['package.json', 'package-lock.json', 'bin', 'src', 'providers'];

let dir: string;
let install: ReturnType<typeof spawnSync>;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'routesync-prod-'));
  for (const p of SHIPPED) cpSync(join(ROOT, p), join(dir, p), { recursive: true });
  install = spawnSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, NODE_ENV: 'production' },
    timeout: 240_000,
  });
}, 300_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('production install (what the Docker runtime stage ships)', () => {
  it('npm ci --omit=dev succeeds from the lockfile', () => {
    expect(install.error).toBeUndefined();
    expect(install.status, String(install.stderr)).toBe(0);
  });

  it('installs no dev dependency', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    expect(existsSync(join(dir, 'node_modules'))).toBe(true);
    for (const name of ['vitest', 'typescript', 'fast-check'])
      expect(existsSync(join(dir, 'node_modules', name)), name).toBe(false);
    // The pinned `node` package is a dev dependency too: in the image the base image provides Node.
    expect(existsSync(join(dir, 'node_modules', 'node', 'package.json')), 'node').toBe(false);
    for (const name of Object.keys(pkg.dependencies))
      expect(existsSync(join(dir, 'node_modules', name, 'package.json')), name).toBe(true);
  });

  it('the CLI starts and prints its usage', () => {
    // process.execPath is Node 24 under vitest: the image's Node major.
    const r = spawnSync(process.execPath, ['bin/routesync.js', '--help'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: routesync /m);
    expect(r.stdout).toMatch(/^\s+validate\b/m);
  });

  it('the CLI validates a config from the shipped files alone', () => {
    const cfg = join(dir, 'config.yaml');
    cpSync(join(ROOT, 'examples/config/aws.yaml'), cfg);
    const r = spawnSync(process.execPath, ['bin/routesync.js', 'validate', '-c', cfg], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(': valid');
  });
});
