/**
 * `fedwarden backup` and `fedwarden restore` (storage/backup.ts, storage/restore.ts). `backup` reads a data dir
 * through its own read-only connection, so it runs beside a live coordinator; it checks the copy with `verify`
 * and keeps it only if it passes. `restore` refuses a backup whose files differ from its manifest or whose
 * database fails `verify`, a data dir that is not empty unless --overwrite, and a data dir whose coordinator runs.
 */
import { dirname, resolve } from 'node:path';
import { FedwardenError } from '@fedwarden/shared';
import { inspectDataDir } from '../data-dir.ts';
import { dataDirSource, sweepPartialBackups, writeBackup } from '../storage/backup.ts';
import { databasePath } from '../storage/database.ts';
import { restoreBackup } from '../storage/restore.ts';
import { formatVerifyReport } from '../storage/verify.ts';

export async function backupCommand(dataDir: string, out: string, print: (line: string) => void): Promise<void> {
  const state = inspectDataDir(dataDir);
  if (!state.key || state.database !== 'present') {
    const missing = [!state.key ? `the key ${state.keyPath}` : '', state.database !== 'present' ? `the database ${state.databasePath} (${state.database})` : '']
      .filter(Boolean)
      .join(' and ');
    throw new FedwardenError('STORAGE_MISSING', `backup: data dir ${dataDir} lacks ${missing}; a backup needs both`);
  }
  for (const path of await sweepPartialBackups(dirname(resolve(out)))) print(`removed ${path}: a partial backup left by a process that died mid-backup`);
  const manifest = await writeBackup(dataDirSource(dataDir), out, { verify: true });
  const db = manifest.database;
  const plural = (n: number, word: string, words = `${word}s`) => `${n} ${n === 1 ? word : words}`;
  print(
    `backup written to ${out}: last finished round ${db.lastFinishedRound}; ${plural(db.auditEntries, 'audit entry', 'audit entries')}; ` +
      `${plural(db.checkpoints, 'checkpoint')}; verify OK`,
  );
  print(`  audit head ${db.auditHead}`);
  print(`  key fingerprint ${manifest.keyFingerprint}`);
  print(`  it holds the coordinator key: keep it as private as the data dir (directory 0700, files 0600)`);
}

export async function restoreCommand(from: string, dataDir: string, overwrite: boolean, print: (line: string) => void): Promise<void> {
  const result = await restoreBackup(from, dataDir, { overwrite });
  const stale = result.staleLock;
  if (stale) print(`took over a stale data-dir lock: ${stale.holder} process ${stale.pid} (since ${stale.since}) is gone`);
  print(formatVerifyReport(result.report, databasePath(dataDir)));
  if (result.replacedTo) print(`the data dir's previous key and database were moved to ${result.replacedTo}`);
  const m = result.manifest;
  print(
    `restored the backup of ${m.createdAt} (last finished round ${m.database.lastFinishedRound}, key fingerprint ${m.keyFingerprint}) ` +
      `into ${dataDir}; start the coordinator on it to continue the federation`,
  );
}
