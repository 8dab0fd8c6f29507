// There is no Docker engine on the build machines, so the Dockerfile is checked by reading it: a small
// parser (instructions, continuations, stages) plus Docker's .dockerignore matching rules, then assertions
// about what a production image must be (multi-stage, non-root, production deps only, no HEALTHCHECK,
// every copied path present in the build context, the same Node major as the tests run on).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Instruction {
  cmd: string;
  args: string;
  line: number;
}

interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Joins `\` continuations and drops comments, as Docker does (comment lines inside a continuation too). */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buf = '';
  let start = 0;
  text.split(/\r?\n/).forEach((raw, i) => {
    const trimmed = raw.trim();
    // Docker skips blank lines, even inside a continuation.
    if (trimmed.startsWith('#') || trimmed === '') return;
    if (buf === '') start = i + 1;
    if (trimmed.endsWith('\\')) {
      buf += `${trimmed.slice(0, -1).trim()} `;
      return;
    }
    buf += trimmed;
    const m = /^(\S+)\s*(.*)$/s.exec(buf.trim());
    if (m) out.push({ cmd: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start });
    buf = '';
  });
  if (buf.trim() !== '') throw new Error(`Dockerfile ends inside a line continuation (from line ${start})`);
  return out;
}

function stagesOf(instructions: Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.cmd === 'FROM') {
      const words = ins.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const asAt = words.findIndex((w) => w.toUpperCase() === 'AS');
      stages.push({ from: words[0] ?? '', name: asAt >= 0 ? words[asAt + 1] : undefined, instructions: [] });
    } else if (stages.length > 0) {
      stages.at(-1)!.instructions.push(ins);
    } else if (ins.cmd !== 'ARG') {
      throw new Error(`line ${ins.line}: ${ins.cmd} before the first FROM`);
    }
  }
  return stages;
}

/** COPY/ADD: flags, sources and destination, in shell or JSON form. */
function copyParts(args: string): { flags: Record<string, string>; sources: string[]; dest: string } {
  const flags: Record<string, string> = {};
  let rest = args;
  for (let m = /^--([a-z-]+)(?:=(\S+))?\s+/.exec(rest); m; m = /^--([a-z-]+)(?:=(\S+))?\s+/.exec(rest)) {
    flags[m[1]!] = m[2] ?? 'true';
    rest = rest.slice(m[0].length);
  }
  const words = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : rest.split(/\s+/);
  return { flags, sources: words.slice(0, -1), dest: words.at(-1)! };
}

/** A .dockerignore pattern as a regex over slash-separated context-relative paths (Go filepath.Match plus `**`). */
function ignoreRegex(pattern: string): RegExp {
  const clean = posix.normalize(pattern.replace(/^\/+/, '')).replace(/\/+$/, '');
  let re = '';
  for (let i = 0; i < clean.length; i++) {
    const c = clean[i]!;
    if (c === '*' && clean[i + 1] === '*') {
      // `**/` matches zero or more directories; a trailing `**` matches everything below.
      if (clean[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = clean.indexOf(']', i + 1);
      const body = clean.slice(i + 1, end).replace(/^\^|^!/, '^');
      re += `[${body}]`;
      i = end;
    } else if (c === '\\') {
      re += `\\${clean[i + 1] ?? ''}`;
      i += 1;
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Docker's rule: the last matching pattern wins, and a pattern that matches a parent directory matches its contents. */
function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) =>
      l.startsWith('!') ? { negate: true, re: ignoreRegex(l.slice(1).trim()) } : { negate: false, re: ignoreRegex(l) },
    );
  return (path) => {
    const parts = posix.normalize(path).replace(/^\.\//, '').split('/');
    const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const r of rules) if (candidates.some((c) => r.re.test(c))) excluded = !r.negate;
    return excluded;
  };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => relative(ROOT, join(d.parentPath, d.name)).split(sep).join('/'));
}

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const instructions = parseDockerfile(dockerfile);
const stages = stagesOf(instructions);
const finalStage = stages.at(-1)!;
const isIgnored = dockerignore(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

describe('the Dockerfile parser and .dockerignore matcher', () => {
  it('joins continuations and skips comments, also inside a continuation', () => {
    const ins = parseDockerfile('# c\nFROM a AS b\nRUN x \\\n  # inner\n  && y\n\nUSER 1\n');
    expect(ins).toEqual([
      { cmd: 'FROM', args: 'a AS b', line: 2 },
      { cmd: 'RUN', args: 'x && y', line: 3 },
      { cmd: 'USER', args: '1', line: 7 },
    ]);
  });

  it('rejects a file that ends inside a continuation', () => {
    expect(() => parseDockerfile('FROM a\nRUN x \\\n')).toThrow(/continuation/);
  });

  it('reads COPY flags and both source forms', () => {
    expect(copyParts('--from=build --chown=1:1 /app/src ./src')).toEqual({
      flags: { from: 'build', chown: '1:1' },
      sources: ['/app/src'],
      dest: './src',
    });
    expect(copyParts('["a b", "c", "/d/"]')).toEqual({ flags: {}, sources: ['a b', 'c'], dest: '/d/' });
  });

  it('matches like Docker: parents, globs, **, last match wins', () => {
    const m = dockerignore('node_modules\n**/*.pem\ndocs/*.md\n!docs/keep.md\n/bench/\n');
    expect(m('node_modules/x/index.js')).toBe(true);
    expect(m('src/tls/ca.pem')).toBe(true);
    expect(m('ca.pem')).toBe(true);
    expect(m('docs/a.md')).toBe(true);
    expect(m('docs/keep.md')).toBe(false);
    expect(m('docs/sub/a.md')).toBe(false);
    expect(m('bench/run.ts')).toBe(true);
    expect(m('src/node_modules_helper.ts')).toBe(false);
  });
});

describe('Dockerfile', () => {
  it('has at least two named stages', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.name, `FROM ${s.from} needs AS <name>`).toMatch(/^[a-z][a-z0-9_.-]*$/);
  });

  it('builds from node:<major>-slim with the Node major pinned in package.json', () => {
    const pinned = pkg.devDependencies.node;
    expect(pinned, 'package.json devDependencies.node').toBeDefined();
    const major = /(\d+)/.exec(pinned!)![1];
    const stageNames = new Set(stages.map((s) => s.name));
    const bases = stages.map((s) => s.from).filter((f) => !stageNames.has(f));
    expect(bases.length).toBeGreaterThan(0);
    for (const base of bases)
      expect(base).toMatch(new RegExp(`^node:${major}(\\.[\\d.]+)?-slim(@sha256:[0-9a-f]{64})?$`));
  });

  it('type-checks in a build stage that has the dev dependencies', () => {
    const build = stages.slice(0, -1).flatMap((s) => s.instructions.filter((i) => i.cmd === 'RUN').map((i) => i.args));
    expect(build.some((r) => /\bnpm ci\b/.test(r) && !r.includes('--omit=dev'))).toBe(true);
    expect(build.some((r) => /\btsc\b.*--noEmit/.test(r))).toBe(true);
  });

  it('installs only production dependencies in the final stage', () => {
    const runs = finalStage.instructions.filter((i) => i.cmd === 'RUN').map((i) => i.args);
    const installs = runs.filter((r) => /\bnpm (ci|install|i)\b/.test(r));
    expect(installs.length).toBeGreaterThan(0);
    for (const r of installs) {
      expect(r).toContain('--omit=dev');
      expect(r).toContain('--ignore-scripts');
    }
    // node_modules must come from that install, not from a stage that has dev dependencies.
    const copies = finalStage.instructions
      .filter((i) => i.cmd === 'COPY' || i.cmd === 'ADD')
      .map((i) => copyParts(i.args));
    expect(copies.flatMap((c) => c.sources).some((s) => s.includes('node_modules'))).toBe(false);
  });

  it('runs as a non-root user in the final stage', () => {
    const users = finalStage.instructions.filter((i) => i.cmd === 'USER');
    expect(users.length).toBeGreaterThan(0);
    const last = users.at(-1)!.args;
    const [user, group] = last.split(':');
    expect(user).not.toMatch(/^(root|0)$/);
    if (group !== undefined) expect(group).not.toMatch(/^(root|0)$/);
    // Nothing after USER may switch back to root.
    const afterUser = finalStage.instructions.slice(finalStage.instructions.indexOf(users.at(-1)!) + 1);
    expect(afterUser.filter((i) => i.cmd === 'RUN')).toEqual([]);
  });

  it('has no HEALTHCHECK (Kubernetes probes do that)', () => {
    expect(instructions.filter((i) => i.cmd === 'HEALTHCHECK')).toEqual([]);
  });

  it('starts the CLI with `run -c /etc/routesync/config.yaml` by default and exposes the metrics port', () => {
    const entry = finalStage.instructions.filter((i) => i.cmd === 'ENTRYPOINT').at(-1);
    const cmd = finalStage.instructions.filter((i) => i.cmd === 'CMD').at(-1);
    // Exec form: the node process is PID 1 and receives SIGTERM directly.
    expect(JSON.parse(entry!.args)).toEqual(['node', '/app/bin/routesync.js']);
    expect(JSON.parse(cmd!.args)).toEqual(['run', '-c', '/etc/routesync/config.yaml']);
    expect(finalStage.instructions.filter((i) => i.cmd === 'EXPOSE').map((i) => i.args)).toContain('9464');
    const workdir = finalStage.instructions.filter((i) => i.cmd === 'WORKDIR').at(-1)!.args;
    expect(workdir).toBe('/app');
  });

  it('copies only sources that exist in the build context and are not excluded by .dockerignore', () => {
    const contextSources = instructions
      .filter((i) => i.cmd === 'COPY' || i.cmd === 'ADD')
      .map((i) => copyParts(i.args))
      .filter((c) => c.flags.from === undefined)
      .flatMap((c) => c.sources);
    expect(contextSources.length).toBeGreaterThan(0);
    for (const src of contextSources) {
      expect(src, 'COPY sources are context-relative').not.toMatch(/^\/|\.\./);
      expect(existsSync(join(ROOT, src)), `${src} exists`).toBe(true);
      expect(isIgnored(src), `${src} is excluded by .dockerignore`).toBe(false);
      if (statSync(join(ROOT, src)).isDirectory()) {
        expect(
          filesUnder(join(ROOT, src)).filter((f) => !isIgnored(f)).length,
          `${src} has files in the context`,
        ).toBeGreaterThan(0);
      }
    }
  });

  it('copies into the final stage only what runs: bin, src, providers and the package files', () => {
    const copied = finalStage.instructions
      .filter((i) => i.cmd === 'COPY' || i.cmd === 'ADD')
      .flatMap((i) => copyParts(i.args).sources.map((s) => posix.basename(s)));
    expect(new Set(copied)).toEqual(new Set(['package.json', 'package-lock.json', 'bin', 'src', 'providers']));
  });

  it('type-checks the emulators in the build stage but ships none in the final stage', () => {
    const copiedBy = (stage: Stage) =>
      stage.instructions
        .filter((i) => i.cmd === 'COPY' || i.cmd === 'ADD')
        .flatMap((i) => copyParts(i.args).sources.map((s) => posix.basename(s)));
    expect(copiedBy(stages.find((s) => s.name === 'build')!)).toContain('emulators');
    expect(copiedBy(finalStage)).not.toContain('emulators');
  });

  it('keeps dependencies, tests, benchmarks and VCS data out of the build context', () => {
    for (const p of [
      'node_modules/zod/package.json',
      'test/unit/dockerfile.test.ts',
      'bench/run.ts',
      'testkit/clouds.ts',
      '.git/HEAD',
      'examples/config/aws.yaml',
    ]) {
      expect(isIgnored(p), p).toBe(true);
    }
    for (const p of [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'bin/routesync.js',
      'src/cli.ts',
      'providers/types.ts',
    ]) {
      expect(isIgnored(p), p).toBe(false);
    }
  });

  it('needs nothing at run time beyond the copied files and production dependencies', () => {
    // Static imports of every shipped file: relative ones must stay inside what the image copies,
    // bare ones must be builtins or production dependencies (a dev dependency would be missing in the image).
    const shipped = ['bin', 'src', 'providers']
      .flatMap((d) => filesUnder(join(ROOT, d)))
      .filter((f) => /\.(ts|js|mjs)$/.test(f));
    const allowedRoots = ['bin/', 'src/', 'providers/', 'package.json'];
    // The build stage also has emulators/ (type check only): a type-only import may name it, a runtime one not.
    const typeRoots = [...allowedRoots, 'emulators/'];
    const builtins = new Set(builtinModules);
    const problems: string[] = [];
    for (const file of shipped) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      // Type-only imports vanish at run time, but the build stage type-checks them, so their relative
      // targets must be in the image's sources too; only runtime imports must be production dependencies.
      const re =
        /^\s*(?:import|export)\s+(type\s)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)|new URL\(\s*['"](\.[^'"]+)['"],\s*import\.meta\.url/gm;
      for (const m of text.matchAll(re)) {
        const typeOnly = m[1] !== undefined;
        const spec = m[2] ?? m[3] ?? m[4]!;
        if (spec.startsWith('.')) {
          const target = posix.normalize(posix.join(posix.dirname(file), spec));
          const roots = typeOnly ? typeRoots : allowedRoots;
          if (!roots.some((r) => target === r || target.startsWith(r)))
            problems.push(`${file}: ${spec} is not in the image`);
        } else if (!typeOnly && !spec.startsWith('node:') && !builtins.has(spec)) {
          const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
          if (!(name in pkg.dependencies)) problems.push(`${file}: ${name} is not a production dependency`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
