// A Node's spec.providerID → the VM it runs on, in the forms each cloud's cloud-provider writes and reads:
//   AWS     aws:///<zone>/<instance-id>      (cloud-provider-aws; it also reads aws:////<id> and a bare i-…)
//   GCE     gce://<project>/<zone>/<name>    (cloud-provider-gcp; the instance name is the id our provider uses)
//   Aliyun  <region>.<instance-id>           (cloud-provider-alibaba-cloud; also read with `alicloud://`)
// Anything else is a typed reason, never a guess: a Node we cannot map gets no route (issue 14, bad input),
// and a VM of another cloud, project or region is not one our provider could route to.
import type { ProviderKind } from '../../providers/plugins.ts';

export interface ProviderRef {
  cloud: ProviderKind;
  /** What the provider's Instance.id is: the EC2/ECS instance id, the GCE instance name. */
  instanceId: string;
  /** AWS (may be absent: aws:////<id>), GCE. */
  zone?: string;
  /** GCE. */
  project?: string;
  /** Aliyun. */
  region?: string;
}

export type ProviderIdReason =
  /** spec.providerID is unset or empty (the cloud controller has not initialised the Node yet). */
  | 'missing'
  /** A well-formed providerID of another of our clouds than the one configured. */
  | 'other-cloud'
  /** Of the configured cloud, but another GCE project or Aliyun region than ours. */
  | 'other-location'
  /** A node that is not a VM we can route to: AWS Fargate, Alibaba hybrid (ack-hybrid://). */
  | 'not-a-vm'
  /** A scheme none of our clouds writes (azure://, openstack://, kind://…). */
  | 'unknown-scheme'
  /** The configured cloud's scheme, but not its shape. */
  | 'malformed';

export type ProviderIdResult = { ok: true; ref: ProviderRef } | { ok: false; reason: ProviderIdReason; detail: string };

export interface ProviderIdExpectation {
  /** GCE project the cluster's VMs are in. */
  project?: string;
  /** Aliyun region the cluster's VMs are in. */
  region?: string;
}

// The ids' alphabets, tight enough that a mangled providerID is refused rather than half-read.
const AWS_INSTANCE = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
const AWS_ZONE = /^[a-z]{2}(?:-[a-z0-9]+)+[a-z]$/;
const GCE_PROJECT = /^(?:[a-z][-a-z0-9.]*[a-z0-9]:)?[a-z][-a-z0-9]{4,28}[a-z0-9]$/;
const GCE_ZONE = /^[a-z]+-[a-z]+[0-9]+-[a-z]$/;
const GCE_NAME = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const ALIYUN_REGION = /^[a-z]{2,}(?:-[a-z0-9]+)+$/;
const ALIYUN_INSTANCE = /^i-[0-9a-z]{8,32}$/;

/** The providerID as a log line may show it: quoted, control characters escaped, cut at 120 characters. */
function shown(s: string): string {
  return JSON.stringify(s.length > 120 ? `${s.slice(0, 120)}…` : s);
}

function fail(reason: ProviderIdReason, s: string, why: string): ProviderIdResult {
  return { ok: false, reason, detail: `providerID ${shown(s)}: ${why}` };
}

/** The cloud whose scheme `s` carries, if one of ours (Aliyun's bare form has none: `region.i-…`). */
function schemeCloud(s: string): ProviderKind | 'other' | undefined {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(s);
  if (!m) return undefined;
  const scheme = (m[1] as string).toLowerCase();
  if (scheme === 'aws') return 'aws';
  if (scheme === 'gce') return 'gce';
  if (scheme === 'alicloud') return 'aliyun';
  return 'other';
}

function parseAws(s: string): ProviderIdResult {
  let rest: string;
  if (s.startsWith('aws://')) rest = s.slice('aws://'.length);
  else if (AWS_INSTANCE.test(s)) return { ok: true, ref: { cloud: 'aws', instanceId: s } };
  else return fail('malformed', s, 'not aws:///<zone>/<instance-id>');
  // aws:///zone/id → "/zone/id"; aws:////id → "//id"; aws://zone/id (host = zone) → "zone/id".
  const parts = rest.split('/');
  while (parts[0] === '') parts.shift();
  if (parts.length === 2 && parts[1]?.startsWith('fargate-'))
    return fail('not-a-vm', s, 'an AWS Fargate node, not an EC2 instance');
  let zone: string | undefined;
  let id: string;
  if (parts.length === 1) id = parts[0] as string;
  else if (parts.length === 2) {
    zone = parts[0] as string;
    id = parts[1] as string;
  } else return fail('malformed', s, 'not aws:///<zone>/<instance-id>');
  if (zone !== undefined && !AWS_ZONE.test(zone)) return fail('malformed', s, `zone ${shown(zone)} is not an AWS zone`);
  if (!AWS_INSTANCE.test(id)) return fail('malformed', s, `${shown(id)} is not an EC2 instance id (i-…)`);
  return { ok: true, ref: { cloud: 'aws', instanceId: id, ...(zone ? { zone } : {}) } };
}

function parseGce(s: string, want: ProviderIdExpectation): ProviderIdResult {
  const parts = s.slice('gce://'.length).split('/');
  if (parts.length !== 3) return fail('malformed', s, 'not gce://<project>/<zone>/<instance-name>');
  const [project, zone, name] = parts as [string, string, string];
  if (!GCE_PROJECT.test(project)) return fail('malformed', s, `${shown(project)} is not a GCE project id`);
  if (!GCE_ZONE.test(zone)) return fail('malformed', s, `${shown(zone)} is not a GCE zone`);
  if (!GCE_NAME.test(name)) return fail('malformed', s, `${shown(name)} is not a GCE instance name`);
  if (want.project !== undefined && project !== want.project)
    return fail('other-location', s, `project ${project}, not ours (${want.project})`);
  return { ok: true, ref: { cloud: 'gce', instanceId: name, zone, project } };
}

function parseAliyun(s: string, want: ProviderIdExpectation): ProviderIdResult {
  const body = s.startsWith('alicloud://') ? s.slice('alicloud://'.length) : s;
  const dot = body.indexOf('.');
  if (dot < 0 || body.indexOf('.', dot + 1) >= 0) return fail('malformed', s, 'not <region>.<instance-id>');
  const region = body.slice(0, dot);
  const id = body.slice(dot + 1);
  if (!ALIYUN_REGION.test(region)) return fail('malformed', s, `${shown(region)} is not an Aliyun region id`);
  if (!ALIYUN_INSTANCE.test(id)) return fail('malformed', s, `${shown(id)} is not an ECS instance id (i-…)`);
  if (want.region !== undefined && region !== want.region)
    return fail('other-location', s, `region ${region}, not ours (${want.region})`);
  return { ok: true, ref: { cloud: 'aliyun', instanceId: id, region } };
}

/**
 * Which other of our clouds `s` is written for, by its scheme (or Aliyun's bare region.id shape), for the
 * other-cloud reason. A bare i-… claims no cloud: AWS reads it, but it names no cloud of its own.
 */
function writtenFor(s: string): ProviderKind | undefined {
  const scheme = schemeCloud(s);
  const c = scheme === 'other' ? undefined : (scheme ?? (s.includes('.') ? 'aliyun' : undefined));
  return c !== undefined && parseFor(c, s, {}).ok ? c : undefined;
}

function parseFor(cloud: ProviderKind, s: string, want: ProviderIdExpectation): ProviderIdResult {
  switch (cloud) {
    case 'aws':
      return parseAws(s);
    case 'gce':
      return s.startsWith('gce://') ? parseGce(s, want) : fail('malformed', s, 'not gce://<project>/<zone>/<name>');
    case 'aliyun':
      return parseAliyun(s, want);
  }
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
  if (s.startsWith('ack-hybrid://')) return fail('not-a-vm', s, 'an Alibaba hybrid node, not an ECS instance');
  if (schemeCloud(s) === 'other')
    return fail('unknown-scheme', s, `scheme ${shown(s.slice(0, s.indexOf('://')))} is none of aws, gce, alicloud`);
  const r = parseFor(cloud, s, want);
  if (r.ok || r.reason !== 'malformed') return r;
  const other = writtenFor(s);
  if (other !== undefined && other !== cloud)
    return fail('other-cloud', s, `a ${other} providerID, but this cluster's cloud is ${cloud}`);
  return r;
}

/** The canonical form each cloud-provider writes. */
export function formatProviderId(ref: ProviderRef): string {
  switch (ref.cloud) {
    case 'aws':
      return `aws:///${ref.zone ?? ''}/${ref.instanceId}`;
    case 'gce':
      return `gce://${ref.project ?? ''}/${ref.zone ?? ''}/${ref.instanceId}`;
    case 'aliyun':
      return `${ref.region ?? ''}.${ref.instanceId}`;
  }
}
