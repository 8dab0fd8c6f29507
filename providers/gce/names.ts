// Route names and the ownership mark: GCE routes have names (≤63 chars, RFC1035) and descriptions, and a
// route is ours only when both carry this cluster's mark.
import { parseCidr } from '../../src/lib/cidr.ts';

export function routeName(cluster: string, destination: string): string {
  const c = parseCidr(destination);
  const ip = [c.base >>> 24, (c.base >>> 16) & 255, (c.base >>> 8) & 255, c.base & 255];
  // The config keeps cluster ≤ 26 chars, so this is at most 26 + 1 + 18 = 45 characters.
  return `${cluster}-${ip.join('-')}-${c.prefix}`;
}

export function ownerMark(cluster: string): string {
  return `routesync:${cluster}`;
}

export function isMarked(cluster: string, name: string, description: string | null | undefined): boolean {
  return name.startsWith(`${cluster}-`) && description === ownerMark(cluster);
}

/** Last path segment of a resource URL (`…/instances/node-1` → `node-1`). */
export function lastSegment(url: string): string {
  return url.split('/').filter(Boolean).pop() ?? '';
}

export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
