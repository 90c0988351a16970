import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@fedwarden/shared';
import { prettyDestination } from './pretty-destination.ts';

describe('prettyDestination', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedwarden-pretty-'));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes one human-readable line per call, synchronously, with level, message and fields', () => {
    const path = join(dir, 'log.txt');
    const fd = openSync(path, 'w');
    try {
      const log = createLogger('info', { component: 'coordinator' }, { destination: prettyDestination({ fd, colorize: false }) });
      log.info('round ended', { round: 3, outcome: 'completed' });
      log.warn('alert', { token: 'fwt_secret' });
      log.debug('hidden');
      // Read before anything asynchronous can run: the lines are already there.
      const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: round ended \{.*"round":3.*"outcome":"completed".*\}$/);
      expect(lines[1]).toMatch(/^\[[\d:.]+\] WARN: alert /);
      expect(lines[1]).not.toContain('fwt_secret');
      expect(lines.join('\n')).not.toMatch(/^\{/m);
    } finally {
      closeSync(fd);
    }
  });
});
