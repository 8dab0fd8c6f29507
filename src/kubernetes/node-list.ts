// Every Node, page by page (limit/continue), through the one paging loop (src/lib/paging.ts): a page that
// is not a list, a Node without a name, a continue token handed back again or a page of only earlier Nodes
// is a failed read (I3), never fewer Nodes. Used by the Node watch's (re)list and by the kubernetes store.
import type { V1Node, V1NodeList } from '@kubernetes/client-node';
import { collectPages } from '../lib/paging.ts';
import { apiMessage, type KubeClient } from './client.ts';

export interface NodeListOptions {
  kube: Pick<KubeClient, 'core' | 'options'>;
  /** Items per page (client-go: 500). */
  pageSize: number;
  /** One page may take this long. */
  timeoutMs: number;
  /** The caller's failed-read error (`cause`: the API's error, when there is one). */
  fail: (message: string, cause?: unknown) => Error;
  /** Each page as it arrives (after its checks), e.g. for its resourceVersion; may throw a failed read. */
  onPage?: (list: V1NodeList, page: number) => void;
}

/** Hands every Node to `add`, page by page; throws `fail`'s error on any failed or inconsistent page. */
export async function listEveryNode(o: NodeListOptions, add: (n: V1Node) => void): Promise<void> {
  await collectPages<V1Node>(
    async (cont, page) => {
      let list: V1NodeList;
      try {
        list = await o.kube.core.listNode(
          { limit: o.pageSize, ...(cont ? { _continue: cont } : {}) },
          o.kube.options({ timeoutMs: o.timeoutMs }),
        );
      } catch (e) {
        throw o.fail(`listing Nodes (page ${page}): ${apiMessage(e)}`, e);
      }
      if (!Array.isArray(list.items)) throw o.fail(`listing Nodes (page ${page}): items is not a list`);
      list.items.forEach((n, i) => {
        if (!n?.metadata?.name) throw o.fail(`listing Nodes (page ${page}): items[${i}].metadata.name is missing`);
      });
      o.onPage?.(list, page);
      return { items: list.items, next: list.metadata?._continue };
    },
    add,
    {
      pageSize: o.pageSize,
      key: (n) => n.metadata?.name as string,
      fail: (why) => o.fail(`listing Nodes: ${why}`),
    },
  );
}
