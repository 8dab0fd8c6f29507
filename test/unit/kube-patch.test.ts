// The Kubernetes emulator's three patch types: RFC 7386 vectors, the strategic-merge lists routesync uses
// (conditions by type, podCIDRs as a set, finalizers, $patch directives) and RFC 6902 operations.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyPatch, jsonPatch, mergePatch } from '../../emulators/kubernetes/patch.ts';
import { ApiError } from '../../emulators/kubernetes/status.ts';

describe('merge patch (RFC 7386)', () => {
  // Appendix A of the RFC, the cases that have an object at the top.
  const vectors: [unknown, unknown, unknown][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  it.each(vectors)('%j + %j → %j', (target, patch, want) => {
    expect(mergePatch(target, patch)).toEqual(want);
  });

  const json = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.string(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value'), { maxLength: 3 }),
      tie('object'),
    ),
    object: fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), tie('value'), { maxKeys: 4 }),
  }));

  it('is idempotent: applying a patch twice is applying it once', () => {
    fc.assert(
      fc.property(json.object, json.object, (target, patch) => {
        const once = mergePatch(target, patch);
        expect(mergePatch(once, patch)).toEqual(once);
      }),
    );
  });

  it('never changes the object it was given', () => {
    fc.assert(
      fc.property(json.object, json.object, (target, patch) => {
        const before = structuredClone(target);
        mergePatch(target, patch);
        expect(target).toEqual(before);
      }),
    );
  });
});

describe('strategic merge patch', () => {
  const node = {
    metadata: { name: 'n1', finalizers: ['a'] },
    spec: { podCIDRs: ['10.244.1.0/24'], taints: [{ key: 'x', effect: 'NoSchedule' }] },
    status: {
      conditions: [
        { type: 'Ready', status: 'True' },
        { type: 'MemoryPressure', status: 'False' },
      ],
    },
  };
  const smp = (p: unknown) => applyPatch('strategic', node, JSON.stringify(p));

  it('merges conditions by type: adds a new one, updates one in place, keeps the rest', () => {
    const out = smp({
      status: {
        conditions: [
          { type: 'NetworkUnavailable', status: 'False' },
          { type: 'Ready', status: 'False' },
        ],
      },
    }) as typeof node;
    expect(out.status.conditions).toEqual([
      { type: 'Ready', status: 'False' },
      { type: 'MemoryPressure', status: 'False' },
      { type: 'NetworkUnavailable', status: 'False' },
    ]);
  });

  it('deletes a condition with $patch: delete, and replaces the list with $patch: replace', () => {
    expect(
      (smp({ status: { conditions: [{ type: 'Ready', $patch: 'delete' }] } }) as typeof node).status.conditions,
    ).toEqual([{ type: 'MemoryPressure', status: 'False' }]);
    expect(
      (smp({ status: { conditions: [{ $patch: 'replace' }, { type: 'Ready', status: 'Unknown' }] } }) as typeof node)
        .status.conditions,
    ).toEqual([{ type: 'Ready', status: 'Unknown' }]);
  });

  it('treats finalizers and podCIDRs as sets, taints (no patch strategy) as replaced', () => {
    const out = smp({
      metadata: { finalizers: ['b', 'a'] },
      spec: { podCIDRs: ['10.244.1.0/24'], taints: [{ key: 'y', effect: 'NoExecute' }] },
    }) as typeof node;
    expect(out.metadata.finalizers).toEqual(['a', 'b']);
    expect(out.spec.podCIDRs).toEqual(['10.244.1.0/24']);
    expect(out.spec.taints).toEqual([{ key: 'y', effect: 'NoExecute' }]);
    expect(
      (smp({ metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } }) as typeof node).metadata.finalizers,
    ).toEqual([]);
  });

  it('refuses a merge-list element without its key', () => {
    expect(() => smp({ status: { conditions: [{ status: 'True' }] } })).toThrow(/lacks its merge key "type"/);
  });
});

describe('JSON patch (RFC 6902)', () => {
  const doc = { metadata: { labels: { a: '1' } }, list: [1, 2] };

  it('adds, replaces, removes, moves, copies and tests', () => {
    const out = jsonPatch(doc, [
      { op: 'add', path: '/metadata/labels/b~1c', value: '2' },
      { op: 'replace', path: '/metadata/labels/a', value: '9' },
      { op: 'add', path: '/list/-', value: 3 },
      { op: 'remove', path: '/list/0' },
      { op: 'copy', from: '/list/0', path: '/first' },
      { op: 'move', from: '/first', path: '/moved' },
      { op: 'test', path: '/moved', value: 2 },
    ]);
    expect(out).toEqual({ metadata: { labels: { a: '9', 'b/c': '2' } }, list: [2, 3], moved: 2 });
    expect(doc.list).toEqual([1, 2]);
  });

  it('a failed test or a missing path is a 422 and changes nothing', () => {
    for (const op of [
      { op: 'test', path: '/list/0', value: 5 },
      { op: 'remove', path: '/nope' },
      { op: 'replace', path: '/a/b', value: 1 },
    ]) {
      let err: unknown;
      try {
        jsonPatch(doc, [op]);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).code).toBe(422);
    }
  });

  it('a body that is not JSON, or not the shape of its type, is a 400', () => {
    for (const [type, body] of [
      ['json', '{"op":"add"}'],
      ['merge', '[1]'],
      ['strategic', 'not json'],
    ] as const) {
      let err: unknown;
      try {
        applyPatch(type, doc, body);
      } catch (e) {
        err = e;
      }
      expect((err as ApiError).code, `${type} ${body}`).toBe(400);
    }
  });
});
