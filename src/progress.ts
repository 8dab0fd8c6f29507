// Apply progress for the one-off CLI: on a terminal one line that updates in place (done/total, the table
// being written, what it waits for), with failures kept as lines of their own; elsewhere (CI logs, pipes)
// one plain line per change, which greps well.
import type { ProgressEvent } from '../providers/types.ts';
import { renderResult } from './render.ts';

export interface ProgressReporter {
  onProgress(e: ProgressEvent): void;
  /** Clears the in-place line. */
  done(): void;
}

export function progressReporter(err: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }): ProgressReporter {
  if (!err.isTTY) {
    return {
      onProgress(e) {
        if (e.type === 'result') err.write(`${renderResult(e.result)}\n`);
        if (e.type === 'wait') err.write(`… ${e.table}: ${e.reason} (${Math.round(e.ms)} ms)\n`);
      },
      done() {},
    };
  }
  let total = 0;
  let finished = 0;
  let failed = 0;
  let shown = false;
  const draw = (table: string, note = '') => {
    const width = Math.max(20, (err.columns ?? 80) - 1);
    const text = `applying ${finished}/${total}${failed ? `, ${failed} failed` : ''} — ${table}${note ? `: ${note}` : ''}`;
    err.write(`\r\x1b[2K${text.slice(0, width)}`);
    shown = true;
  };
  const clear = () => {
    if (shown) err.write('\r\x1b[2K');
    shown = false;
  };
  return {
    onProgress(e) {
      if (e.type === 'start') total += e.total;
      if (e.type === 'result') {
        finished++;
        if (e.result.outcome === 'failed') {
          failed++;
          clear();
          err.write(`${renderResult(e.result)}\n`);
        }
      }
      draw(e.table, e.type === 'wait' ? `${e.reason} (${Math.round(e.ms)} ms)` : '');
    },
    done: clear,
  };
}
