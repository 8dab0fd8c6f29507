// Which credentials the EC2 and Service Quotas clients use. A real endpoint gets the SDK's default chain
// (environment, shared files, web identity/IRSA, ECS, then the instance metadata service). A loopback
// `provider.endpoint` is an emulator or a peer such as moto: its credentials come from the environment
// only, so a host without them never asks 169.254.169.254 (seconds of timeouts, and a request to a
// metadata server that is not meant for this). Either way, missing credentials are one line.
import { isLoopbackUrl } from '../../src/lib/loopback.ts';
import { ProviderError } from '../types.ts';

const REAL_HINT =
  'no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run with an IAM role (IRSA on EKS, an instance or task role)';

function loopbackHint(endpoint: string): string {
  return `no AWS credentials for provider.endpoint ${endpoint}: on a loopback endpoint they come from the environment only (no metadata server is asked); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (any values for an emulator)`;
}

function noCredentials(message: string, cause?: unknown): ProviderError {
  return new ProviderError('auth', 'NoCredentials', message, {
    action: 'credentials',
    ...(cause !== undefined ? { cause } : {}),
  });
}

/** What the SDK clients' `credentials` option takes (the SDK's own type, restated to need no extra package). */
interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}
type CredentialOption = () => Promise<StaticCredentials>;

/** The clients' `credentials` option: undefined keeps the SDK's default chain. */
export function awsCredentials(
  endpoint: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): CredentialOption | undefined {
  if (!isLoopbackUrl(endpoint)) return undefined;
  // Read at the first call, as the SDK's own fromEnv does.
  return async () => {
    const accessKeyId = env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) throw noCredentials(loopbackHint(endpoint as string));
    return { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
  };
}

/** Resolves the client's credentials once; the SDK's chain error (several lines, per provider) becomes one line. */
export async function checkAwsCredentials(resolve: () => Promise<unknown>): Promise<void> {
  try {
    await resolve();
  } catch (e) {
    if (e instanceof ProviderError) throw e;
    throw noCredentials(REAL_HINT, e);
  }
}
