/**
 * Whether the coordinator should receive new participants (`/readyz`): it is listening, not shutting down,
 * and below both its connection and participant caps. Pure, so each reason is testable on its own; the
 * first reason that applies is the one reported. Liveness (`/healthz`) asks nothing: answering is alive.
 */

export interface ReadinessInput {
  /** The listener is bound and accepting sockets. */
  readonly listening: boolean;
  /** stop() has begun: the round loop is ending and sockets are closing. */
  readonly stopping: boolean;
  readonly connections: number;
  readonly maxConnections: number;
  readonly participants: number;
  readonly maxParticipants: number;
}

export type Readiness = { readonly ready: true } | { readonly ready: false; readonly reason: string };

export function readiness(s: ReadinessInput): Readiness {
  if (s.stopping) return { ready: false, reason: 'shutting down' };
  if (!s.listening) return { ready: false, reason: 'not listening' };
  if (s.connections >= s.maxConnections) {
    return { ready: false, reason: `at connection capacity (${s.connections} of ${s.maxConnections})` };
  }
  if (s.participants >= s.maxParticipants) {
    return { ready: false, reason: `at participant capacity (${s.participants} of ${s.maxParticipants})` };
  }
  return { ready: true };
}
