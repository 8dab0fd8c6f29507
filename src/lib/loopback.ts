// Is this address or URL on this host? /status answers only loopback clients by default, and a loopback
// provider.endpoint (an emulator) must never make a credential chain look for a cloud metadata server.

/** 127.0.0.0/8, ::1, and IPv4 loopback as an IPv6-mapped address (a dual-stack listener's view). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.replace(/^\[|\]$/g, '');
  const v4 = a.toLowerCase().startsWith('::ffff:') ? a.slice(7) : a;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4) || a === '::1';
}

/** The URL's host is a loopback address or `localhost`. Unparseable or absent: false. */
export function isLoopbackUrl(url: string | undefined): boolean {
  if (url === undefined) return false;
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return false;
  }
  return host === 'localhost' || host.endsWith('.localhost') || isLoopbackAddress(host);
}
