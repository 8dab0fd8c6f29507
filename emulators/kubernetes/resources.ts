// The resources this emulator serves, with the per-kind rules of the real registry strategies that
// routesync relies on: Node's spec.podCIDRs/providerID only go from empty to a value, Node status only
// changes through nodes/status, and podCIDR/podCIDRs stay in step as the v1 conversion keeps them.
import { isIP } from 'node:net';
import { fieldForbidden, fieldInvalid, fieldRequired, type Obj, type StatusCause } from './status.ts';

export interface ResourceDef {
  plural: string;
  singular: string;
  kind: string;
  group: string;
  version: string;
  namespaced: boolean;
  shortNames: string[];
  verbs: string[];
  /** `status` when the kind has a status subresource (the main endpoint then ignores status changes). */
  statusSubresource: boolean;
  /** Listed empty and never stored: what `kubectl describe node` asks for (pods on the node). */
  alwaysEmpty?: boolean;
  /** A decoding error of the body (as Go's JSON decoding into the typed object would hit), or undefined. */
  decode?(obj: Obj): string | undefined;
  /** Defaulting after every write (before validation). */
  normalize?(obj: Obj): void;
  validate?(obj: Obj, old: Obj | undefined): StatusCause[];
}

export function apiVersionOf(r: ResourceDef): string {
  return r.group === '' ? r.version : `${r.group}/${r.version}`;
}

/** How the apiserver names a resource in messages: `nodes`, `leases.coordination.k8s.io`. */
export function qualifiedName(r: ResourceDef): string {
  return r.group === '' ? r.plural : `${r.plural}.${r.group}`;
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function validateName(name: unknown): StatusCause[] {
  if (typeof name !== 'string' || name === '')
    return [fieldRequired('metadata.name', 'name or generateName is required')];
  if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    return [
      fieldInvalid(
        'metadata.name',
        name,
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      ),
    ];
  }
  return [];
}

function isCidr(s: unknown): s is string {
  if (typeof s !== 'string') return false;
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  if (!m) return false;
  const fam = isIP(m[1] as string);
  const len = Number(m[2]);
  return (fam === 4 && len <= 32) || (fam === 6 && len <= 128);
}

function specOf(o: Obj | undefined): Obj {
  return ((o?.spec as Obj | undefined) ?? {}) as Obj;
}

function podCidrs(o: Obj | undefined): unknown[] {
  const v = specOf(o).podCIDRs;
  return Array.isArray(v) ? v : [];
}

function normalizeNode(node: Obj): void {
  const spec = (node.spec ??= {}) as Obj;
  const list = Array.isArray(spec.podCIDRs) ? spec.podCIDRs : [];
  // v1 → internal: podCIDRs wins; a lone podCIDR seeds it. Internal → v1: podCIDR is podCIDRs[0].
  if (list.length === 0 && typeof spec.podCIDR === 'string' && spec.podCIDR !== '') spec.podCIDRs = [spec.podCIDR];
  const cidrs = Array.isArray(spec.podCIDRs) ? spec.podCIDRs : [];
  if (cidrs.length > 0) spec.podCIDR = cidrs[0];
  else {
    delete spec.podCIDR;
    delete spec.podCIDRs;
  }
  node.status ??= {};
}

function validateNode(node: Obj, old: Obj | undefined): StatusCause[] {
  const errs: StatusCause[] = [];
  const cidrs = podCidrs(node);
  cidrs.forEach((c, i) => {
    if (!isCidr(c))
      errs.push(
        fieldInvalid(`spec.podCIDRs[${i}]`, c, 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'),
      );
  });
  if (cidrs.length > 2)
    errs.push({
      reason: 'FieldValueTooMany',
      message: `Too many: ${cidrs.length}: must have at most 2 items`,
      field: 'spec.podCIDRs',
    });
  if (
    cidrs.length === 2 &&
    cidrs.every(isCidr) &&
    isIP((cidrs[0] as string).split('/')[0] as string) === isIP((cidrs[1] as string).split('/')[0] as string)
  ) {
    errs.push(fieldInvalid('spec.podCIDRs', cidrs, 'may specify no more than one CIDR for each IP family'));
  }
  if (old) {
    const was = podCidrs(old);
    if (was.length > 0 && JSON.stringify(was) !== JSON.stringify(cidrs)) {
      errs.push(fieldForbidden('spec.podCIDRs', 'node updates may not change podCIDR except from "" to valid'));
    }
    const oldPid = specOf(old).providerID;
    if (typeof oldPid === 'string' && oldPid !== '' && specOf(node).providerID !== oldPid) {
      errs.push(fieldForbidden('spec.providerID', 'node updates may not change providerID except from "" to valid'));
    }
  }
  return errs;
}

const RFC3339_MICRO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/;

/**
 * Lease times are metav1.MicroTime, parsed with the layout 2006-01-02T15:04:05.000000Z07:00: exactly six
 * fractional digits. A client that sends a plain RFC 3339 time (a JavaScript Date's milliseconds) is refused.
 */
function decodeLease(lease: Obj): string | undefined {
  const spec = specOf(lease);
  for (const f of ['acquireTime', 'renewTime'] as const) {
    const v = spec[f];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string' || !RFC3339_MICRO.test(v))
      return `parsing time ${JSON.stringify(v)} as "2006-01-02T15:04:05.000000Z07:00": spec.${f} is not a MicroTime`;
  }
  return undefined;
}

function validateLease(lease: Obj): StatusCause[] {
  const spec = specOf(lease);
  const errs: StatusCause[] = [];
  for (const f of ['leaseDurationSeconds', 'leaseTransitions'] as const) {
    const v = spec[f];
    if (v === undefined || v === null) continue;
    if (!Number.isInteger(v)) errs.push(fieldInvalid(`spec.${f}`, v, 'must be an integer'));
    else if (f === 'leaseDurationSeconds' && (v as number) <= 0)
      errs.push(fieldInvalid(`spec.${f}`, v, 'must be greater than 0'));
    else if (f === 'leaseTransitions' && (v as number) < 0)
      errs.push(fieldInvalid(`spec.${f}`, v, 'must be greater than or equal to 0'));
  }
  if (spec.holderIdentity !== undefined && spec.holderIdentity !== null && typeof spec.holderIdentity !== 'string') {
    errs.push(fieldInvalid('spec.holderIdentity', spec.holderIdentity, 'must be a string'));
  }
  return errs;
}

/** Go's `omitempty` on ConfigMap.data/binaryData: an empty map is not serialized. */
function normalizeConfigMap(cm: Obj): void {
  for (const k of ['data', 'binaryData']) {
    const v = cm[k];
    if (v === null || (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0)) delete cm[k];
  }
}

function validateConfigMap(cm: Obj): StatusCause[] {
  const errs: StatusCause[] = [];
  const data = cm.data;
  if (data !== undefined && data !== null) {
    if (typeof data !== 'object' || Array.isArray(data))
      errs.push(fieldInvalid('data', data, 'must be a map of strings'));
    else
      for (const [k, v] of Object.entries(data))
        if (typeof v !== 'string') errs.push(fieldInvalid(`data[${k}]`, v, 'must be a string'));
  }
  return errs;
}

export const RESOURCES: readonly ResourceDef[] = [
  {
    plural: 'nodes',
    singular: 'node',
    kind: 'Node',
    group: '',
    version: 'v1',
    namespaced: false,
    shortNames: ['no'],
    verbs: ALL_VERBS,
    statusSubresource: true,
    normalize: normalizeNode,
    validate: validateNode,
  },
  {
    plural: 'pods',
    singular: 'pod',
    kind: 'Pod',
    group: '',
    version: 'v1',
    namespaced: true,
    shortNames: ['po'],
    verbs: ['get', 'list', 'watch'],
    statusSubresource: false,
    alwaysEmpty: true,
  },
  {
    plural: 'configmaps',
    singular: 'configmap',
    kind: 'ConfigMap',
    group: '',
    version: 'v1',
    namespaced: true,
    shortNames: ['cm'],
    verbs: ALL_VERBS,
    statusSubresource: false,
    normalize: normalizeConfigMap,
    validate: validateConfigMap,
  },
  {
    plural: 'events',
    singular: 'event',
    kind: 'Event',
    group: '',
    version: 'v1',
    namespaced: true,
    shortNames: ['ev'],
    verbs: ALL_VERBS,
    statusSubresource: false,
  },
  {
    plural: 'leases',
    singular: 'lease',
    kind: 'Lease',
    group: 'coordination.k8s.io',
    version: 'v1',
    namespaced: true,
    shortNames: [],
    verbs: ALL_VERBS,
    statusSubresource: false,
    decode: decodeLease,
    validate: validateLease,
  },
  {
    plural: 'events',
    singular: 'event',
    kind: 'Event',
    group: 'events.k8s.io',
    version: 'v1',
    namespaced: true,
    shortNames: ['ev'],
    verbs: ALL_VERBS,
    statusSubresource: false,
  },
];

export function findResource(group: string, version: string, plural: string): ResourceDef | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-routesync-emulator',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-12-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

function groupsOf(): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const r of RESOURCES) {
    if (r.group === '') continue;
    const vs = m.get(r.group) ?? [];
    if (!vs.includes(r.version)) vs.push(r.version);
    m.set(r.group, vs);
  }
  return m;
}

function apiGroup(name: string, versions: string[]): Obj {
  const vs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { kind: 'APIGroup', apiVersion: 'v1', name, versions: vs, preferredVersion: vs[0] };
}

/** GET /api, /apis, /apis/<group>, /api/v1, /apis/<group>/<version>: legacy (unaggregated) discovery. */
export function discovery(path: string, serverAddress: string): Obj | undefined {
  if (path === '/api') {
    return {
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
    };
  }
  const groups = groupsOf();
  if (path === '/apis')
    return { kind: 'APIGroupList', apiVersion: 'v1', groups: [...groups].map(([n, vs]) => apiGroup(n, vs)) };
  const g = /^\/apis\/([^/]+)$/.exec(path);
  if (g) {
    const vs = groups.get(g[1] as string);
    return vs ? apiGroup(g[1] as string, vs) : undefined;
  }
  const m = /^\/apis\/([^/]+)\/([^/]+)$/.exec(path);
  const gv =
    path === '/api/v1'
      ? { group: '', version: 'v1' }
      : m
        ? { group: m[1] as string, version: m[2] as string }
        : undefined;
  if (!gv) return undefined;
  const list = RESOURCES.filter((r) => r.group === gv.group && r.version === gv.version);
  if (list.length === 0) return undefined;
  const resources: Obj[] = [];
  for (const r of list) {
    resources.push({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames.length > 0 ? { shortNames: r.shortNames } : {}),
    });
    if (r.statusSubresource)
      resources.push({
        name: `${r.plural}/status`,
        singularName: '',
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: ['get', 'patch', 'update'],
      });
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: gv.group === '' ? 'v1' : `${gv.group}/${gv.version}`,
    resources,
  };
}
