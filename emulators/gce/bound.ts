// The GCE bench bound from the GCE profile (`rateQuotaPerMinute`, `operationDone`; the emulator's
// `rateGroup`, `MinuteWindow`): inserts count against the `default` group, 1,500 per clock-minute window
// (reset at the minute's turn); each operation is DONE 5–20 s (uniform) after its insert; at least one
// `globalOperations.wait` per operation from the `operation_read_requests` group, 1,500 per window, issued no
// earlier than its insert. The windows are taken to turn every 60 s from the first insert (the bench's pass
// starts near the emulator's start, where its minutes count from), so request i goes at ⌊i / 1,500⌋ minutes.
// Bound = E[max_i (max(insert_i, wait_i) + done_i)].
import { type Bound, expectedLastDone, perMinuteWindow } from '../shared/bound.ts';
import type { GceProfile } from './profile.ts';

export function gceBound(p: GceProfile, vms: number, tables: number): Bound {
  const inserts = perMinuteWindow(p.rateQuotaPerMinute.default);
  const waits = perMinuteWindow(p.rateQuotaPerMinute.operation_read_requests);
  const routes = vms * tables;
  const issue: number[] = [];
  // A wait can be sent the moment its insert is, and not before.
  for (let i = 0; i < routes; i++) issue.push(Math.max(inserts(i), waits(i)));
  const s = expectedLastDone(issue, p.operationDone.minMs / 1000, p.operationDone.maxMs / 1000);
  const writes = inserts(routes - 1);
  return {
    seconds: s,
    limitedBy: writes > 0 ? 'insert + operation-read minute windows, then completion' : 'operation completion',
  };
}
