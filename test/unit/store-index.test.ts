// The store kinds table (src/store/index.ts): each kind says where it lives without loading its client
// library, and opening one loads only that kind's library (the etcd client alone costs ~40 MB of RSS).
import { execFileSync } from 'node:child_process';
import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { storeLocation } from '../../src/store/index.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Opens the store `store` names in a fresh process and returns the packages it loaded, of those we watch. */
function packagesLoadedByOpening(store: Record<string, unknown>): string[] {
  const script = `
    import { registerHooks } from 'node:module';
    const seen = new Set();
    registerHooks({
      resolve(specifier, context, next) {
        const r = next(specifier, context);
        const m = /\\/node_modules\\/(etcd3|@grpc\\/grpc-js|@kubernetes\\/client-node)\\//.exec(r.url);
        if (m) seen.add(m[1]);
        return r;
      },
    });
    const { openStore } = await import(${JSON.stringify(`${ROOT}src/store/index.ts`)});
    const { silentLogger } = await import(${JSON.stringify(`${ROOT}src/log.ts`)});
    const { store, leadership } = await openStore(JSON.parse(process.argv[1]), { logger: silentLogger });
    await leadership.close();
    await store.close();
    process.stdout.write(JSON.stringify([...seen].sort()));
  `;
  const out = execFileSync(
    `${ROOT}node_modules/.bin/node`,
    ['--input-type=module', '-e', script, JSON.stringify({ cluster: 'c', store })],
    { cwd: ROOT, encoding: 'utf8', timeout: 30_000 },
  );
  return JSON.parse(out) as string[];
}

describe('store kinds', () => {
  it('opening the file or the memory store loads no etcd client; opening etcd does', () => {
    expect(packagesLoadedByOpening({ type: 'file', path: '/nonexistent/routesync/state.json' })).toEqual([]);
    expect(packagesLoadedByOpening({ type: 'memory' })).toEqual([]);
    expect(
      packagesLoadedByOpening({ type: 'etcd', endpoints: ['http://127.0.0.1:2'], prefix: '/r', electionTTL: 5000 }),
    ).toContain('etcd3');
  });

  it('says where each store lives', () => {
    const file = storeLocation({ cluster: 'c', store: { type: 'file', path: 'rel/state.json' } as never });
    expect(file.type).toBe('file');
    expect(isAbsolute(file.path!)).toBe(true);
    expect(file.path!.endsWith('/rel/state.json')).toBe(true);
    const etcd = (prefix: string) =>
      storeLocation({
        cluster: 'c',
        store: { type: 'etcd', endpoints: ['http://127.0.0.1:2379'], prefix, electionTTL: 5000 } as never,
      });
    expect(etcd('/routesync')).toEqual({ type: 'etcd', endpoints: ['http://127.0.0.1:2379'], keys: '/routesync/c/' });
    expect(etcd('/').keys).toBe('/c/');
    expect(storeLocation({ cluster: 'c', store: { type: 'memory' } as never })).toEqual({ type: 'memory' });
  });
});
