// Server-side printing: kubectl's `get` asks for `as=Table` and prints the server's columns (there are no
// client-side printers any more); without a Table it falls back to NAME and AGE. The Node columns are
// the real server's, so `kubectl get nodes -o wide` looks as on a cluster.
import type { ResourceDef } from './resources.ts';
import type { Obj } from './status.ts';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
  cell(o: Obj, now: number): unknown;
}

function md(o: Obj): Obj {
  return (o.metadata as Obj | undefined) ?? {};
}

function statusOf(o: Obj): Obj {
  return (o.status as Obj | undefined) ?? {};
}

/** apimachinery's duration.HumanDuration, the AGE column. */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < -1) return '<invalid>';
  if (s < 0) return '0s';
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 24 * 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  const y = Math.floor(d / 365);
  if (d < 365 * 8) return d % 365 === 0 ? `${y}y` : `${y}y${d % 365}d`;
  return `${y}y`;
}

function age(o: Obj, now: number): string {
  const t = md(o).creationTimestamp;
  return typeof t === 'string' ? humanDuration(now - Date.parse(t)) : '<unknown>';
}

const NAME: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  priority: 0,
  cell: (o) => md(o).name,
};
const AGE: Column = {
  name: 'Age',
  type: 'string',
  format: '',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  priority: 0,
  cell: age,
};

function nodeStatus(o: Obj): string {
  const conds = (statusOf(o).conditions as Obj[] | undefined) ?? [];
  const ready = conds.find((c) => c.type === 'Ready');
  const parts = [
    ready === undefined
      ? 'Unknown'
      : ready.status === 'True'
        ? 'Ready'
        : ready.status === 'False'
          ? 'NotReady'
          : 'Unknown',
  ];
  if ((o.spec as Obj | undefined)?.unschedulable === true) parts.push('SchedulingDisabled');
  return parts.join(',');
}

function nodeRoles(o: Obj): string {
  const labels = (md(o).labels as Record<string, string> | undefined) ?? {};
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(labels)) {
    if (k.startsWith('node-role.kubernetes.io/')) roles.add(k.slice('node-role.kubernetes.io/'.length));
    else if (k === 'kubernetes.io/role' && v !== '') roles.add(v);
  }
  return roles.size === 0 ? '<none>' : [...roles].sort().join(',');
}

function address(type: string) {
  return (o: Obj) => {
    const a = ((statusOf(o).addresses as Obj[] | undefined) ?? []).find((x) => x.type === type);
    return typeof a?.address === 'string' ? a.address : '<none>';
  };
}

function nodeInfo(field: string) {
  return (o: Obj) => {
    const v = (statusOf(o).nodeInfo as Obj | undefined)?.[field];
    return typeof v === 'string' && v !== '' ? v : '<unknown>';
  };
}

const col = (name: string, priority: number, cell: Column['cell'], description = ''): Column => ({
  name,
  type: 'string',
  format: '',
  description,
  priority,
  cell,
});

const COLUMNS: Record<string, Column[]> = {
  Node: [
    NAME,
    col('Status', 0, nodeStatus, 'The status of the node'),
    col('Roles', 0, nodeRoles, 'The roles of the node'),
    AGE,
    col('Version', 0, nodeInfo('kubeletVersion'), 'Kubelet Version reported by the node.'),
    col(
      'Internal-IP',
      1,
      address('InternalIP'),
      'List of addresses reachable to the node. Queried from cloud provider, if available.',
    ),
    col(
      'External-IP',
      1,
      address('ExternalIP'),
      'List of addresses reachable to the node. Queried from cloud provider, if available.',
    ),
    col(
      'OS-Image',
      1,
      nodeInfo('osImage'),
      'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).',
    ),
    col(
      'Kernel-Version',
      1,
      nodeInfo('kernelVersion'),
      "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
    ),
    col(
      'Container-Runtime',
      1,
      nodeInfo('containerRuntimeVersion'),
      'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).',
    ),
  ],
  Lease: [
    NAME,
    col(
      'Holder',
      0,
      (o) => ((o.spec as Obj | undefined)?.holderIdentity as string | undefined) ?? '',
      'HolderIdentity contains the identity of the holder of a current lease.',
    ),
    AGE,
  ],
  ConfigMap: [
    NAME,
    {
      name: 'Data',
      type: 'integer',
      format: '',
      description: 'Data contains the configuration data.',
      priority: 0,
      cell: (o) =>
        Object.keys((o.data as Obj | undefined) ?? {}).length +
        Object.keys((o.binaryData as Obj | undefined) ?? {}).length,
    },
    AGE,
  ],
};

/** The apiserver's default for kinds without printers: Name and Created At. */
const DEFAULT: Column[] = [
  NAME,
  {
    name: 'Created At',
    type: 'date',
    format: '',
    description: 'CreationTimestamp',
    priority: 0,
    cell: (o) => md(o).creationTimestamp,
  },
];

export function toTable(
  r: ResourceDef,
  objs: Obj[],
  listMeta: Obj,
  includeObject: IncludeObject,
  now: number,
  tableVersion = 'v1',
): Obj {
  const cols = COLUMNS[r.kind] ?? DEFAULT;
  return {
    kind: 'Table',
    apiVersion: `meta.k8s.io/${tableVersion}`,
    metadata: listMeta,
    columnDefinitions: cols.map(({ cell: _, ...c }) => c),
    rows: objs.map((o) => ({
      cells: cols.map((c) => c.cell(o, now)),
      ...(includeObject === 'None'
        ? {}
        : {
            object:
              includeObject === 'Object'
                ? o
                : { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${tableVersion}`, metadata: o.metadata },
          }),
    })),
  };
}

/** `Accept: application/json;as=Table;v=v1;g=meta.k8s.io, …` → the Table version asked for, if any. */
export function wantsTable(accept: string | undefined): string | undefined {
  if (!accept) return undefined;
  for (const part of accept.split(',')) {
    const params = new Map(
      part
        .split(';')
        .slice(1)
        .map((p) => p.trim().split('=') as [string, string]),
    );
    if (params.get('as') === 'Table' && (params.get('g') ?? 'meta.k8s.io') === 'meta.k8s.io')
      return params.get('v') ?? 'v1';
  }
  return undefined;
}
