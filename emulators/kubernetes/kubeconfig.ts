// A kubeconfig for the emulator: one cluster, one user (a bearer token when the emulator checks them), one
// context, current. Over http `insecure-skip-tls-verify` is set because @kubernetes/client-node refuses an
// http:// server without it (kubectl ignores it for http); over https the CA is embedded.
import { stringify } from 'yaml';

export function kubeconfigFor(
  server: string,
  opts: { token?: string; namespace?: string; name?: string; ca?: string } = {},
): string {
  const name = opts.name ?? 'routesync-emulator';
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name,
        cluster: {
          server,
          ...(opts.ca
            ? { 'certificate-authority-data': Buffer.from(opts.ca).toString('base64') }
            : { 'insecure-skip-tls-verify': true }),
        },
      },
    ],
    users: [{ name, user: opts.token ? { token: opts.token } : {} }],
    contexts: [
      { name, context: { cluster: name, user: name, ...(opts.namespace ? { namespace: opts.namespace } : {}) } },
    ],
    'current-context': name,
    preferences: {},
  });
}
