/**
 * The `fedwarden` command's exit codes, stable for scripts and supervisors: 0 done, 1 a runtime failure,
 * 2 a usage error (a command line or config file the operator must fix). Errors print as `error [CODE]: message`.
 */
import { FedwardenError, type ErrorCode } from '@fedwarden/shared';

export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

/** The operator's input is wrong (flags, arguments, config file): usage; anything else happened at run time. */
export function exitCodeFor(code: ErrorCode): number {
  return code === 'USAGE' || code === 'BAD_CONFIG' ? EXIT_USAGE : EXIT_RUNTIME;
}

export function usageError(message: string): FedwardenError {
  return new FedwardenError('USAGE', message);
}

export function formatError(code: ErrorCode, message: string): string {
  return `error [${code}]: ${message}`;
}
