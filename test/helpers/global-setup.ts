// Fails the run up front, with the install command, when a real part the suite relies on is missing:
// a silent skip would hide the etcd and promtool tests.
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  const missing: string[] = [];
  for (const [bin, pkg] of [
    ['etcd', 'etcd-server'],
    ['promtool', 'prometheus'],
  ] as const) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    } catch {
      missing.push(`${bin} (apt-get install -y ${pkg})`);
    }
  }
  if (missing.length > 0)
    throw new Error(`the test suite needs ${missing.join(' and ')}; npm test installs them when run as root`);
}
