// Each emulated VM's metadata service, served under /_metadata/<instance-id>/ on the emulator's port: the
// agent's metadata endpoint is set to that base URL, so the agent's real client code (the same paths,
// headers and token flow as on the cloud) runs against it. The cloud decides what the paths answer.
import type { CloudEmulator, EmuRequest, EmuResponse, MetadataVm } from './types.ts';

export type { MetadataHandler, MetadataVm } from './types.ts';

const text = (status: number, body: string, outcome: string, headers?: Record<string, string>): EmuResponse => ({
  status,
  contentType: 'text/plain',
  body,
  outcome,
  ...(headers ? { headers } : {}),
});
export const metadataText = text;

export function serveMetadata(cloud: CloudEmulator, req: EmuRequest): EmuResponse {
  const m = /^\/_metadata\/(.+)$/.exec(req.url.pathname);
  if (!m || !cloud.metadata) return text(404, 'not found', 'metadata-404');
  const rest = decodeURIComponent(m[1] as string);
  const state = cloud.admin.state() as { instances?: Array<MetadataVm & { state: string }> };
  // An id may hold a slash (GCE: `<zone>/<name>`): the VM is the one whose id the path starts with.
  const vm = state.instances?.find((i) => i.state !== 'terminated' && (rest === i.id || rest.startsWith(`${i.id}/`)));
  // A VM that does not exist has no metadata service to answer.
  if (!vm) return text(404, `no VM ${rest.split('/')[0]}`, 'metadata-404');
  return cloud.metadata(req, rest.slice(vm.id.length) || '/', vm);
}
