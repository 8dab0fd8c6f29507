// Field types shared by the controller's schema (config.ts) and the agent's section (agent/config.ts),
// so both refuse a bad CIDR or duration with the same one-line message and the same timer bound.
import { z } from 'zod';
import { parseCidr } from './lib/cidr.ts';
import { MAX_TIMER_MS, parseDuration } from './lib/duration.ts';

export const cidrString = z.string().superRefine((s, ctx) => {
  try {
    parseCidr(s);
  } catch (e) {
    // parseCidr says why (e.g. host bits set, with the CIDR that was probably meant).
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
  }
});

/**
 * A duration of at most `max`: every duration ends up in a timer or is compared with one, and Node's
 * setTimeout fires at once for anything above 2^31-1 ms (about 24.8 days), which would turn a long
 * interval into a busy loop. Each key also gets a maximum that makes sense for what it times.
 */
export const duration = (max: string) => {
  const maxMs = parseDuration(max);
  return z.string({ error: 'must be a duration such as 30s, 5m or 1h' }).transform((s, ctx) => {
    let ms: number;
    try {
      ms = parseDuration(s);
    } catch {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(s)} is not a duration (use e.g. 30s, 5m, 1h)` });
      return z.NEVER;
    }
    if (ms > MAX_TIMER_MS) {
      ctx.addIssue({
        code: 'custom',
        message: `${JSON.stringify(s)} is longer than a timer can wait (about 24d); at most ${max}`,
      });
      return z.NEVER;
    }
    if (ms > maxMs) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(s)} is more than the maximum ${max}` });
      return z.NEVER;
    }
    return ms;
  });
};
