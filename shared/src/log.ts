/**
 * Structured logs over pino (https://getpino.io): one JSON object per line — `level` (a name), `time` (ISO
 * 8601), the base and child fields, the call's fields, `msg` — on stderr by default, written synchronously so
 * that the lines before an exit are not lost. Another destination (a file, a test's collector, the coordinator's
 * pino-pretty stream for terminals) is an option; pretty-printing itself is not in this package, so that an SDK
 * user does not install it.
 *
 * Never log secrets: tokens, keys, shared secrets, seeds of masks, shares and updates stay out of log fields (the
 * channel and enrolment code log only ids and codes). As a second line of defence, fields named like a secret
 * (REDACTED_FIELDS, at the top level or one level down) are written as "[redacted]".
 */
import pino from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

/**
 * The logging seam of every package: a message saying what happened, and fields for machines. An SDK user may
 * pass their own implementation (e.g. an adapter over their application's logger).
 */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger that adds `fields` to every line. */
  child(fields: Record<string, unknown>): Logger;
}

/** Receives each line (one JSON object, without its newline). */
export type LogSink = (line: string) => void;

/** A stream that takes whole lines, newline included: pino.destination(), a Node Writable, pino-pretty's stream. */
export interface LogDestination {
  write(line: string): unknown;
}

export interface LoggerOptions {
  /** Where lines go. Default: stderr (fd 2), written synchronously. */
  readonly destination?: LogDestination | LogSink;
}

/** Field names whose values are never written, whatever a caller passes by mistake. */
export const REDACTED_FIELDS: readonly string[] = ['token', 'password', 'secret', 'secretKey', 'privateKey', 'authorization', 'cookie'];

const fdDestinations = new Map<number, LogDestination>();

/**
 * A synchronous destination on file descriptor `fd` (default 2, stderr): pino's sonic-boom, which retries a
 * full pipe instead of dropping the line. stdout and stderr have one each for the whole process; another fd
 * (a file the caller opened, and may close and see reused) gets a fresh one.
 */
export function fdDestination(fd = 2): LogDestination {
  if (fd !== 1 && fd !== 2) return pino.destination({ dest: fd, sync: true });
  let destination = fdDestinations.get(fd);
  if (!destination) {
    destination = pino.destination({ dest: fd, sync: true });
    fdDestinations.set(fd, destination);
  }
  return destination;
}

function toDestination(output: LogDestination | LogSink | undefined): LogDestination {
  if (output === undefined) return fdDestination(2);
  if (typeof output === 'function') return { write: (line: string) => output(line.endsWith('\n') ? line.slice(0, -1) : line) };
  return output;
}

function wrap(p: pino.Logger): Logger {
  const at =
    (level: Exclude<LogLevel, 'silent'>) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      if (fields === undefined) p[level](msg);
      else p[level](fields, msg);
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (fields) => wrap(p.child(fields)),
  };
}

/**
 * A logger writing lines at `level` and above, each with the `base` fields. The third argument is either the
 * options or, as before pino, a function that receives each line.
 */
export function createLogger(level: LogLevel = 'info', base: Record<string, unknown> = {}, output: LoggerOptions | LogSink = {}): Logger {
  if (!LOG_LEVELS.includes(level)) throw new RangeError(`createLogger: unknown level ${JSON.stringify(level)}; expected one of ${LOG_LEVELS.join(', ')}`);
  const options = typeof output === 'function' ? { destination: output } : output;
  if (level === 'silent') return silentLogger;
  const redacted = REDACTED_FIELDS.flatMap((name) => [name, `*.${name}`]);
  const p = pino(
    {
      level,
      base,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: redacted, censor: '[redacted]' },
    },
    toDestination(options.destination),
  );
  return wrap(p);
}

/** Writes nothing, at no cost (no pino instance, no stream). */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
