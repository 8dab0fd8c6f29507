// GCE's spec.providerID, as cloud-provider-gcp writes it: gce://<project>/<zone>/<instance-name> (the
// instance name is the id our provider uses; names are unique within a zone only).
import { type FormResult, malformed, type ProviderIdForm, shownId, type VmRef } from '../provider-id.ts';

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
  return { ok: true, ref: { instanceId: name, zone, project } };
}

export const gceProviderId: ProviderIdForm = {
  schemes: ['gce'],
  bareNamesCloud: false,
  location: ['project'],
  idPerZone: true,
  parse,
  format: (ref: VmRef) => `gce://${ref.project ?? ''}/${ref.zone ?? ''}/${ref.instanceId}`,
};
