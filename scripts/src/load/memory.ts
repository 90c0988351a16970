/**
 * Memory samples of the current process for bench:load: process.memoryUsage() after forcing full garbage
 * collections (when the process was started with --expose-gc), so that a sample counts live objects rather
 * than garbage that happens not to be collected yet, and a peak tracker for the rounds.
 *
 * RSS is what the operating system charges the process (V8 heap pages, native buffers, code, malloc arenas);
 * it rarely shrinks after a GC, so it includes memory freed but kept by the allocators. heapUsed + external
 * counts the live JavaScript objects and the native memory (Buffers) they hold.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { MemorySample } from './ipc.ts';

const gc = (globalThis as { gc?: () => void }).gc;

export function gcAvailable(): boolean {
  return typeof gc === 'function';
}

export function sampleMemory(connected: number, afterGc = false): MemorySample {
  const m = process.memoryUsage();
  return { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, connected, afterGc };
}

/**
 * Let pending callbacks (welcome sends, timers of closed sockets) settle, then collect garbage a few times
 * (weak callbacks and finalizers free native memory only on a later cycle) and sample.
 */
export async function sampleAfterGc(connected: () => number, settleMs = 300): Promise<MemorySample> {
  await sleep(settleMs);
  if (!gc) return sampleMemory(connected(), false);
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  await sleep(50);
  gc();
  return sampleMemory(connected(), true);
}

/** Samples RSS and heapUsed + external every `intervalMs` and keeps the highest of each. */
export class PeakMemory {
  peakRss = 0;
  peakHeapExternal = 0;
  private timer: NodeJS.Timeout | undefined;

  start(intervalMs = 50): void {
    this.observe();
    this.timer = setInterval(() => this.observe(), intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.observe();
  }

  /** Also called by the caller at moments it samples anyway (a busy event loop can delay the interval). */
  observe(): void {
    const m = process.memoryUsage();
    this.peakRss = Math.max(this.peakRss, m.rss);
    this.peakHeapExternal = Math.max(this.peakHeapExternal, m.heapUsed + m.external);
  }
}
