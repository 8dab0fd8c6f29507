// spec.providerID → VM: the forms each cloud-provider writes parse back to the same VM (round trips, by
// property), the variants they also read are read, and garbage is a typed reason, never a guess or a throw.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CLOUD_EMULATOR_TOPOLOGY, providerIdFor } from '../../emulators/kubernetes/nodes.ts';
import {
  formatProviderId,
  parseProviderId,
  type ProviderIdReason,
  type ProviderRef,
} from '../../src/kubernetes/provider-id.ts';
import { PROVIDER_KINDS } from '../../providers/plugins.ts';

const hex = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });
const alnum = (min: number, max: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdefghijklmnopqrstuvwxyz'), minLength: min, maxLength: max });
const word = (min: number, max: number) =>
  fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz'), minLength: min, maxLength: max });

const awsRef: fc.Arbitrary<ProviderRef> = fc.record({
  cloud: fc.constant('aws' as const),
  instanceId: fc.oneof(hex(8), hex(17)).map((h) => `i-${h}`),
  zone: fc
    .tuple(word(2, 2), word(3, 10), fc.integer({ min: 1, max: 9 }), word(1, 1))
    .map(([a, b, n, z]) => `${a}-${b}-${n}${z}`),
});

// GCE's id is `<zone>/<name>`: names are unique per zone only.
const gceRef: fc.Arbitrary<ProviderRef> = fc
  .record({
    name: fc.tuple(word(1, 1), alnum(0, 20)).map(([a, b]) => `${a}${b}`),
    zone: fc
      .tuple(word(2, 10), word(3, 10), fc.integer({ min: 1, max: 9 }), word(1, 1))
      .map(([a, b, n, z]) => `${a}-${b}${n}-${z}`),
    project: fc.tuple(word(1, 1), alnum(4, 20), alnum(1, 1)).map(([a, b, c]) => `${a}${b}${c}`),
  })
  .map(({ name, zone, project }) => ({ cloud: 'gce' as const, instanceId: `${zone}/${name}`, zone, project }));

const aliyunRef: fc.Arbitrary<ProviderRef> = fc.record({
  cloud: fc.constant('aliyun' as const),
  instanceId: alnum(20, 20).map((s) => `i-${s}`),
  region: fc
    .tuple(word(2, 2), word(3, 10), fc.option(fc.integer({ min: 1, max: 9 }), { nil: undefined }))
    .map(([a, b, n]) => `${a}-${b}${n === undefined ? '' : `-${n}`}`),
});

const anyRef = fc.oneof(awsRef, gceRef, aliyunRef);

function reasonOf(s: string | undefined, cloud: ProviderRef['cloud']): ProviderIdReason | 'ok' {
  const r = parseProviderId(s, cloud);
  return r.ok ? 'ok' : r.reason;
}

describe('parseProviderId', () => {
  it('round-trips the form each cloud-provider writes', () => {
    fc.assert(
      fc.property(anyRef, (ref) => {
        const r = parseProviderId(formatProviderId(ref), ref.cloud);
        expect(r).toEqual({ ok: true, ref });
      }),
    );
  });

  it('reads the variants the cloud-providers also read as the same VM', () => {
    fc.assert(
      fc.property(awsRef, aliyunRef, (aws, ali) => {
        for (const v of [`aws:////${aws.instanceId}`, `aws:///${aws.instanceId}`, aws.instanceId]) {
          expect(parseProviderId(v, 'aws')).toEqual({ ok: true, ref: { cloud: 'aws', instanceId: aws.instanceId } });
        }
        expect(parseProviderId(`aws://${aws.zone}/${aws.instanceId}`, 'aws')).toEqual({ ok: true, ref: aws });
        expect(parseProviderId(`alicloud://${formatProviderId(ali)}`, 'aliyun')).toEqual({ ok: true, ref: ali });
      }),
    );
  });

  it('reads the providerIDs the Kubernetes emulator gives the cloud emulators’ VMs', () => {
    const aws = providerIdFor('aws', { id: 'i-0000000000a000001', zone: 'us-east-1a' });
    expect(parseProviderId(aws, 'aws')).toMatchObject({ ok: true, ref: { instanceId: 'i-0000000000a000001' } });
    const gce = providerIdFor('gce', { id: 'vm-1', zone: 'us-central1-a' }, CLOUD_EMULATOR_TOPOLOGY);
    expect(parseProviderId(gce, 'gce', { project: CLOUD_EMULATOR_TOPOLOGY.project as string })).toMatchObject({
      ok: true,
      ref: { instanceId: 'us-central1-a/vm-1', zone: 'us-central1-a' },
    });
    const ali = providerIdFor(
      'aliyun',
      { id: 'i-bp1emu0000000000000001', zone: 'cn-hangzhou-h' },
      CLOUD_EMULATOR_TOPOLOGY,
    );
    expect(parseProviderId(ali, 'aliyun', { region: 'cn-hangzhou' })).toMatchObject({
      ok: true,
      ref: { instanceId: 'i-bp1emu0000000000000001', region: 'cn-hangzhou' },
    });
  });

  it('never throws and never accepts a string that does not format back to the same VM', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: 'binary' }), anyRef.map(formatProviderId)),
        fc.constantFrom(...PROVIDER_KINDS),
        (s, cloud) => {
          const r = parseProviderId(s, cloud);
          if (!r.ok) {
            expect(r.detail.length).toBeGreaterThan(0);
            return;
          }
          expect(r.ref.cloud).toBe(cloud);
          expect(s).toContain(r.ref.instanceId);
          expect(parseProviderId(formatProviderId(r.ref), cloud)).toEqual(r);
        },
      ),
    );
  });

  it('refuses a mangled providerID instead of reading half of it', () => {
    const bad = fc.constantFrom(...' \t\n/\\?#%:@!*"\'$'.split(''), '\u0000', 'É', '..');
    fc.assert(
      fc.property(anyRef, bad, fc.nat(), (ref, junk, at) => {
        const good = formatProviderId(ref);
        // Inside the instance id: the part that names the VM.
        const idAt = good.lastIndexOf(ref.instanceId) + 2 + (at % (ref.instanceId.length - 1));
        const s = good.slice(0, idAt) + junk + good.slice(idAt);
        const r = parseProviderId(s, ref.cloud);
        if (r.ok) expect(r.ref.instanceId).not.toBe(ref.instanceId);
        expect(r.ok).toBe(false);
      }),
    );
  });

  it('gives each kind of garbage its reason', () => {
    expect(reasonOf(undefined, 'aws')).toBe('missing');
    expect(reasonOf('', 'gce')).toBe('missing');
    expect(reasonOf('gce://proj-12345/us-central1-a/vm-1', 'aws')).toBe('other-cloud');
    expect(reasonOf('aws:///us-east-1a/i-0123456789abcdef0', 'aliyun')).toBe('other-cloud');
    expect(reasonOf('cn-hangzhou.i-bp1abcdefghij0123456', 'gce')).toBe('other-cloud');
    expect(reasonOf('azure:///subscriptions/x/vm', 'aws')).toBe('unknown-scheme');
    expect(reasonOf('kind://docker/kind/kind-worker', 'gce')).toBe('unknown-scheme');
    expect(reasonOf('aws:///us-east-1a/fargate-ip-10-0-1-4.ec2.internal', 'aws')).toBe('not-a-vm');
    expect(reasonOf('ack-hybrid://idc-1.node-1', 'aliyun')).toBe('not-a-vm');
    expect(reasonOf('aws:///us-east-1a/i-xyz', 'aws')).toBe('malformed');
    expect(reasonOf('aws:///us-east-1a/i-0123456789abcdef0/extra', 'aws')).toBe('malformed');
    expect(reasonOf('gce://proj-12345/us-central1-a', 'gce')).toBe('malformed');
    expect(reasonOf('gce://proj-12345/us-central1-a/VM-1', 'gce')).toBe('malformed');
    expect(reasonOf('cn-hangzhou.i-bp1abcdefghij0123456.x', 'aliyun')).toBe('malformed');
    expect(reasonOf('i-bp1abcdefghij0123456', 'aliyun')).toBe('malformed');
    expect(reasonOf('aws:///us-east-1a/i-0123456789abcdef0 ', 'aws')).toBe('malformed');
    expect(parseProviderId('gce://other-project/us-central1-a/vm-1', 'gce', { project: 'my-project' })).toMatchObject({
      ok: false,
      reason: 'other-location',
    });
    expect(parseProviderId('cn-beijing.i-bp1abcdefghij0123456', 'aliyun', { region: 'cn-hangzhou' })).toMatchObject({
      ok: false,
      reason: 'other-location',
    });
  });

  it('quotes and cuts what it shows of a hostile providerID', () => {
    const r = parseProviderId(`aws:///us-east-1a/${'x'.repeat(5000)}\u001b[2J`, 'aws');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.detail.length).toBeLessThan(400);
      expect(r.detail).not.toContain('\u001b');
    }
  });
});
