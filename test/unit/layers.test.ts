// The layering README's "Architecture" names, checked on the import graph (relative imports of every file
// in bin/, src/, providers/ and emulators/): no import runs back up a floor, src/lib imports nothing of
// ours, nothing shipped loads emulator code, there is no import cycle, and testkit/ (shared by test/ and
// bench/) is imported by nothing shipped or emulated.
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Edge {
  from: string;
  to: string;
  typeOnly: boolean;
}

function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && /\.(ts|js)$/.test(d.name))
    .map((d) => relative(ROOT, join(d.parentPath, d.name)).split(sep).join('/'));
}

const IMPORT =
  /^\s*(?:import|export)\s+(type\s)?(?:[^'";]*?\sfrom\s+)?['"](\.[^'"]+)['"]|\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/gm;

function edgesOf(files: readonly string[], read: (f: string) => string): Edge[] {
  return files.flatMap((from) =>
    [...read(from).matchAll(IMPORT)].map((m) => ({
      from,
      to: posix.normalize(posix.join(posix.dirname(from), m[2] ?? m[3]!)),
      typeOnly: m[1] !== undefined,
    })),
  );
}

/** The floors, lowest first. emulators/ is apart: see the rules below. */
function floorOf(file: string): number {
  if (file.startsWith('src/lib/')) return 0;
  if (
    [
      'providers/types.ts',
      'providers/plugin.ts',
      'providers/provider-id.ts',
      'providers/retry.ts',
      'providers/wire-fence.ts',
    ].includes(file)
  )
    return 1;
  if (/^providers\/[^/]+\//.test(file)) return 2;
  if (file.startsWith('providers/')) return 3; // plugins.ts: the table of all clouds
  if (file.startsWith('src/commands/')) return 5;
  if (file === 'src/cli.ts' || file.startsWith('bin/')) return 6;
  if (file.startsWith('src/')) return 4;
  return 7; // emulators/
}

function upward(edges: readonly Edge[]): string[] {
  return edges
    .filter((e) => {
      if (e.from.startsWith('emulators/')) return false; // the emulated side may use anything below it
      if (e.to.startsWith('emulators/')) return !(e.typeOnly && e.from.startsWith('src/commands/')); // checked by the image rule
      return floorOf(e.to) > floorOf(e.from);
    })
    .map((e) => `${e.from} -> ${e.to}${e.typeOnly ? ' (type)' : ''}`);
}

/** Every strongly connected component of more than one file (or a file importing itself). */
function cycles(edges: readonly Edge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  let n = 0;
  const visit = (v: string): void => {
    index.set(v, n);
    low.set(v, n++);
    stack.push(v);
    on.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      for (let w = stack.pop()!; ; w = stack.pop()!) {
        on.delete(w);
        scc.push(w);
        if (w === v) break;
      }
      if (scc.length > 1 || (next.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of next.keys()) if (!index.has(v)) visit(v);
  return out;
}

/**
 * testkit/ is what test/ and bench/ share: nothing shipped or emulated may import it (or test/, bench/),
 * it imports neither test/ nor bench/, and bench/ does not reach into test/.
 */
function harnessViolations(edges: readonly Edge[]): string[] {
  const under = (f: string, ...dirs: string[]) => dirs.some((d) => f.startsWith(`${d}/`));
  return edges
    .filter(
      (e) =>
        (under(e.from, 'bin', 'src', 'providers', 'emulators') && under(e.to, 'testkit', 'test', 'bench')) ||
        (under(e.from, 'testkit') && under(e.to, 'test', 'bench')) ||
        (under(e.from, 'bench') && under(e.to, 'test')),
    )
    .map((e) => `${e.from} -> ${e.to}`);
}

const read = (f: string) => readFileSync(join(ROOT, f), 'utf8');
const files = ['bin', 'src', 'providers', 'emulators'].flatMap(filesUnder);
const edges = edgesOf(files, read);
const harnessEdges = edgesOf(['testkit', 'bench', 'test'].flatMap(filesUnder), read);

describe('layers', () => {
  it('src/lib imports nothing of ours outside src/lib', () => {
    expect(
      edges
        .filter((e) => e.from.startsWith('src/lib/') && !e.to.startsWith('src/lib/'))
        .map((e) => `${e.from} -> ${e.to}`),
    ).toEqual([]);
  });

  it('a store kind brings its own leadership: src/store imports no engine file (no store ↔ leader loop)', () => {
    // The Kubernetes client is shared by the inventory, the agent and a store kind, so it sits beside them.
    const allowed = (e: Edge) =>
      e.to.startsWith('src/store/') ||
      e.to.startsWith('src/lib/') ||
      e.to.startsWith('src/kubernetes/') ||
      (e.typeOnly && ['src/config.ts', 'src/log.ts'].includes(e.to));
    expect(
      edges.filter((e) => e.from.startsWith('src/store/') && !allowed(e)).map((e) => `${e.from} -> ${e.to}`),
    ).toEqual([]);
  });

  it('no import runs back up a floor', () => {
    expect(upward(edges)).toEqual([]);
  });

  it('has no import cycle', () => {
    expect(cycles(edges)).toEqual([]);
  });

  it('testkit serves test/ and bench/ only, and bench/ does not import test/', () => {
    expect(harnessViolations([...edges, ...harnessEdges])).toEqual([]);
  });

  it('the checks catch what they are for', () => {
    const e = (from: string, to: string, typeOnly = false): Edge => ({ from, to, typeOnly });
    expect(
      upward([
        e('src/lib/cidr.ts', 'src/config.ts'),
        e('providers/aws/parse.ts', 'src/plan.ts'),
        e('src/plan.ts', 'emulators/clouds.ts'),
      ]),
    ).toHaveLength(3);
    expect(
      upward([
        e('src/plan.ts', 'src/lib/cidr.ts'),
        e('src/commands/demo.ts', 'emulators/clouds.ts', true),
        e('emulators/aws/state.ts', 'src/lib/cidr.ts'),
      ]),
    ).toEqual([]);
    expect(
      harnessViolations([
        e('src/commands/demo.ts', 'testkit/clouds.ts'),
        e('testkit/clouds.ts', 'test/helpers/fake-provider.ts'),
        e('bench/rss.ts', 'test/helpers/clouds.ts'),
      ]),
    ).toHaveLength(3);
    expect(
      harnessViolations([
        e('bench/rss.ts', 'testkit/clouds.ts'),
        e('test/e2e/demo.test.ts', 'testkit/cli.ts'),
        e('testkit/clouds.ts', 'emulators/clouds.ts'),
      ]),
    ).toEqual([]);
    expect(cycles([e('a', 'b'), e('b', 'c'), e('c', 'a'), e('c', 'd')])).toEqual([['a', 'b', 'c']]);
    expect(cycles([e('a', 'b'), e('b', 'c')])).toEqual([]);
  });
});
