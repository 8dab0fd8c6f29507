// The memory store's leadership: one process, so it always leads until it resigns.
import { defaultIdentity, LeadershipLostError } from '../leadership.ts';
import type { Leadership } from '../types.ts';

export class MemoryLeadership implements Leadership {
  private held = true;
  async campaign(signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw signal.reason;
    this.held = true;
  }
  isLeader(): boolean {
    return this.held;
  }
  async fence(): Promise<void> {
    this.checkNow();
  }
  checkNow(): void {
    if (!this.held) throw new LeadershipLostError('not the leader (resigned)');
  }
  async resign(): Promise<void> {
    this.held = false;
  }
  async leader(): Promise<string | undefined> {
    return this.held ? defaultIdentity() : undefined;
  }
  onLost(): void {}
  async close(): Promise<void> {
    this.held = false;
  }
}
