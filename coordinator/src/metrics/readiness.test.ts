/** readiness(): each reason on its own, and which one wins when several apply. */
import { describe, expect, it } from 'vitest';
import { readiness, type ReadinessInput } from './readiness.ts';

const healthy: ReadinessInput = { listening: true, stopping: false, connections: 3, maxConnections: 10, participants: 2, maxParticipants: 5 };

describe('readiness', () => {
  it('is ready when listening, not stopping and under both caps', () => {
    expect(readiness(healthy)).toEqual({ ready: true });
  });

  it('names the reason it is not ready', () => {
    expect(readiness({ ...healthy, stopping: true })).toEqual({ ready: false, reason: 'shutting down' });
    expect(readiness({ ...healthy, listening: false })).toEqual({ ready: false, reason: 'not listening' });
    expect(readiness({ ...healthy, connections: 10 })).toEqual({ ready: false, reason: 'at connection capacity (10 of 10)' });
    expect(readiness({ ...healthy, participants: 5 })).toEqual({ ready: false, reason: 'at participant capacity (5 of 5)' });
  });

  it('reports shutting down before anything else', () => {
    expect(readiness({ ...healthy, stopping: true, listening: false, connections: 10, participants: 5 })).toEqual({
      ready: false,
      reason: 'shutting down',
    });
  });

  it('is ready one below each cap', () => {
    expect(readiness({ ...healthy, connections: 9, participants: 4 })).toEqual({ ready: true });
  });
});
