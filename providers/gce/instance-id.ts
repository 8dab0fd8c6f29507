// A GCE VM's identity. Instance names are unique per zone, not per project: two VMs may share a name in two
// zones, so the id everything else keys on (allocations, routes' targets, status, metrics, `release`) is
// `<zone>/<name>`, the tail of the instance's own URL (…/zones/<zone>/instances/<name>). Versions before it
// keyed a VM by its bare name: such ids are "former" ids, migrated by name + private IP (src/migrate-ids.ts).

// Compute's own alphabets (RFC 1035 names; zones like us-central1-a).
const NAME = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const ZONE = /^[a-z]+-[a-z]+[0-9]+-[a-z]$/;

export function gceInstanceId(zone: string, name: string): string {
  return `${zone}/${name}`;
}

/** `<zone>/<name>` → its parts; undefined for anything else (a bare name written by an older version). */
export function splitGceInstanceId(id: string): { zone: string; name: string } | undefined {
  const slash = id.indexOf('/');
  if (slash < 0) return undefined;
  const zone = id.slice(0, slash);
  const name = id.slice(slash + 1);
  return ZONE.test(zone) && NAME.test(name) ? { zone, name } : undefined;
}

/** True for a bare instance name: the id an older version keyed this VM by. */
export function isFormerGceId(id: string): boolean {
  return NAME.test(id);
}

/** What an older version called the VM of `id` (its bare name), if `id` is a zoned id. */
export function formerGceId(id: string): string | undefined {
  return splitGceInstanceId(id)?.name;
}

/**
 * The id of the instance a URL names (full or partial: `…/zones/<zone>/instances/<name>`); a URL without a
 * zone (which Compute does not write) gives the bare name, which matches only an unmigrated record.
 */
export function gceIdOfInstanceUrl(url: string): string {
  const m = /zones\/([^/]+)\/instances\/([^/?#]+)$/.exec(url);
  if (m) return gceInstanceId(m[1] as string, m[2] as string);
  return url.split('/').filter(Boolean).pop() ?? '';
}
