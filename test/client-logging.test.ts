/**
 * The SDK's logging as a participant developer sets it up: their own Logger, or `logLevel` for JSON lines on
 * stderr. The coordinator is a closed port, so the lines are the join failures and reconnect decisions.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FederatedClient } from '@fedwarden/client';
import { createLogger, type LogLevel } from '@fedwarden/shared';
import { closedPortClientOptions } from './support/closed-port-client.ts';
import { within } from './support/within.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}


type Line = Record<string, unknown>;

describe('FederatedClient logging', () => {
  it('writes to the logger it is given: what happened, with rounded figures and no token', async () => {
    const lines: Line[] = [];
    const logger = createLogger('debug', { component: 'mine' }, (l) => lines.push(JSON.parse(l) as Line));
    const client = new FederatedClient(closedPortClientOptions(await closedPort(), { logger }));
    await expect(client.run()).rejects.toThrow();
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'cannot join the federation'],
      ['info', 'reconnecting'],
      ['warn', 'cannot join the federation'],
      ['warn', 'not reconnecting'],
    ]);
    const reconnecting = lines[1]!;
    expect(reconnecting).toMatchObject({ component: 'mine', attempt: 2 });
    expect(Number.isInteger(reconnecting.delayMs)).toBe(true);
    expect(JSON.stringify(lines)).not.toContain('fwt_never-logged');
  });

  it('refuses logger and logLevel together, and an unknown level', () => {
    const logger = createLogger('silent');
    expect(() => new FederatedClient(closedPortClientOptions(1, { logger, logLevel: 'info' }))).toThrow(/give logger or logLevel, not both/);
    expect(() => new FederatedClient(closedPortClientOptions(1, { logLevel: 'verbose' as LogLevel }))).toThrow(/logLevel must be one of/);
  });

  async function stderrAt(level: LogLevel): Promise<Line[]> {
    const port = await closedPort();
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'support', 'log-level-client.ts'), level, String(port)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    const code = await within(50_000, 'client process', new Promise<number | null>((r) => child.once('exit', r)));
    expect(code, err).toBe(0);
    return err
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Line);
  }

  it('with logLevel, writes JSON lines on stderr at that level and above', async () => {
    // One process (it loads TensorFlow.js): at warn, the info line 'reconnecting' is filtered out.
    const lines = await stderrAt('warn');
    expect(lines.map((l) => l.msg)).toEqual(['cannot join the federation', 'cannot join the federation', 'not reconnecting']);
    expect(lines.every((l) => l.level === 'warn' && l.component === 'client' && typeof l.time === 'string')).toBe(true);
  });
});
