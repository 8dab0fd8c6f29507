// A Node's spec.providerID → the VM it runs on. Each cloud's form (the one its cloud-provider writes and
// reads) is its plug-in's (providers/<cloud>/provider-id.ts, the descriptor's `providerId`); this is the
// generic part over the table: a missing or garbled field, a scheme none of our clouds writes, a node that
// is not a VM, a VM of another of our clouds, or of another project/region than the configured one.
// Anything else is a typed reason, never a guess: a Node we cannot map gets no route (issue 14, bad input),
// and a VM of another cloud, project or region is not one our provider could route to.
import type { ProviderConfig } from '../../providers/plugins.ts';
import { PLUGINS, PROVIDER_KINDS, type ProviderKind } from '../../providers/plugins.ts';
import { type LocationField, shownId, type VmRef } from '../../providers/provider-id.ts';

export interface ProviderRef extends VmRef {
  cloud: ProviderKind;
}

export type ProviderIdReason =
  /** spec.providerID is unset or empty (the cloud controller has not initialised the Node yet). */
  | 'missing'
  /** A well-formed providerID of another of our clouds than the one configured. */
  | 'other-cloud'
  /** Of the configured cloud, but another project or region than ours (the plug-in's `location` fields). */
  | 'other-location'
  /** A node that is not a VM we can route to: AWS Fargate, Alibaba hybrid (ack-hybrid://). */
  | 'not-a-vm'
  /** A scheme none of our clouds writes (azure://, openstack://, kind://…). */
  | 'unknown-scheme'
  /** The configured cloud's scheme, but not its shape. */
  | 'malformed';

export type ProviderIdResult = { ok: true; ref: ProviderRef } | { ok: false; reason: ProviderIdReason; detail: string };

/** Where the cluster's VMs must be, by the configured cloud's `location` fields (e.g. GCE project). */
export type ProviderIdExpectation = Partial<Record<LocationField, string>>;

function fail(reason: ProviderIdReason, s: string, why: string): ProviderIdResult {
  return { ok: false, reason, detail: `providerID ${shownId(s)}: ${why}` };
}

/** The `location` fields of the configured cloud, as set in its `provider` section. */
export function providerIdExpectation(provider: Pick<ProviderConfig, 'type'>): ProviderIdExpectation {
  const fields = provider as Partial<Record<LocationField, unknown>>;
  const want: ProviderIdExpectation = {};
  for (const f of PLUGINS[provider.type].providerId.location) {
    const v = fields[f];
    if (typeof v === 'string' && v !== '') want[f] = v;
  }
  return want;
}

/** `s`'s scheme, lower case, if it has one (Aliyun's bare form has none: `region.i-…`). */
function schemeOf(s: string): string | undefined {
  return /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(s)?.[1]?.toLowerCase();
}

/** The configured cloud's reading, with its location bound by `want`. */
function parseFor(cloud: ProviderKind, s: string, want: ProviderIdExpectation): ProviderIdResult {
  const form = PLUGINS[cloud].providerId;
  const r = form.parse(s);
  if (!r.ok) return fail(r.reason, s, r.why);
  for (const f of form.location) {
    const w = want[f];
    if (w !== undefined && r.ref[f] !== w) return fail('other-location', s, `${f} ${r.ref[f]}, not ours (${w})`);
  }
  return { ok: true, ref: { cloud, ...r.ref } };
}

/**
 * Which of our clouds `s` is well-formed for, by its scheme (or a bare form that names its cloud, such as
 * Aliyun's region.id), for the other-cloud reason. A bare i-… claims no cloud: AWS reads it, but it names
 * no cloud of its own.
 */
function writtenFor(s: string): ProviderKind | undefined {
  const scheme = schemeOf(s);
  return PROVIDER_KINDS.find((k) => {
    const form = PLUGINS[k].providerId;
    const claims = scheme === undefined ? form.bareNamesCloud : form.schemes.includes(scheme);
    return claims && form.parse(s).ok;
  });
}

/**
 * Reads a Node's spec.providerID for the cluster's cloud. Never throws: whatever the API server hands
 * us (it validates nothing about the field's shape) is a result.
 */
export function parseProviderId(
  providerID: string | undefined | null,
  cloud: ProviderKind,
  want: ProviderIdExpectation = {},
): ProviderIdResult {
  const s = providerID ?? '';
  if (s === '')
    return { ok: false, reason: 'missing', detail: 'no spec.providerID (not yet set by the cloud controller)' };
  if (/\s/.test(s) || [...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f))
    return fail('malformed', s, 'contains whitespace or control characters');
  for (const k of PROVIDER_KINDS)
    for (const [scheme, why] of Object.entries(PLUGINS[k].providerId.notVmSchemes ?? {}))
      if (s.startsWith(`${scheme}://`)) return fail('not-a-vm', s, why);
  const scheme = schemeOf(s);
  const ours = PROVIDER_KINDS.flatMap((k) => PLUGINS[k].providerId.schemes);
  if (scheme !== undefined && !ours.includes(scheme))
    return fail('unknown-scheme', s, `scheme ${shownId(s.slice(0, s.indexOf('://')))} is none of ${ours.join(', ')}`);
  const r = parseFor(cloud, s, want);
  if (r.ok || r.reason !== 'malformed') return r;
  const other = writtenFor(s);
  if (other !== undefined && other !== cloud)
    return fail('other-cloud', s, `a ${other} providerID, but this cluster's cloud is ${cloud}`);
  return r;
}

/** The canonical form the cloud's cloud-provider writes. */
export function formatProviderId(ref: ProviderRef): string {
  return PLUGINS[ref.cloud].providerId.format(ref);
}

/** The key two Nodes naming one VM share: the instance id, with its zone where ids are unique per zone. */
export function vmKey(cloud: ProviderKind, instanceId: string, zone: string): string {
  return PLUGINS[cloud].providerId.idPerZone ? `${zone}/${instanceId}` : instanceId;
}
