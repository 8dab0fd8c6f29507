// Pass progress for the one-off CLI: on a terminal one line that updates in place — what the pass is reading
// (the inventory, each route table) while it reads, then done/total, the table being written and what it
// waits for while it applies — with failures kept as lines of their own; elsewhere (CI logs, pipes) one
// plain line per change, which greps well.
import type { PassProgressEvent } from './reconcile.ts';
import { renderResult } from './render.ts';

// The event type lives with the pass that sends it (reconcile.ts), so that module needs nothing of this one.
export type { PassProgressEvent };

export interface ProgressReporter {
  onProgress(e: PassProgressEvent): void;
  /** Clears the in-place line. */
  done(): void;
}

export interface ProgressOptions {
  /** Wall clock for the elapsed time of a read; injected by tests. */
  now?: () => number;
  /** How often the read line is redrawn while nothing else happens (its elapsed time moves). */
  tickMs?: number;
}

type Stream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

export function progressReporter(err: Stream, opts: ProgressOptions = {}): ProgressReporter {
  if (!err.isTTY) {
    return {
      onProgress(e) {
        if (e.type === 'result') err.write(`${renderResult(e.result)}\n`);
        if (e.type === 'wait') err.write(`… ${e.table}: ${e.reason} (${Math.round(e.ms)} ms)\n`);
      },
      done() {},
    };
  }
  const now = opts.now ?? Date.now;
  let shown = false;
  const write = (text: string) => {
    const width = Math.max(20, (err.columns ?? 80) - 1);
    err.write(`\r\x1b[2K${text.slice(0, width)}`);
    shown = true;
  };
  const clear = () => {
    if (shown) err.write('\r\x1b[2K');
    shown = false;
  };

  // Reads: items in the order they started; the total is shown only once the tables are known.
  const reads = new Map<string, 'start' | 'done' | 'failed'>();
  let tables: string[] | undefined;
  let readsSince: number | undefined;
  let ticker: NodeJS.Timeout | undefined;
  const stopTicking = () => {
    clearInterval(ticker);
    ticker = undefined;
  };
  const readsOver = () => tables !== undefined && [...reads.values()].every((s) => s !== 'start');
  const drawReads = () => {
    const pending = [...reads].filter(([, s]) => s === 'start').map(([k]) => k);
    const failed = [...reads].filter(([k, s]) => s === 'failed' && k !== 'route tables').length;
    const secs = Math.floor((now() - (readsSince ?? now())) / 1000);
    const count = tables
      ? ` ${[...reads].filter(([k, s]) => s !== 'start' && k !== 'route tables').length}/${tables.length + 1}`
      : '';
    write(`reading${count}${failed ? `, ${failed} failed` : ''} — ${pending.join(', ')} (${secs}s)`);
  };

  // Apply: the total comes from the pass ('apply'); per-table starts only when it did not say.
  let total = 0;
  let fixedTotal: number | undefined;
  let finished = 0;
  let failed = 0;
  const drawApply = (table: string, note = '') =>
    write(
      `applying ${finished}/${fixedTotal ?? total}${failed ? `, ${failed} failed` : ''} — ${table}${note ? `: ${note}` : ''}`,
    );

  return {
    onProgress(e) {
      if (e.type === 'read' || e.type === 'tables') {
        // Finding the tables is the first read of a pass: a second pass (reconcile plans, then applies) counts afresh.
        if (e.type === 'read' && e.item === 'route tables' && e.phase === 'start') {
          reads.clear();
          tables = undefined;
          readsSince = undefined;
        }
        if (e.type === 'read') reads.set(e.item, e.phase);
        else {
          tables = e.ids;
          if (reads.has('route tables')) reads.set('route tables', 'done');
        }
        readsSince ??= now();
        if (readsOver()) {
          stopTicking();
          clear();
          return;
        }
        if (!ticker && (opts.tickMs ?? 1000) > 0) {
          ticker = setInterval(drawReads, opts.tickMs ?? 1000);
          ticker.unref();
        }
        drawReads();
        return;
      }
      stopTicking();
      if (e.type === 'apply') {
        fixedTotal = e.total;
        return;
      }
      if (e.type === 'start') total += e.total;
      if (e.type === 'result') {
        finished++;
        if (e.result.outcome === 'failed') {
          failed++;
          clear();
          err.write(`${renderResult(e.result)}\n`);
        }
      }
      drawApply(e.table, e.type === 'wait' ? `${e.reason} (${Math.round(e.ms)} ms)` : '');
    },
    done() {
      stopTicking();
      clear();
    },
  };
}
