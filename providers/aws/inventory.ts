// The AWS inventory: instances by tag (DescribeInstances, every page, checked), and VMs asked for by id.
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { collectPages } from '../../src/lib/paging.ts';
import { ProviderError, type Instance, type InstanceLookup } from '../types.ts';
import type { AwsSession } from './session.ts';
import { malformed } from './errors.ts';
import { parseInstancesPage } from './parse.ts';

export function awsInventory(s: AwsSession) {
  const { config, ec2, call, pageSize, maxPages } = s;
  const vpcId = config.vpcId;
  async function listInstances(signal?: AbortSignal): Promise<Instance[]> {
    const { key, value } = config.instanceFilter;
    const out: Instance[] = [];
    const size = Math.min(1000, Math.max(5, pageSize));
    await collectPages(
      async (token) => {
        const page = await call('DescribeInstances', signal, async () =>
          parseInstancesPage(
            await ec2.send(
              new DescribeInstancesCommand({
                Filters: [{ Name: `tag:${key}`, Values: [value] }],
                MaxResults: size,
                ...(token ? { NextToken: token } : {}),
              }),
              {
                abortSignal: signal,
              },
            ),
            s.enis,
          ),
        );
        return { items: page.instances, next: page.nextToken };
      },
      (i) => {
        // Terminated instances have left the VPC (no vpcId); they stay listed so their routes are explained.
        if (i.vpcId !== undefined && i.vpcId !== vpcId) return;
        const { vpcId: _v, ...inst } = i;
        out.push(inst);
      },
      { pageSize: size, key: (i) => i.id, maxPages, fail: (why) => malformed('DescribeInstances', why), signal },
    );
    return out;
  }

  async function lookupInstances(ids: readonly string[], signal?: AbortSignal): Promise<Map<string, InstanceLookup>> {
    const out = new Map<string, InstanceLookup>();
    // By InstanceIds, without filters: EC2 answers every id it knows (terminated ones for about an hour)
    // and refuses the whole call with InvalidInstanceID.NotFound if one id is unknown, so a refused batch
    // is asked again id by id to learn which. A failed call is never read as "not found".
    async function ask(batch: readonly string[]): Promise<void> {
      let page;
      try {
        page = await call('DescribeInstances', signal, async () =>
          parseInstancesPage(
            await ec2.send(new DescribeInstancesCommand({ InstanceIds: [...batch] }), { abortSignal: signal }),
            s.enis,
          ),
        );
      } catch (e) {
        if (!(e instanceof ProviderError && e.code === 'InvalidInstanceID.NotFound')) throw e;
        if (batch.length === 1) {
          out.set(batch[0] as string, 'notFound');
          return;
        }
        for (const id of batch) await ask([id]);
        return;
      }
      if (page.nextToken)
        throw malformed('DescribeInstances', `a lookup of ${batch.length} id(s) answered with a further page`);
      for (const i of page.instances) if (batch.includes(i.id)) out.set(i.id, i.state);
      const unanswered = batch.filter((id) => !out.has(id));
      // EC2 either lists an id asked for or refuses the call: silence about one is a broken answer.
      if (unanswered.length > 0)
        throw malformed('DescribeInstances', `a lookup by id left out ${unanswered.join(', ')}`);
    }
    for (let i = 0; i < ids.length; i += 100) await ask(ids.slice(i, i + 100));
    return out;
  }

  return { listInstances, lookupInstances };
}
