/**
 * Human-readable log lines for a terminal (pino-pretty): `[12:04:05.120] INFO: round ended {"round":3,…}`.
 * The CLI uses it when stderr is a TTY; anywhere else the logs stay JSON lines. pino-pretty formats each line
 * here, synchronously (its prettyFactory, not a worker-thread transport nor a stream pipeline), so no line is
 * lost when the process exits right after writing it. It lives in the coordinator package, not in
 * @fedwarden/shared, so that SDK users do not install a pretty-printer.
 */
import { fdDestination, type LogDestination } from '@fedwarden/shared';
import { prettyFactory } from 'pino-pretty';

export interface PrettyDestinationOptions {
  /** File descriptor written to. Default 2 (stderr). */
  readonly fd?: number;
  /** ANSI colours. Default: on. */
  readonly colorize?: boolean;
}

/** A destination for createLogger's `destination` option that writes pretty lines. */
export function prettyDestination(options: PrettyDestinationOptions = {}): LogDestination {
  const out = fdDestination(options.fd ?? 2);
  const format = prettyFactory({ colorize: options.colorize ?? true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l' });
  return { write: (line: string) => out.write(format(line)) };
}
