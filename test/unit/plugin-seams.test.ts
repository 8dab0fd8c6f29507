// Issue 13 item 1: adding a cloud is one folder under providers/, one under emulators/ and one line in the
// table, so no code outside them may branch on a cloud's kind. This scans the tree with the TypeScript
// compiler (the syntax tree, not a regex: comments, log text and a single `type: 'aws'` are fine) for what
// a per-cloud switch or list looks like: `case '<kind>'`, `=== '<kind>'` / `!== '<kind>'` (and == / !=),
// an array literal holding two or more kinds, an object literal keyed by two or more kinds. Whatever a cloud
// needs there goes behind its plug-in descriptor (providers/<cloud>/index.ts) and is read off the table.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { PROVIDER_KINDS } from '../../providers/plugins.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The trees scanned: what ships (src/) and what every cloud's tests and benches share (bench/, testkit/,
 * test/helpers/: they iterate the emulators' and plug-ins' tables). providers/<cloud>/ and emulators/<cloud>/
 * are the clouds' own, and a test file about one cloud may name it: never scanned.
 */
const SCANNED = ['src', 'bench', 'testkit', 'test/helpers'];

/**
 * Files still holding a per-cloud branch, each with who moves it behind the table. Remove the line with
 * the move; a file here that no longer needs it fails the test too.
 */
const PENDING: Readonly<Record<string, string>> = {};

interface Finding {
  file: string;
  line: number;
  what: string;
}

function literal(n: ts.Node): string | undefined {
  return ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n) ? n.text : undefined;
}

/** The per-cloud switches and lists in one file's source text. */
function perCloudBranches(file: string, text: string, kinds: readonly string[]): Finding[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const isKind = (n: ts.Node | undefined): n is ts.Node => n !== undefined && kinds.includes(literal(n) ?? '\0');
  const out: Finding[] = [];
  const add = (n: ts.Node, what: string) =>
    out.push({ file, line: sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1, what });
  const visit = (n: ts.Node): void => {
    if (ts.isCaseClause(n) && isKind(n.expression)) add(n, `case ${n.expression.getText(sf)}`);
    else if (ts.isBinaryExpression(n)) {
      const op = n.operatorToken.kind;
      const eq = [
        ts.SyntaxKind.EqualsEqualsEqualsToken,
        ts.SyntaxKind.ExclamationEqualsEqualsToken,
        ts.SyntaxKind.EqualsEqualsToken,
        ts.SyntaxKind.ExclamationEqualsToken,
      ].includes(op);
      const side = isKind(n.left) ? n.left : isKind(n.right) ? n.right : undefined;
      if (eq && side) add(n, `comparison ${n.getText(sf).slice(0, 80)}`);
    } else if (ts.isArrayLiteralExpression(n)) {
      const held = n.elements.filter(isKind);
      if (held.length >= 2) add(n, `list ${n.getText(sf).slice(0, 80)}`);
    } else if (ts.isObjectLiteralExpression(n)) {
      const keys = n.properties.filter((p) => {
        const name = p.name;
        if (name === undefined) return false;
        return (ts.isIdentifier(name) && kinds.includes(name.text)) || isKind(name);
      });
      if (keys.length >= 2) add(n, `object keyed by ${keys.map((k) => k.name?.getText(sf)).join(', ')}`);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && /\.(ts|js|mts)$/.test(d.name))
    .map((d) => relative(ROOT, join(d.parentPath, d.name)).split(sep).join('/'));
}

describe('plug-in seams: no per-cloud branch outside the plug-ins', () => {
  it('the scanner sees each shape, and not comments, text or a single kind', () => {
    const [a, b] = PROVIDER_KINDS as [string, string];
    const src = `
      // if (x === '${a}') in a comment
      const log = 'only ${a} and ${b} in text';
      const one = { type: '${a}' };
      switch (k) { case '${a}': break; }
      if (k !== \`${b}\`) {}
      const l = ['${a}', '${b}'];
      const m = { ${a}: 1, '${b}': 2 };
    `;
    expect(perCloudBranches('x.ts', src, PROVIDER_KINDS).map((f) => f.what.split(' ')[0])).toEqual([
      'case',
      'comparison',
      'list',
      'object',
    ]);
  });

  it.each(SCANNED)('%s/ branches on no provider kind', (dir) => {
    const found = filesUnder(dir)
      .filter((f) => !Object.hasOwn(PENDING, f))
      .flatMap((f) => perCloudBranches(f, readFileSync(join(ROOT, f), 'utf8'), PROVIDER_KINDS))
      .map((f) => `${f.file}:${f.line}: ${f.what}`);
    expect(found).toEqual([]);
  });

  it('every pending file still has its branch (else drop its line)', () => {
    for (const f of Object.keys(PENDING))
      expect(perCloudBranches(f, readFileSync(join(ROOT, f), 'utf8'), PROVIDER_KINDS), f).not.toEqual([]);
  });
});
