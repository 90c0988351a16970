/**
 * `fedwarden verify` as an operator runs it (a real process): exit 0 and a summary on an intact data dir, exit 1
 * and every problem on a tampered one or a clear error on a database from a newer coordinator, exit 2 when the
 * data dir holds no database (a usage error: wrong --data-dir).
 */
import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { DB_FILE_NAME } from './storage/database.ts';
import { SCHEMA_VERSION } from './storage/migrations.ts';
import { storeWithRounds, tempDbPaths } from './storage/test-support.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'coordinator', 'src', 'cli.ts');

const freshDbPath = tempDbPaths();

function dataDirWithRounds(rounds: number): { dataDir: string; path: string } {
  const dbPath = freshDbPath();
  storeWithRounds(dbPath, rounds).close();
  return { dataDir: dirname(dbPath), path: dbPath };
}

const execFileAsync = promisify(execFile);

/** Asynchronous on purpose: a synchronous child blocks the test worker, which on a loaded machine makes vitest's worker RPC time out. */
async function verify(dataDir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ['--import', 'tsx', CLI, 'verify', '--data-dir', dataDir], { cwd: ROOT, timeout: 50_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const failed = e as { code?: unknown; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : null, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('coordinator verify', async () => {
  it('exits 0 with a summary when the data dir is intact', async () => {
    const { dataDir } = dataDirWithRounds(2);
    const r = await verify(dataDir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`verify ${join(dataDir, DB_FILE_NAME)}`);
    expect(r.stdout).toMatch(/2 finished rounds \(last 2\); 3 checkpoints; 0 interrupted attempts/);
    expect(r.stdout).toMatch(/audit head [0-9a-f]{64}/);
    expect(r.stdout).toContain('OK: audit chain, checkpoints and rounds are intact');
  });

  it('exits 1 and says what is wrong when the data dir was tampered with', async () => {
    const { dataDir, path } = dataDirWithRounds(2);
    const raw = new Database(path);
    raw.exec("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET body = replace(body, '\"reported\":3', '\"reported\":2') WHERE kind = 'round-finished';");
    raw.prepare('UPDATE checkpoints SET adapter = ? WHERE round = 1').run(Buffer.from(new Float32Array([1, 1, 1, 1.5]).buffer));
    raw.close();
    const r = await verify(dataDir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error [STORAGE_CORRUPT]: verify found problems');
    expect(r.stdout).toContain('FAILED: 3 problems');
    expect(r.stdout).toMatch(/- audit entry \d+: hash does not match its content \(entry altered\)\n  - audit entry \d+: hash does not match/);
    expect(r.stdout).toMatch(/- checkpoint 1: content hash [0-9a-f]{16}… differs from the stored/);
  });

  it('exits 1 with a clear error for a database written by a newer coordinator', async () => {
    const { dataDir, path } = dataDirWithRounds(1);
    const raw = new Database(path);
    raw.pragma('user_version = 99');
    raw.close();
    const r = await verify(dataDir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error [STORAGE_VERSION]: database schema v99 is newer than this coordinator's v${SCHEMA_VERSION}`);
  });

  it('exits 2 when there is no database', async () => {
    const dbPath = freshDbPath();
    const r = await verify(dirname(dbPath));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error \[BAD_CONFIG\]: cannot open database/);
  });
});
