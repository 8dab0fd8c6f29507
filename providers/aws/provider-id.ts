// AWS's spec.providerID, as cloud-provider-aws writes it: aws:///<zone>/<instance-id>. It also reads
// aws:////<id> (no zone), aws://<zone>/<id> (zone as host) and a bare i-…; a Fargate node is not a VM.
import { type FormResult, malformed, type ProviderIdForm, shownId, type VmRef } from '../provider-id.ts';

// Tight enough that a mangled providerID is refused rather than half-read.
const INSTANCE = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
const ZONE = /^[a-z]{2}(?:-[a-z0-9]+)+[a-z]$/;
const SHAPE = 'not aws:///<zone>/<instance-id>';

function parse(s: string): FormResult {
  let rest: string;
  if (s.startsWith('aws://')) rest = s.slice('aws://'.length);
  else if (INSTANCE.test(s)) return { ok: true, ref: { instanceId: s } };
  else return malformed(SHAPE);
  // aws:///zone/id → "/zone/id"; aws:////id → "//id"; aws://zone/id (host = zone) → "zone/id".
  const parts = rest.split('/');
  while (parts[0] === '') parts.shift();
  if (parts.length === 2 && parts[1]?.startsWith('fargate-'))
    return { ok: false, reason: 'not-a-vm', why: 'an AWS Fargate node, not an EC2 instance' };
  let zone: string | undefined;
  let id: string;
  if (parts.length === 1) id = parts[0] as string;
  else if (parts.length === 2) {
    zone = parts[0] as string;
    id = parts[1] as string;
  } else return malformed(SHAPE);
  if (zone !== undefined && !ZONE.test(zone)) return malformed(`zone ${shownId(zone)} is not an AWS zone`);
  if (!INSTANCE.test(id)) return malformed(`${shownId(id)} is not an EC2 instance id (i-…)`);
  return { ok: true, ref: { instanceId: id, ...(zone ? { zone } : {}) } };
}

export const awsProviderId: ProviderIdForm = {
  schemes: ['aws'],
  bareNamesCloud: false,
  // The region bounds the API calls, and an instance id of another region is simply not found.
  location: [],
  parse,
  format: (ref: VmRef) => `aws:///${ref.zone ?? ''}/${ref.instanceId}`,
};
