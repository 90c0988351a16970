/**
 * The CLI's logger: JSON lines on stderr, or pino-pretty's human-readable lines when stderr is a terminal.
 * Pretty lines leave out `component` (one command, one component). Pretty printing runs in-process and synchronously (no worker thread), so the last lines before an exit show.
 */
import { Option } from 'commander';
import { createLogger, LOG_LEVELS, type Logger, type LogLevel } from '@fedwarden/shared';
import pretty from 'pino-pretty';
import { usageError } from './exit-codes.ts';

export type LogFormat = 'auto' | 'json' | 'pretty';

export function parseLogLevel(value: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(value)) throw usageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}; got "${value}"`);
  return value as LogLevel;
}

/** `--log-level`, with the commands' own words for what applies when it is absent. */
export const logLevelOption = (whenAbsent: string): Option =>
  new Option('--log-level <level>', `least severe log level written (default: ${whenAbsent})`).choices(LOG_LEVELS);

export const logFormatOption = (): Option =>
  new Option('--log-format <format>', 'log lines on stderr: pretty in a terminal, JSON lines otherwise').choices(['auto', 'json', 'pretty']).default('auto');

export function cliLogger(level: LogLevel, component: string, format: LogFormat = 'auto'): Logger {
  const human = format === 'pretty' || (format === 'auto' && process.stderr.isTTY === true);
  if (!human) return createLogger(level, { component });
  const stream = pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY === true, translateTime: 'SYS:HH:MM:ss', singleLine: true, ignore: 'component' });
  return createLogger(level, { component }, { destination: stream });
}
