// Allocation throughput into a real etcd: N allocations through the EtcdStore (transactions comparing the
// subnet and VM keys, I1) vs raw etcd puts of the same keys and values in the same run, same batching width.
// `node bench/allocation.ts --sizes 5000`.
import { Etcd3 } from 'etcd3';
import { formatCidr, parseCidr } from '../src/lib/cidr.ts';
import { silentLogger } from '../src/log.ts';
import { etcdClientOptions } from '../src/store/etcd/client.ts';
import { etcdBase, subnetKey } from '../src/store/etcd/keys.ts';
import { createEtcdStore } from '../src/store/etcd/store.ts';
import type { AllocationRequest } from '../src/store/types.ts';
import { startEtcd } from '../testkit/etcd.ts';
import { table } from './common.ts';
import { benchFlags, ints } from './flags.ts';

function requests(n: number): AllocationRequest[] {
  const base = parseCidr('172.16.0.0/12').base;
  return Array.from({ length: n }, (_, i) => ({
    instanceId: `i-${i.toString(16).padStart(8, '0')}`,
    name: `vm-${i}`,
    privateIp: `10.0.${i >> 8}.${i & 255}`,
    subnet: formatCidr({ base: base + i * 64, prefix: 26 }),
    allocatedAt: 1_700_000_000_000,
  }));
}

export async function allocation(n: number): Promise<Record<string, string | number>> {
  const etcd = await startEtcd();
  try {
    const reqs = requests(n);
    const store = createEtcdStore({
      endpoints: etcd.endpoints,
      prefix: '/bench',
      cluster: 'store',
      logger: silentLogger,
    });
    const t0 = performance.now();
    const r = await store.allocate(reqs);
    const storeS = (performance.now() - t0) / 1000;
    await store.close();

    // Raw: the same two keys per allocation, plain puts, 4 in flight (what the store is allowed too).
    const client = new Etcd3(etcdClientOptions({ endpoints: etcd.endpoints }));
    const base = etcdBase('/bench', 'raw');
    const t1 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < reqs.length) {
          const a = reqs[next++] as AllocationRequest;
          await client.put(`${base}/subnets/${subnetKey(a.subnet)}`).value(JSON.stringify(a));
          await client.put(`${base}/instances/${a.instanceId}`).value(a.subnet);
        }
      }),
    );
    const rawS = (performance.now() - t1) / 1000;
    client.close();
    return {
      allocations: n,
      committed: r.committed.length,
      storeS: storeS.toFixed(2),
      storePerS: (n / storeS).toFixed(0),
      rawPutsS: rawS.toFixed(2),
      rawPerS: (n / rawS).toFixed(0),
      ratio: (rawS / storeS).toFixed(2),
    };
  } finally {
    await etcd.stop({ keepData: false });
  }
}

export async function runAllocation(f: { sizes: number[] }): Promise<Array<Record<string, string | number>>> {
  const rows = [];
  for (const n of f.sizes) rows.push(await allocation(n));
  return rows;
}

if (import.meta.main) {
  const f = benchFlags(
    'allocation',
    'node bench/allocation.ts [flags]: N allocations into a real etcd through the store vs raw puts',
    { sizes: { help: 'allocation counts, comma-separated', default: [5000], read: ints(1) } },
  );
  process.stdout.write(`${table(await runAllocation(f))}\n`);
  process.exit(0);
}
