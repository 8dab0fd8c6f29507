// What a plug-in says about its cloud's Kubernetes spec.providerID form (providers/<cloud>/provider-id.ts
// fills it in, without the SDK). The generic reading — missing, whitespace, unknown schemes, another of our
// clouds, a VM outside the configured project/region — is src/kubernetes/provider-id.ts, over the table.

/** The parts of a VM's location a providerID may carry (and the config fields that bound them). */
export type LocationField = 'zone' | 'project' | 'region';

/** A VM as its providerID names it. */
export interface VmRef {
  /** What the provider's Instance.id is (e.g. the EC2/ECS instance id, the GCE instance name). */
  instanceId: string;
  zone?: string;
  project?: string;
  region?: string;
}

/** One cloud's reading of a providerID: the VM, or why it is not one (`why` goes after `providerID "…": `). */
export type FormResult = { ok: true; ref: VmRef } | { ok: false; reason: 'malformed' | 'not-a-vm'; why: string };

export interface ProviderIdForm {
  /** The URL schemes (before `://`, lower case) this cloud's cloud-provider writes or reads. */
  readonly schemes: readonly string[];
  /**
   * Whether a providerID without a scheme, read by parse(), names this cloud for the other-cloud reason
   * (Aliyun's `region.i-…` does; AWS reads a bare `i-…` but it names no cloud of its own).
   */
  readonly bareNamesCloud: boolean;
  /** Schemes of this cloud's nodes that are not VMs we can route to (scheme → why), e.g. Alibaba hybrid. */
  readonly notVmSchemes?: Readonly<Record<string, string>>;
  /**
   * The config fields (`provider.<field>`) that bound where the cluster's VMs are, each also a VmRef part:
   * a providerID of another value is `other-location`.
   */
  readonly location: readonly LocationField[];
  /** Instance ids are unique within a zone only (GCE instance names), not within the cloud account. */
  readonly idPerZone?: boolean;
  /** Reads `s` (no whitespace or control characters) as this cloud's form; never throws. */
  parse(s: string): FormResult;
  /** The canonical form the cloud-provider writes. */
  format(ref: VmRef): string;
}

/** A providerID (or part of one) as a log line may show it: quoted, control characters escaped, cut at 120. */
export function shownId(s: string): string {
  return JSON.stringify(s.length > 120 ? `${s.slice(0, 120)}…` : s);
}

export function malformed(why: string): FormResult {
  return { ok: false, reason: 'malformed', why };
}
