// Per-pass findings that stay true pass after pass (the same conflict, the same held delete, the safety
// valve) are logged when they start and when they end, not every pass: a controller reconciling every
// 30 s would otherwise repeat one warning 2,880 times a day. Meanwhile each repeat is counted in a metric.
import type { Logger } from 'pino';
import type { RoutesyncMetrics } from './metrics.ts';

export interface Occurrence {
  /** Identifies the same finding from one pass to the next. */
  key: string;
  /** Metric label: conflict, held, safety-valve. */
  kind: string;
  /** Its table, when it is about one: a table that was not read this pass neither repeats nor clears it. */
  table?: string;
  fields: Record<string, unknown>;
  msg: string;
}

interface Active {
  occurrence: Occurrence;
  passes: number;
}

export class RecurringWarnings {
  private readonly active = new Map<string, Active>();
  private readonly logger: Logger;
  private readonly metrics: RoutesyncMetrics | undefined;

  constructor(logger: Logger, metrics?: RoutesyncMetrics) {
    this.logger = logger;
    this.metrics = metrics;
  }

  /** One pass's findings. `unread(table)`: that table's findings are unknown this pass. */
  observe(current: readonly Occurrence[], unread: (table: string) => boolean = () => false): void {
    const seen = new Set<string>();
    for (const o of current) {
      seen.add(o.key);
      const a = this.active.get(o.key);
      if (a) {
        a.passes++;
        this.metrics?.warningRepeated(o.kind);
      } else {
        this.active.set(o.key, { occurrence: o, passes: 1 });
        this.logger.warn({ ...o.fields, repeats: 'logged again when it ends' }, o.msg);
      }
    }
    for (const [key, a] of this.active) {
      if (seen.has(key)) continue;
      const t = a.occurrence.table;
      if (t !== undefined && unread(t)) continue;
      this.active.delete(key);
      this.logger.info(
        { ...a.occurrence.fields, passes: a.passes },
        `ended after ${a.passes} pass(es): ${a.occurrence.msg}`,
      );
    }
    const byKind = new Map<string, number>();
    for (const a of this.active.values()) byKind.set(a.occurrence.kind, (byKind.get(a.occurrence.kind) ?? 0) + 1);
    this.metrics?.setWarningsActive(byKind);
  }
}
