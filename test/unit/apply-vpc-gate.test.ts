import { describe, expect, it } from 'vitest';
import { createTaskGate } from '../../providers/aliyun/vpc-gate.ts';

/** A sleep the test ends by hand, so the window's end is an event, not a time. */
function manualSleep() {
  const pending: Array<{ ms: number; end: () => void }> = [];
  const sleep = (ms: number) => new Promise<void>((end) => pending.push({ ms, end }));
  return { pending, sleep };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('aliyun VPC task gate', () => {
  it('lets the next write go only once the last one has been answered and its task window has passed', async () => {
    const { pending, sleep } = manualSleep();
    const gate = createTaskGate(1000, sleep);
    const order: string[] = [];
    let answerA!: () => void;
    const a = gate.run(async () => {
      order.push('a sent');
      await new Promise<void>((r) => (answerA = r));
      order.push('a answered');
      return { sent: true, value: 'A' };
    }, new AbortController().signal);
    const b = gate.run(async () => {
      order.push('b sent');
      return { sent: true, value: 'B' };
    }, new AbortController().signal);
    await flush();
    expect(order).toEqual(['a sent']);
    answerA();
    expect(await a).toBe('A');
    await flush();
    expect(order).toEqual(['a sent', 'a answered']);
    expect(pending.map((p) => p.ms)).toEqual([1000]);
    pending.shift()?.end();
    expect(await b).toBe('B');
    expect(order).toEqual(['a sent', 'a answered', 'b sent']);
  });

  it('holds the window after a failed write too (it may have started a task), but not after one never sent', async () => {
    const { pending, sleep } = manualSleep();
    const gate = createTaskGate(1000, sleep);
    const signal = new AbortController().signal;
    await expect(gate.run(async () => Promise.reject(new Error('timeout')), signal)).rejects.toThrow('timeout');
    await flush();
    expect(pending).toHaveLength(1);
    pending.shift()?.end();
    await flush();
    expect(await gate.run(async () => ({ sent: false, value: 'fenced' }), signal)).toBe('fenced');
    expect(await gate.run(async () => ({ sent: false, value: 'fenced again' }), signal)).toBe('fenced again');
    expect(pending).toHaveLength(0);
  });

  it('an aborted waiter gives up its turn without holding up the writers behind it', async () => {
    const { pending, sleep } = manualSleep();
    const gate = createTaskGate(1000, sleep);
    const live = new AbortController().signal;
    await gate.run(async () => ({ sent: true, value: 1 }), live);
    const ac = new AbortController();
    const aborted = gate.run(async () => ({ sent: true, value: 2 }), ac.signal);
    const behind = gate.run(async () => ({ sent: true, value: 3 }), live);
    ac.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');
    await flush();
    pending.shift()?.end();
    expect(await behind).toBe(3);
  });
});
