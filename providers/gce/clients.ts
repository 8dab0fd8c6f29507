// The official Compute clients, wired for REST fallback: a loopback `provider.endpoint` in tests and the
// demo, Google's endpoint otherwise. Auth: a static token from ROUTESYNC_GCE_ACCESS_TOKEN (emulators), or
// Application Default Credentials with the compute scope.
// The five clients by their own modules (the package index loads all ~100 Compute clients, ~120 MB more
// RSS per process), loaded by slim-protos.ts on a reduced proto set.
import type { GlobalOperationsClient } from '@google-cloud/compute/build/src/v1/global_operations_client.js';
import type { InstancesClient } from '@google-cloud/compute/build/src/v1/instances_client.js';
import type { NetworksClient } from '@google-cloud/compute/build/src/v1/networks_client.js';
import type { ProjectsClient } from '@google-cloud/compute/build/src/v1/projects_client.js';
import type { RoutesClient } from '@google-cloud/compute/build/src/v1/routes_client.js';
import { GoogleAuth, OAuth2Client } from 'google-auth-library';
import { computeClientClasses, slimGaxInstance } from './slim-protos.ts';

export interface GceClients {
  routes: RoutesClient;
  operations: GlobalOperationsClient;
  instances: InstancesClient;
  projects: ProjectsClient;
  networks: NetworksClient;
  close(): Promise<void>;
}

const COMPUTE_SCOPE = 'https://www.googleapis.com/auth/compute';
const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000;

function endpointOptions(endpoint: string | undefined): Record<string, unknown> {
  if (endpoint === undefined) return {};
  const u = new URL(endpoint);
  const protocol = u.protocol.replace(':', '');
  if (protocol !== 'http' && protocol !== 'https') throw new Error(`provider.endpoint: ${endpoint} must be an http(s) URL`);
  const port = u.port === '' ? (protocol === 'http' ? 80 : 443) : Number(u.port);
  return { apiEndpoint: u.hostname.replace(/^\[|\]$/g, ''), port, protocol };
}

function authOptions(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const token = env.ROUTESYNC_GCE_ACCESS_TOKEN;
  if (token) {
    const authClient = new OAuth2Client();
    // A far expiry: the token is static, there is nothing to refresh it with.
    authClient.setCredentials({ access_token: token, expiry_date: Date.now() + TEN_YEARS_MS });
    return { authClient };
  }
  return { auth: new GoogleAuth({ scopes: [COMPUTE_SCOPE] }) };
}

/** Loads the client modules and google-gax, once per process. */
export function loadComputeSdk(): void {
  computeClientClasses();
  slimGaxInstance();
}

export function createGceClients(endpoint: string | undefined, env: NodeJS.ProcessEnv = process.env): GceClients {
  const opts = { fallback: true, ...endpointOptions(endpoint), ...authOptions(env) };
  // The clients' types want the full google-gax module; the slim one is that module with one class swapped.
  const gax = slimGaxInstance() as unknown as ConstructorParameters<typeof RoutesClient>[1];
  const { RoutesClient, GlobalOperationsClient, InstancesClient, ProjectsClient, NetworksClient } = computeClientClasses();
  const c = {
    routes: new RoutesClient(opts, gax),
    operations: new GlobalOperationsClient(opts, gax),
    instances: new InstancesClient(opts, gax),
    projects: new ProjectsClient(opts, gax),
    networks: new NetworksClient(opts, gax),
  };
  return {
    ...c,
    async close() {
      await Promise.allSettled(Object.values(c).map((x) => x.close()));
    },
  };
}
