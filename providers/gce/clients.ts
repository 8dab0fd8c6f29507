// The official Compute clients, wired for REST fallback: a loopback `provider.endpoint` in tests and the
// demo, Google's endpoint otherwise. Auth: a static token from ROUTESYNC_GCE_ACCESS_TOKEN (emulators), or
// Application Default Credentials with the compute scope. A loopback endpoint never uses the ADC chain's
// last resort, the metadata server: there it is the token or a key file (GOOGLE_APPLICATION_CREDENTIALS).
// The five clients by their own modules (the package index loads all ~100 Compute clients, ~120 MB more
// RSS per process), loaded by slim-protos.ts on a reduced proto set.
import type { GlobalOperationsClient } from '@google-cloud/compute/build/src/v1/global_operations_client.js';
import type { InstancesClient } from '@google-cloud/compute/build/src/v1/instances_client.js';
import type { NetworksClient } from '@google-cloud/compute/build/src/v1/networks_client.js';
import type { ProjectsClient } from '@google-cloud/compute/build/src/v1/projects_client.js';
import type { RoutesClient } from '@google-cloud/compute/build/src/v1/routes_client.js';
import { GoogleAuth, OAuth2Client } from 'google-auth-library';
import { isLoopbackUrl } from '../../src/lib/loopback.ts';
import { ProviderError } from '../types.ts';
import { computeClientClasses, slimGaxInstance } from './slim-protos.ts';

export interface GceClients {
  routes: RoutesClient;
  operations: GlobalOperationsClient;
  instances: InstancesClient;
  projects: ProjectsClient;
  networks: NetworksClient;
  /** Gets a token now: missing credentials are one ProviderError naming what to set. */
  checkAuth(): Promise<void>;
  close(): Promise<void>;
}

const COMPUTE_SCOPE = 'https://www.googleapis.com/auth/compute';
const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000;

function endpointOptions(endpoint: string | undefined): Record<string, unknown> {
  if (endpoint === undefined) return {};
  const u = new URL(endpoint);
  const protocol = u.protocol.replace(':', '');
  if (protocol !== 'http' && protocol !== 'https')
    throw new Error(`provider.endpoint: ${endpoint} must be an http(s) URL`);
  const port = u.port === '' ? (protocol === 'http' ? 80 : 443) : Number(u.port);
  return { apiEndpoint: u.hostname.replace(/^\[|\]$/g, ''), port, protocol };
}

const ADC_HINT =
  'no GCE credentials found: set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, run on GCE/GKE with a service account (Workload Identity), or set ROUTESYNC_GCE_ACCESS_TOKEN';

function noCredentials(message: string, cause?: unknown): ProviderError {
  return new ProviderError('auth', 'NoCredentials', message, {
    action: 'credentials',
    ...(cause !== undefined ? { cause } : {}),
  });
}

type Auth = { authClient: OAuth2Client } | { auth: GoogleAuth };

function authOptions(env: NodeJS.ProcessEnv, endpoint: string | undefined): Auth {
  const token = env.ROUTESYNC_GCE_ACCESS_TOKEN;
  if (token) {
    const authClient = new OAuth2Client();
    // A far expiry: the token is static, there is nothing to refresh it with.
    authClient.setCredentials({ access_token: token, expiry_date: Date.now() + TEN_YEARS_MS });
    return { authClient };
  }
  if (isLoopbackUrl(endpoint)) {
    const keyFile = env.GOOGLE_APPLICATION_CREDENTIALS;
    if (!keyFile) {
      throw noCredentials(
        `no GCE credentials for provider.endpoint ${endpoint}: on a loopback endpoint no metadata server is asked; set ROUTESYNC_GCE_ACCESS_TOKEN (any value for an emulator) or GOOGLE_APPLICATION_CREDENTIALS`,
      );
    }
    return { auth: new GoogleAuth({ keyFilename: keyFile, scopes: [COMPUTE_SCOPE] }) };
  }
  return { auth: new GoogleAuth({ scopes: [COMPUTE_SCOPE] }) };
}

async function checkAuth(a: Auth): Promise<void> {
  if ('authClient' in a) return;
  try {
    await a.auth.getAccessToken();
  } catch (e) {
    const first = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    // ADC found nothing at all: say what to set. Anything else (an unreadable key file, a refused token) is named as it is.
    throw noCredentials(
      /Could not load the default credentials/i.test(first ?? '') ? ADC_HINT : `GCE credentials: ${first}`,
      e,
    );
  }
}

/** Loads the client modules and google-gax, once per process. */
export function loadComputeSdk(): void {
  computeClientClasses();
  slimGaxInstance();
}

export function createGceClients(endpoint: string | undefined, env: NodeJS.ProcessEnv = process.env): GceClients {
  const auth = authOptions(env, endpoint);
  const opts = { fallback: true, ...endpointOptions(endpoint), ...auth };
  // The clients' types want the full google-gax module; the slim one is that module with one class swapped.
  const gax = slimGaxInstance() as unknown as ConstructorParameters<typeof RoutesClient>[1];
  const { RoutesClient, GlobalOperationsClient, InstancesClient, ProjectsClient, NetworksClient } =
    computeClientClasses();
  const c = {
    routes: new RoutesClient(opts, gax),
    operations: new GlobalOperationsClient(opts, gax),
    instances: new InstancesClient(opts, gax),
    projects: new ProjectsClient(opts, gax),
    networks: new NetworksClient(opts, gax),
  };
  return {
    ...c,
    checkAuth: () => checkAuth(auth),
    async close() {
      await Promise.allSettled(Object.values(c).map((x) => x.close()));
    },
  };
}
