// Durations in config and flags: `500ms`, `30s`, `5m`, `1h`, `1h30m`. A bare number is refused because a
// bare "60" is ambiguous (seconds? milliseconds?) and a wrong guess here means a 1000x resync storm.
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

export function parseDuration(text: string): number {
  const s = text.trim();
  if (s === '') throw new Error('empty duration');
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const at = PART.lastIndex;
    const m = PART.exec(s);
    if (!m) throw new Error(`"${text}" is not a duration (use e.g. 30s, 5m, 1h30m) near "${s.slice(at)}"`);
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
  }
  return Math.round(total);
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** Node's timers hold a signed 32-bit millisecond count: a longer delay fires at once (and warns). */
export const MAX_TIMER_MS = 2 ** 31 - 1;
