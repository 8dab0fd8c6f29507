// store.type kubernetes, allocate mode: writing a subnet onto its Node's spec.podCIDR(s) (a merge patch,
// which the API server only lets go from empty to a value), and what a refused write leaves behind: one log
// line while it lasts, and the Node's refusal for the reporter (NetworkUnavailable True, an Event).
import type { Logger } from '../../log.ts';
import { apiCode, apiMessage, type KubeClient } from '../../kubernetes/client.ts';
import type { NodeWriteRefusal } from '../types.ts';
import { KubernetesStoreError } from './record.ts';

/** Why a subnet did not reach its Node (an AllocateResult conflict reason). */
export type PodCidrLoss = 'instance-has-subnet' | 'no-node' | 'refused';

export interface PodCidrWriterOptions {
  kube: Pick<KubeClient, 'core' | 'options'>;
  logger: Logger;
  /** Throws when this process may not write (checked before the patch and again after a failed one). */
  guard?: () => void;
  requestTimeoutMs?: number;
}

export class PodCidrWriter {
  private readonly o: PodCidrWriterOptions;
  /**
   * Node → its refused write: the line logged (with the subnet, said once while it lasts) and the refusal
   * as the reporter shows it (without the subnet, which may differ pass to pass).
   */
  private readonly refused = new Map<string, { line: string; detail: string }>();

  constructor(o: PodCidrWriterOptions) {
    this.o = o;
  }

  refusals(): NodeWriteRefusal[] {
    return [...this.refused].map(([node, r]) => ({ node, detail: r.detail }));
  }

  /** Writes the subnet onto the Node; a reason when the Node is gone, refuses, or holds another subnet meanwhile. */
  async write(name: string, subnet: string): Promise<PodCidrLoss | undefined> {
    this.o.guard?.();
    try {
      await this.o.kube.core.patchNode(
        { name, body: { spec: { podCIDR: subnet, podCIDRs: [subnet] } } },
        this.o.kube.options({
          timeoutMs: this.o.requestTimeoutMs ?? 15_000,
          contentType: 'application/merge-patch+json',
        }),
      );
      this.refused.delete(name);
      return undefined;
    } catch (e) {
      this.o.guard?.();
      const code = apiCode(e);
      if (code === 403 || code === 400) {
        // RBAC, an admission webhook or a policy refuses this Node's write: that Node gets no subnet and no
        // route (every other Node is patched), and it is asked again next pass; said once while it lasts.
        const line = `Node ${name}: writing spec.podCIDR ${subnet} was refused (${apiMessage(e)}); it gets no subnet and no route (does routesync's ClusterRole allow patch on nodes?)`;
        if (this.refused.get(name)?.line !== line) this.o.logger.warn({ node: name, subnet, code }, line);
        this.refused.set(name, {
          line,
          detail: `Node ${name}: writing spec.podCIDR was refused (HTTP ${code}); it gets no subnet and no route until it is allowed`,
        });
        return 'refused';
      }
      if (code === 404) {
        this.o.logger.warn({ node: name, subnet }, 'Node deleted before its podCIDR was written');
        return 'no-node';
      }
      if (code === 422) {
        // podCIDR only goes from empty to a value: someone else gave this Node a subnet first. Its own wins;
        // ours is freed (with a cool-down) at the next write.
        this.o.logger.warn({ node: name, subnet, err: apiMessage(e) }, 'Node already has another podCIDR');
        return 'instance-has-subnet';
      }
      throw new KubernetesStoreError(`patching spec.podCIDR of Node ${name}: ${apiMessage(e)}`, { cause: e });
    }
  }
}
