/**
 * Setup file (vitest.config.ts): let the worker's event loop turn after every test.
 *
 * Vitest's runner awaits test after test without a macrotask in between, so a file of synchronous tests (the
 * SecAgg protocol tests: 47 of them, 77 s under load) can hold the worker's loop for longer than the fixed 60 s
 * that vitest's worker RPC waits for the reply to "onTaskUpdate". The reply sits unread, the timer fires first,
 * and the run exits 1 although every test passed. One setImmediate per test bounds the blocked time by the
 * longest single test instead of the longest file.
 */
import { afterEach } from 'vitest';

afterEach(() => new Promise<void>((resolve) => setImmediate(resolve)));
