// GCE's spec.providerID, as cloud-provider-gcp writes it: gce://<project>/<zone>/<instance-name>. Names are
// unique within a zone only, so the id it gives is the provider's `<zone>/<name>` (./instance-id.ts).
import { type FormResult, malformed, type ProviderIdForm, shownId, type VmRef } from '../provider-id.ts';
import { gceInstanceId, splitGceInstanceId } from './instance-id.ts';

const PROJECT = /^(?:[a-z][-a-z0-9.]*[a-z0-9]:)?[a-z][-a-z0-9]{4,28}[a-z0-9]$/;
const ZONE = /^[a-z]+-[a-z]+[0-9]+-[a-z]$/;
const NAME = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;

function parse(s: string): FormResult {
  if (!s.startsWith('gce://')) return malformed('not gce://<project>/<zone>/<name>');
  const parts = s.slice('gce://'.length).split('/');
  if (parts.length !== 3) return malformed('not gce://<project>/<zone>/<instance-name>');
  const [project, zone, name] = parts as [string, string, string];
  if (!PROJECT.test(project)) return malformed(`${shownId(project)} is not a GCE project id`);
  if (!ZONE.test(zone)) return malformed(`${shownId(zone)} is not a GCE zone`);
  if (!NAME.test(name)) return malformed(`${shownId(name)} is not a GCE instance name`);
  return { ok: true, ref: { instanceId: gceInstanceId(zone, name), zone, project } };
}

export const gceProviderId: ProviderIdForm = {
  schemes: ['gce'],
  bareNamesCloud: false,
  location: ['project'],
  // The id carries its zone already: two Nodes naming one VM share it as it is.
  parse,
  format: (ref: VmRef) => {
    const id = splitGceInstanceId(ref.instanceId);
    return `gce://${ref.project ?? ''}/${id?.zone ?? ref.zone ?? ''}/${id?.name ?? ref.instanceId}`;
  },
};
