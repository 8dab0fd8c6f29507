// The Aliyun bench bound from the Aliyun profile (`batchMax`, `taskMs`, `settle`, `perMinute`; the emulator's
// `busy()`): batches of 50 entries; a table refuses a new task (TaskConflict / IncorrectRouteEntryStatus)
// until its last task's `taskMs` (1 s) has passed AND every entry it created has left Pending, each after
// U(settle) (2–5 s): a 50-entry task blocks its table for E[max of 50] ≈ 4.94 s. A batch is also refused
// (OperationConflict) while another table's task runs, so tasks across tables start ≥ taskMs apart.
// `perMinute`: CreateRouteEntries 300 per main account per 60 s window. Bound = max(per-table settle chain
// + (tables − 1) · taskMs stagger, all tasks × taskMs, the minute windows the calls need).
import { type Bound, expectedMaxUniform } from '../shared/bound.ts';
import type { AliyunProfile } from './profile.ts';

export function aliyunBound(p: AliyunProfile, vms: number, tables: number): Bound {
  const perTable = Math.ceil(vms / p.batchMax);
  let chainMs = 0;
  for (let k = 0; k < perTable; k++) {
    const m = Math.min(p.batchMax, vms - k * p.batchMax);
    chainMs += Math.max(p.taskMs, expectedMaxUniform(m, p.settle.minMs, p.settle.maxMs - p.settle.minMs));
  }
  const tasks = perTable * tables;
  const chain = (chainMs + (tables - 1) * p.taskMs) / 1000;
  const serial = (tasks * p.taskMs) / 1000;
  // CreateRouteEntries calls per main account per 60 s window: call k waits for window floor(k / limit).
  const perMinute = p.perMinute.byAction.CreateRouteEntries ?? p.perMinute.writes;
  const window = Math.floor((tasks - 1) / perMinute) * 60;
  const s = Math.max(chain, serial, window);
  return {
    seconds: s,
    limitedBy:
      s === chain
        ? 'settle chain per table'
        : s === serial
          ? 'one task per VPC per taskMs'
          : 'CreateRouteEntries per-minute window',
  };
}
