// store.type kubernetes: the ConfigMap holding the record (./record.ts), read with its resourceVersion and
// written back only at that resourceVersion, so of two writers the second gets 409 and decides again (I1).
import type { V1ConfigMap } from '@kubernetes/client-node';
import { apiCode, apiMessage, type KubeClient } from '../../kubernetes/client.ts';
import type { PoolShape } from '../state.ts';
import { decodeLedger, emptyLedger, encodeLedger, KubernetesStoreError, type Ledger } from './record.ts';

export interface LedgerConfigMapOptions {
  kube: Pick<KubeClient, 'core' | 'options'>;
  namespace: string;
  configMap: string;
  pool?: PoolShape;
  /** Throws when this process may not write (checked before the write and again after a failed one). */
  guard?: () => void;
  requestTimeoutMs?: number;
}

export class LedgerConfigMap {
  private readonly o: LedgerConfigMapOptions;
  /** How errors and logs name it. */
  readonly where: string;

  constructor(o: LedgerConfigMapOptions) {
    this.o = o;
    this.where = `ConfigMap ${o.namespace}/${o.configMap}`;
  }

  private opts() {
    return this.o.kube.options({ timeoutMs: this.o.requestTimeoutMs ?? 15_000 });
  }

  async read(): Promise<{ ledger: Ledger; rv: string | undefined }> {
    let cm: V1ConfigMap;
    try {
      cm = await this.o.kube.core.readNamespacedConfigMap(
        { namespace: this.o.namespace, name: this.o.configMap },
        this.opts(),
      );
    } catch (e) {
      if (apiCode(e) === 404) return { ledger: emptyLedger(), rv: undefined };
      throw new KubernetesStoreError(`reading ${this.where}: ${apiMessage(e)}`, { cause: e });
    }
    return { ledger: decodeLedger(cm, this.where, this.o.pool), rv: cm.metadata?.resourceVersion };
  }

  /** Writes the ledger with the resourceVersion it was read at; false on 409 (another writer was first). */
  async write(ledger: Ledger, rv: string | undefined): Promise<boolean> {
    const data = encodeLedger(ledger);
    this.o.guard?.();
    try {
      if (rv === undefined)
        await this.o.kube.core.createNamespacedConfigMap(
          {
            namespace: this.o.namespace,
            body: {
              metadata: { name: this.o.configMap, labels: { 'app.kubernetes.io/managed-by': 'routesync' } },
              data,
            },
          },
          this.opts(),
        );
      else
        await this.o.kube.core.replaceNamespacedConfigMap(
          {
            namespace: this.o.namespace,
            name: this.o.configMap,
            body: {
              metadata: {
                name: this.o.configMap,
                resourceVersion: rv,
                labels: { 'app.kubernetes.io/managed-by': 'routesync' },
              },
              data,
            },
          },
          this.opts(),
        );
      return true;
    } catch (e) {
      this.o.guard?.();
      if (apiCode(e) === 409) return false;
      throw new KubernetesStoreError(`writing ${this.where}: ${apiMessage(e)}`, { cause: e });
    }
  }
}
