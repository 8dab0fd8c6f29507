// The ENI questions the AWS adapter asks EC2 (the answers go to the EniDirectory of providers/aws/enis.ts):
// the primary ENI of instances about to be routed to, and the attachment of ENIs routes name alone.
import {
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  type Route as Ec2Route,
} from '@aws-sdk/client-ec2';
import { collectPages } from '../../src/lib/paging.ts';
import { ProviderError } from '../types.ts';
import { malformed } from './errors.ts';
import { parseInstancesPage } from './parse.ts';
import type { AwsSession } from './session.ts';

/**
 * Active routes that name an ENI but no instance (moto does so for every ENI route; EC2 for an ENI that is
 * no instance's) are asked about once: the ENI's attachment says whether an instance is behind it. Without
 * the permission they stay unattributed, which makes them foreign (never touched), not ours.
 */
export async function learnRouteEnis(s: AwsSession, raws: readonly Ec2Route[], signal?: AbortSignal): Promise<void> {
  const { enis, ec2, call, log, maxPages } = s;
  const unknown = [
    ...new Set(
      raws.flatMap((r) =>
        r.NetworkInterfaceId !== undefined &&
        r.InstanceId === undefined &&
        r.State === 'active' &&
        !enis.ownerOf(r.NetworkInterfaceId)
          ? [r.NetworkInterfaceId]
          : [],
      ),
    ),
  ];
  // A filter (not NetworkInterfaceIds) so that an ENI deleted since is left out instead of failing the call.
  for (let i = 0; i < unknown.length; i += 200) {
    const ids = unknown.slice(i, i + 200);
    try {
      await collectPages(
        async (token) => {
          const out = await call('DescribeNetworkInterfaces', signal, () =>
            ec2.send(
              new DescribeNetworkInterfacesCommand({
                Filters: [{ Name: 'network-interface-id', Values: ids }],
                MaxResults: 1000,
                ...(token ? { NextToken: token } : {}),
              }),
              { abortSignal: signal },
            ),
          );
          if (!Array.isArray(out.NetworkInterfaces))
            throw malformed('DescribeNetworkInterfaces', 'no networkInterfaceSet', out.$metadata.requestId);
          return { items: out.NetworkInterfaces, next: out.NextToken };
        },
        (n) => {
          const a = n.Attachment;
          if (typeof n.NetworkInterfaceId === 'string' && typeof a?.InstanceId === 'string')
            enis.learnAttachment(n.NetworkInterfaceId, { instanceId: a.InstanceId, deviceIndex: a.DeviceIndex ?? 0 });
        },
        {
          pageSize: 1000,
          key: (n) => n.NetworkInterfaceId as string,
          maxPages,
          fail: (why) => malformed('DescribeNetworkInterfaces', why),
          signal,
        },
      );
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      if (!(e instanceof ProviderError && e.kind === 'auth')) throw e;
      log.warn(
        { code: e.code, enis: ids.length },
        'cannot read network interfaces (ec2:DescribeNetworkInterfaces): routes to ENIs without an instance id are treated as foreign',
      );
      return;
    }
  }
}

/**
 * The primary ENI (device index 0) of each instance, from what DescribeInstances answered so far, else asked
 * by InstanceIds. An instance EC2 does not know, or one without a primary ENI (terminated), is left out: its
 * change fails naming it.
 */
export async function learnPrimaryEnis(s: AwsSession, ids: readonly string[], signal: AbortSignal): Promise<void> {
  const { enis, ec2, call } = s;
  const missing = [...new Set(ids)].filter((id) => enis.primaryOf(id) === undefined);
  async function ask(batch: readonly string[]): Promise<void> {
    try {
      await call('DescribeInstances', signal, async () =>
        parseInstancesPage(
          await ec2.send(new DescribeInstancesCommand({ InstanceIds: [...batch] }), { abortSignal: signal }),
          enis,
        ),
      );
    } catch (e) {
      if (!(e instanceof ProviderError && e.code === 'InvalidInstanceID.NotFound')) throw e;
      if (batch.length > 1) for (const id of batch) await ask([id]);
    }
  }
  for (let i = 0; i < missing.length; i += 100) await ask(missing.slice(i, i + 100));
}
