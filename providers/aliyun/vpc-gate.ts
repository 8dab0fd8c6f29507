// Alibaba runs one route task at a time per VPC for the batch APIs: while any table's task runs (about a
// second after each write), a batch on another table is refused with OperationConflict. Applying a VPC's
// tables side by side would turn that into refused writes; this gate lets them take turns instead.

export interface TaskGate {
  /**
   * Runs `write` when no other write of the VPC is inside its task window, and keeps the next one waiting
   * until `windowMs` after this one is answered. `write` returns whether it sent a request: if it did not
   * (fenced), the next writer goes at once.
   */
  run<T>(write: () => Promise<{ sent: boolean; value: T }>, signal: AbortSignal): Promise<T>;
}

export function createTaskGate(windowMs: number, sleep: (ms: number, signal: AbortSignal) => Promise<void>): TaskGate {
  let tail: Promise<void> = Promise.resolve();
  const never = new AbortController().signal;
  return {
    async run(write, signal) {
      const prev = tail;
      let release!: () => void;
      tail = new Promise<void>((r) => (release = r));
      try {
        await abortable(prev, signal);
      } catch (e) {
        // Our turn is given up, but the queue must still pass through it once the writer before us is done.
        void prev.then(release);
        throw e;
      }
      let sent = true;
      try {
        const out = await write();
        sent = out.sent;
        return out.value;
      } finally {
        // The window runs on even if this apply is aborted: another table's writer may be queued behind it.
        if (sent && windowMs > 0) void sleep(windowMs, never).then(release, release);
        else release();
      }
    },
  };
}

function abortable(p: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    void p.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
