// Wire-level emulator of the Alibaba Cloud route subset: VPC 2016-04-28 (route tables and entries), ECS
// 2014-05-26 (DescribeInstances) and Quota Center 2020-05-10 (GetProductQuota), on one RPC endpoint that
// dispatches on Action + Version, as pop-core sends them. The calls are served by reads.ts and writes.ts over
// the state of world.ts; the admin API is admin.ts.
import { hostileAliyun } from './hostile.ts';
import { drawMs } from '../shared/profile.ts';
import type { CloudEmulator, EmulatorContext, EmulatorFactory, EmuRequest } from '../shared/types.ts';
import { errorResponse, readParams } from './wire.ts';
import { aliyunMetadata } from './metadata.ts';
import { aliyunAdmin } from './admin.ts';
import { readHandlers } from './reads.ts';
import { writeHandlers } from './writes.ts';
import { aliyunWorld, ECS_VERSION, EMULATOR_TOPOLOGY, QUOTAS_VERSION, VPC_VERSION } from './world.ts';

export { ECS_VERSION, EMULATOR_TOPOLOGY, QUOTAS_VERSION, ROUTE_QUOTA_ACTION, VPC_VERSION } from './world.ts';

export const createAliyunEmulator: EmulatorFactory = (ctx: EmulatorContext): CloudEmulator => {
  const w = aliyunWorld(ctx);
  const { profile, clock, vpc, windows, clientTokens } = w;
  const handlers = { ...readHandlers(w), ...writeHandlers(w) };

  const mutating = (action: string) => /^(Create|Delete|Modify)/.test(action);
  const KNOWN_VERSIONS = new Set([VPC_VERSION, ECS_VERSION, QUOTAS_VERSION]);

  const emulator: CloudEmulator = {
    kind: 'aliyun',
    metadata: aliyunMetadata,
    topology: {
      region: EMULATOR_TOPOLOGY.region,
      vpcId: EMULATOR_TOPOLOGY.vpcId,
      tables: EMULATOR_TOPOLOGY.tables,
      credentials: { ALIBABA_CLOUD_ACCESS_KEY_ID: 'local', ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'local' },
      credentialsRule: 'any AccessKeyId and secret (signatures are not checked; an AccessKeyId must be present)',
    },

    identify(req: EmuRequest) {
      const p = readParams(req);
      const action = p.get('Action') ?? String(req.headers['x-acs-action'] ?? 'Unknown');
      return { action, client: p.get('AccessKeyId') ?? 'anonymous', mutating: mutating(action) };
    },

    async handle(req, action) {
      const p = readParams(req);
      vpc.settle(clock.now());
      const version = p.get('Version') ?? '';
      if (!KNOWN_VERSIONS.has(version)) return errorResponse('InvalidVersion');
      const h = handlers[`${version}/${action}`];
      if (!h) return errorResponse('InvalidAction.NotFound');
      if (!p.get('AccessKeyId')) return errorResponse('InvalidAccessKeyId.NotFound');
      if (version !== QUOTAS_VERSION) {
        const region = p.get('RegionId');
        if (!region)
          return errorResponse(
            'MissingParameter',
            'The input parameter "RegionId" that is mandatory for processing this request is not supplied.',
          );
        if (region !== EMULATOR_TOPOLOGY.region) return errorResponse('InvalidRegionId.NotFound');
      }
      const write = mutating(action);
      if (!windows.tryTake(p.get('AccessKeyId') as string, action, write)) return errorResponse('Throttling.User');
      const token = write ? p.get('ClientToken') : undefined;
      if (token) {
        const seen = clientTokens.get(`${action}/${token}`);
        if (seen) return seen;
      }
      try {
        const out = h(p, req);
        if (token && out.status === 200) clientTokens.set(`${action}/${token}`, out);
        return out;
      } catch (e) {
        return errorResponse('InternalError', `emulator: ${String(e)}`);
      }
    },

    hostileResponse: hostileAliyun,

    faultResponse(error) {
      if (error === 'throttle') return errorResponse('Throttling');
      if (error === '5xx') return errorResponse('ServiceUnavailable');
      return errorResponse(error);
    },

    latencyMs(_action, write) {
      return drawMs(write ? profile.writeLatency : profile.readLatency, ctx.rng);
    },

    admin: aliyunAdmin(w),
  };

  return emulator;
};
