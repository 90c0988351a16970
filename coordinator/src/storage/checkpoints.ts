/**
 * Adapter checkpoints: the global adapter after each completed round (round 0: the initial adapter drawn when
 * the manifest was adopted), as raw float32 little-endian bytes with their SHA-256. Every load re-hashes the
 * bytes: a checkpoint whose content does not match its hash is an error (STORAGE_CORRUPT), never used.
 */
import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import { FedwardenError } from '@fedwarden/shared';
import type { Db } from './database.ts';

if (endianness() !== 'LE') throw new Error('checkpoints: stored adapters are little-endian float32; big-endian hosts are not supported');

export interface Checkpoint {
  readonly round: number;
  readonly adapter: Float32Array;
  readonly sha256: string;
}

export interface CheckpointInfo {
  readonly round: number;
  readonly params: number;
  readonly sha256: string;
}

interface Row {
  round: number;
  adapter: Buffer;
  params: number;
  sha256: string;
}

function bytesOf(adapter: Float32Array): Buffer {
  return Buffer.from(adapter.buffer, adapter.byteOffset, adapter.byteLength);
}

/** SHA-256 of an adapter's float32 little-endian bytes, lowercase hex. */
export function adapterSha256(adapter: Float32Array): string {
  return createHash('sha256').update(bytesOf(adapter)).digest('hex');
}

export class CheckpointsTable {
  constructor(private readonly db: Db) {}

  /** Store the adapter after `round`; `params` must match the federation's manifest. Call inside a transaction. */
  save(round: number, adapter: Float32Array, params: number, now: number): CheckpointInfo {
    if (!Number.isSafeInteger(round) || round < 0) throw new RangeError(`checkpoint: bad round ${round}`);
    if (adapter.length !== params) {
      throw new RangeError(`checkpoint: adapter of round ${round} has ${adapter.length} values, the manifest ${params}`);
    }
    const sha256 = adapterSha256(adapter);
    this.db
      .prepare('INSERT INTO checkpoints (round, adapter, params, sha256, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(round, bytesOf(adapter), params, sha256, now);
    return { round, params, sha256 };
  }

  /** The checkpoint of `round`, verified; undefined if there is none. Throws STORAGE_CORRUPT on a mismatch. */
  load(round: number): Checkpoint | undefined {
    const row = this.db.prepare('SELECT round, adapter, params, sha256 FROM checkpoints WHERE round = ?').get(round) as Row | undefined;
    return row && verified(row);
  }

  /** The checkpoint of the highest round, verified; undefined if there is none. */
  latest(): Checkpoint | undefined {
    const row = this.db.prepare('SELECT round, adapter, params, sha256 FROM checkpoints ORDER BY round DESC LIMIT 1').get() as
      | Row
      | undefined;
    return row && verified(row);
  }

  list(): CheckpointInfo[] {
    return this.db.prepare('SELECT round, params, sha256 FROM checkpoints ORDER BY round').all() as CheckpointInfo[];
  }

  /** Re-hash every checkpoint; one line per checkpoint whose bytes do not match. */
  verifyAll(): Array<{ round: number; problem: string }> {
    const problems: Array<{ round: number; problem: string }> = [];
    for (const row of this.db.prepare('SELECT round, adapter, params, sha256 FROM checkpoints ORDER BY round').iterate() as IterableIterator<Row>) {
      const problem = checkRow(row);
      if (problem) problems.push({ round: row.round, problem });
    }
    return problems;
  }
}

function checkRow(row: Row): string | undefined {
  if (!Buffer.isBuffer(row.adapter) || row.adapter.length !== row.params * 4) {
    return `holds ${Buffer.isBuffer(row.adapter) ? row.adapter.length : 0} bytes, expected ${row.params} float32 values`;
  }
  const actual = createHash('sha256').update(row.adapter).digest('hex');
  return actual === row.sha256 ? undefined : `content hash ${actual.slice(0, 16)}… differs from the stored ${row.sha256.slice(0, 16)}…`;
}

function verified(row: Row): Checkpoint {
  const problem = checkRow(row);
  if (problem) throw new FedwardenError('STORAGE_CORRUPT', `checkpoint of round ${row.round} is corrupt: ${problem}`);
  // Copy into a fresh, aligned buffer: SQLite's blob may sit at any byte offset.
  const adapter = new Float32Array(row.params);
  new Uint8Array(adapter.buffer).set(row.adapter);
  return { round: row.round, adapter, sha256: row.sha256 };
}
