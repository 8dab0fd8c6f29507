// IPv4 CIDR math on unsigned 32-bit integers. Hand-written rather than a library: the operations needed
// (strict parse that refuses host bits, containment, overlap, the n-th subnet of a prefix) are a few lines
// each on uint32, and the libraries offer neither subnet enumeration nor strictness about host bits.

export interface Cidr {
  /** Network address as an unsigned 32-bit integer. */
  base: number;
  prefix: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function parseIp(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) throw new Error(`"${text}" is not an IPv4 address`);
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function sizeOf(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

/** Strict: `10.0.0.1/8` (host bits set) is refused, since it almost always hides a typo. */
export function parseCidr(text: string): Cidr {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a valid IPv4 CIDR`);
  const prefix = Number(m[2]);
  let ip: number;
  try {
    ip = parseIp(m[1] as string);
  } catch {
    throw new Error(`"${text}" is not a valid IPv4 CIDR`);
  }
  if (prefix > 32) throw new Error(`"${text}" is not a valid IPv4 CIDR`);
  if ((ip & ~maskOf(prefix)) >>> 0 !== 0) {
    throw new Error(`"${text}" has host bits set (did you mean ${formatIp((ip & maskOf(prefix)) >>> 0)}/${prefix}?)`);
  }
  return { base: ip, prefix };
}

export function isCidr(text: string): boolean {
  try {
    parseCidr(text);
    return true;
  } catch {
    return false;
  }
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.base)}/${c.prefix}`;
}

export function lastIp(c: Cidr): number {
  return c.base + sizeOf(c) - 1;
}

export function containsIp(c: Cidr, ip: number): boolean {
  return (ip & maskOf(c.prefix)) >>> 0 === c.base;
}

/** `outer` contains all of `inner`. */
export function contains(outer: Cidr, inner: Cidr): boolean {
  return inner.prefix >= outer.prefix && containsIp(outer, inner.base);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.base <= lastIp(b) && b.base <= lastIp(a);
}

/** Number of `/len` subnets in `c`. */
export function subnetCount(c: Cidr, len: number): number {
  if (len < c.prefix || len > 32) throw new Error(`/${len} does not fit in ${formatCidr(c)}`);
  return 2 ** (len - c.prefix);
}

/** The `index`-th `/len` subnet of `c`. */
export function nthSubnet(c: Cidr, len: number, index: number): Cidr {
  const count = subnetCount(c, len);
  if (!Number.isInteger(index) || index < 0 || index >= count)
    throw new Error(`subnet index ${index} out of range 0..${count - 1}`);
  return { base: c.base + index * 2 ** (32 - len), prefix: len };
}

/** Index of `sub` among the `/sub.prefix` subnets of `c`, or -1 when it is not one of them. */
export function subnetIndex(c: Cidr, sub: Cidr): number {
  if (!contains(c, sub)) return -1;
  return (sub.base - c.base) / 2 ** (32 - sub.prefix);
}

/** Does the CIDR text lie inside `outer`? Unparseable text is never inside. */
export function cidrInside(outer: Cidr, text: string): boolean {
  try {
    return contains(outer, parseCidr(text));
  } catch {
    return false;
  }
}

/**
 * Orders CIDR (or bare address) text numerically — 10.0.2.0/24 before 10.0.10.0/24 — then by prefix, wider
 * first. Text that is not an address sorts after every address, by plain string order, so a sort never throws.
 */
export function compareCidr(a: string, b: string): number {
  const ka = cidrKey(a);
  const kb = cidrKey(b);
  if (ka && kb) return ka[0] - kb[0] || ka[1] - kb[1];
  if (ka) return -1;
  if (kb) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function cidrKey(text: string): [number, number] | undefined {
  const [ip, len, ...rest] = text.trim().split('/');
  if (rest.length > 0 || ip === undefined) return undefined;
  const prefix = len === undefined ? 32 : /^\d{1,2}$/.test(len) ? Number(len) : NaN;
  if (!(prefix <= 32)) return undefined;
  try {
    return [parseIp(ip), prefix];
  } catch {
    return undefined;
  }
}
