// Emulated time: with timeScale N, one real millisecond is N emulated ones, so a cloud's 2-minute
// convergence (async route states, token-bucket refills, operation delays) plays out in seconds.
export interface EmuClock {
  readonly timeScale: number;
  /** Emulated epoch milliseconds. */
  now(): number;
  /** Waits `emulatedMs` of emulated time. */
  sleep(emulatedMs: number): Promise<void>;
}

export function scaledClock(timeScale = 1, realNow: () => number = Date.now): EmuClock {
  if (!(timeScale > 0)) throw new Error(`timeScale must be > 0, got ${timeScale}`);
  const start = realNow();
  return {
    timeScale,
    now: () => start + (realNow() - start) * timeScale,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms / timeScale))),
  };
}
