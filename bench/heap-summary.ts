// What a V8 heap snapshot holds, by kind: self sizes summed per node type and constructor/string kind, the
// largest first. Not retained sizes (no dominator tree): enough to tell the watch cache's Node objects from
// loaded code, strings and the SDKs' module state.
//   node bench/heap-summary.ts FILE.heapsnapshot [--top 25]
import { readFileSync } from 'node:fs';
import { benchFlags, int, text } from './flags.ts';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export interface HeapRow {
  kind: string;
  count: number;
  bytes: number;
}

/** Self size per `type:name` (objects by constructor, strings, code, closures …), largest first. */
export function summarizeHeap(s: Snapshot): { total: number; rows: HeapRow[] } {
  const f = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const width = f.length;
  const iType = f.indexOf('type');
  const iName = f.indexOf('name');
  const iSize = f.indexOf('self_size');
  const by = new Map<string, HeapRow>();
  let total = 0;
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + iType] as number] as string;
    const size = s.nodes[i + iSize] as number;
    total += size;
    const name = s.strings[s.nodes[i + iName] as number] ?? '';
    // Strings and code by kind only: their names are their contents.
    const kind =
      type === 'object' || type === 'closure' || type === 'native' ? `${type}:${name.slice(0, 60)}` : `${type}`;
    const r = by.get(kind) ?? { kind, count: 0, bytes: 0 };
    r.count++;
    r.bytes += size;
    by.set(kind, r);
  }
  return { total, rows: [...by.values()].sort((a, b) => b.bytes - a.bytes) };
}

if (import.meta.main) {
  const f = benchFlags('heap-summary', 'node bench/heap-summary.ts --file X.heapsnapshot: self size by kind', {
    file: { help: 'a .heapsnapshot file', default: '', read: text },
    top: { help: 'rows to print', default: 25, read: int(1, 1000) },
  });
  if (f.file === '') {
    process.stderr.write('heap-summary: --file: needs a .heapsnapshot file\n');
    process.exit(2);
  }
  const { total, rows } = summarizeHeap(JSON.parse(readFileSync(f.file, 'utf8')) as Snapshot);
  const mb = (n: number) => (n / 1048576).toFixed(2);
  process.stdout.write(`total self size ${mb(total)} MB\n`);
  for (const r of rows.slice(0, f.top))
    process.stdout.write(`${mb(r.bytes).padStart(8)} MB ${String(r.count).padStart(8)}  ${r.kind}\n`);
}
