// The chaos run's clock and narrator: timestamped progress lines, and sleeps/polls that end the run at its
// hard deadline (the stop signal) instead of outliving it.

export class Deadline extends Error {}

export class Timeline {
  readonly lines: string[] = [];
  private readonly t0 = Date.now();
  private readonly stop: AbortSignal;
  private readonly out: ((line: string) => void) | undefined;

  constructor(stop: AbortSignal, out?: (line: string) => void) {
    this.stop = stop;
    this.out = out;
  }

  get stopped(): boolean {
    return this.stop.aborted;
  }

  say(line: string): void {
    this.lines.push(line);
    this.out?.(line);
  }

  /** A progress line with the run's elapsed time and the wall clock, to match against controller logs. */
  step(line: string): void {
    const since = `${((Date.now() - this.t0) / 1000).toFixed(1).padStart(6)} s`;
    this.say(`[${since}] ${line}   (${new Date().toISOString().slice(11, 23)})`);
  }

  sleep(ms: number): Promise<void> {
    const stop = this.stop;
    return new Promise<void>((resolve, reject) => {
      if (stop.aborted) return reject(new Deadline('deadline'));
      const onAbort = () => {
        clearTimeout(t);
        reject(new Deadline('deadline'));
      };
      const t = setTimeout(() => {
        stop.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      stop.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Polls until fn returns a value; undefined (and a progress line) on timeout, so the run goes on and the invariants judge. */
  async until<T>(
    what: string,
    fn: () => Promise<T | undefined> | T | undefined,
    timeoutMs: number,
    everyMs = 50,
  ): Promise<T | undefined> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() > end) {
        this.step(`gave up waiting for ${what} after ${timeoutMs} ms`);
        return undefined;
      }
      await this.sleep(everyMs);
    }
  }
}
