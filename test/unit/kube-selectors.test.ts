// Label and field selectors of the Kubernetes emulator, with the API's semantics: `!=` and `notin` match
// objects without the label (what makes `routesync.io/exclude!=true` select unlabelled Nodes).
import { describe, expect, it } from 'vitest';
import { parseFieldSelector, parseLabelSelector } from '../../emulators/kubernetes/selectors.ts';
import { ApiError } from '../../emulators/kubernetes/status.ts';

const obj = (name: string, labels: Record<string, string> = {}) => ({
  metadata: { name, labels },
  spec: { providerID: `aws:///z/${name}` },
});
const nodes = [
  obj('plain'),
  obj('excluded', { 'routesync.io/exclude': 'true' }),
  obj('kept', { 'routesync.io/exclude': 'false', tier: 'a' }),
  obj('b', { tier: 'b' }),
];
const names = (sel: string) => nodes.filter((n) => parseLabelSelector(sel).matches(n)).map((n) => n.metadata.name);

describe('label selectors', () => {
  it.each([
    ['routesync.io/exclude!=true', ['plain', 'kept', 'b']],
    ['routesync.io/exclude=true', ['excluded']],
    ['routesync.io/exclude==true', ['excluded']],
    ['tier in (a,b)', ['kept', 'b']],
    ['tier notin (a)', ['plain', 'excluded', 'b']],
    ['tier', ['kept', 'b']],
    ['!tier', ['plain', 'excluded']],
    ['tier,routesync.io/exclude!=true', ['kept', 'b']],
    ['', ['plain', 'excluded', 'kept', 'b']],
  ])('%s', (sel, want) => {
    expect(names(sel)).toEqual(want);
  });

  it.each(['tier in (a', 'a b c', 'bad key!=x', '=x'])('refuses %j with 400', (sel) => {
    let err: unknown;
    try {
      parseLabelSelector(sel);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe(400);
  });
});

describe('field selectors', () => {
  it('match dotted paths with = and !=', () => {
    expect(
      nodes.filter((n) => parseFieldSelector('metadata.name=kept').matches(n)).map((n) => n.metadata.name),
    ).toEqual(['kept']);
    expect(
      nodes
        .filter((n) => parseFieldSelector('metadata.name!=kept,spec.providerID!=aws:///z/b').matches(n))
        .map((n) => n.metadata.name),
    ).toEqual(['plain', 'excluded']);
  });
});
