/**
 * How a coordinator refuses a socket before its WebSocket upgrade: a plain HTTP answer whose status and
 * `x-fedwarden-error` header carry a stable code. The answer is unauthenticated, so a client believes only the
 * transient codes listed here and reads anything else as GOING_AWAY.
 */
import type { ErrorCode } from '../errors.ts';

/** The HTTP header (lowercase, as Node reports it) that carries a refusal's stable code. */
export const REFUSAL_HEADER = 'x-fedwarden-error';

/** The codes a refusal before the upgrade may carry, with their HTTP status lines. */
export const REFUSAL_STATUS = {
  FULL: '503 Service Unavailable',
  RATE_LIMITED: '429 Too Many Requests',
  TIMEOUT: '408 Request Timeout',
} as const satisfies Partial<Record<ErrorCode, string>>;

export type RefusalCode = keyof typeof REFUSAL_STATUS;

export function isRefusalCode(value: unknown): value is RefusalCode {
  return typeof value === 'string' && Object.hasOwn(REFUSAL_STATUS, value);
}
