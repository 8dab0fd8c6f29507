// Aliyun's spec.providerID, as cloud-provider-alibaba-cloud writes it: <region>.<instance-id>, also read
// with `alicloud://`; an ACK hybrid node (ack-hybrid://) is not an ECS instance.
import { type FormResult, malformed, type ProviderIdForm, shownId, type VmRef } from '../provider-id.ts';

const REGION = /^[a-z]{2,}(?:-[a-z0-9]+)+$/;
const INSTANCE = /^i-[0-9a-z]{8,32}$/;

function parse(s: string): FormResult {
  const body = s.startsWith('alicloud://') ? s.slice('alicloud://'.length) : s;
  const dot = body.indexOf('.');
  if (dot < 0 || body.indexOf('.', dot + 1) >= 0) return malformed('not <region>.<instance-id>');
  const region = body.slice(0, dot);
  const id = body.slice(dot + 1);
  if (!REGION.test(region)) return malformed(`${shownId(region)} is not an Aliyun region id`);
  if (!INSTANCE.test(id)) return malformed(`${shownId(id)} is not an ECS instance id (i-…)`);
  return { ok: true, ref: { instanceId: id, region } };
}

export const aliyunProviderId: ProviderIdForm = {
  schemes: ['alicloud'],
  bareNamesCloud: true,
  notVmSchemes: { 'ack-hybrid': 'an Alibaba hybrid node, not an ECS instance' },
  location: ['region'],
  parse,
  format: (ref: VmRef) => `${ref.region ?? ''}.${ref.instanceId}`,
};
