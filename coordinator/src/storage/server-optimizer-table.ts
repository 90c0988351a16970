/**
 * The server optimizer's state (aggregation/server-optimizer.ts) after the latest completed round: one row,
 * replaced in each round's end transaction, so that a restarted coordinator continues the optimizer's trajectory
 * from the checkpoint it resumes from. Moments are float32 little-endian blobs; every load re-hashes them, and a
 * row whose bytes do not match is an error (STORAGE_CORRUPT), never used.
 */
import { createHash } from 'node:crypto';
import { FedwardenError } from '@fedwarden/shared';
import { SERVER_OPTIMIZERS, type ServerOptimizerKind, type ServerOptimizerState } from '../aggregation/server-optimizer.ts';
import type { Db } from './database.ts';

/** The state as stored: after which round. */
export interface StoredServerOptimizer {
  readonly round: number;
  readonly state: ServerOptimizerState;
}

interface Row {
  round: number;
  kind: string;
  steps: number;
  params: number;
  m: Buffer | null;
  v: Buffer | null;
  sha256: string;
}

function bytesOf(vec: Float32Array | undefined): Buffer | null {
  return vec === undefined ? null : Buffer.from(vec.buffer, vec.byteOffset, vec.byteLength);
}

function contentSha256(kind: string, steps: number, m: Buffer | null, v: Buffer | null): string {
  const hash = createHash('sha256').update(`${kind}\n${steps}\n${m?.length ?? -1}\n${v?.length ?? -1}\n`);
  if (m) hash.update(m);
  if (v) hash.update(v);
  return hash.digest('hex');
}

export class ServerOptimizerTable {
  constructor(private readonly db: Db) {}

  /** Replace the stored state with the one after `round`. Call inside the round's end transaction. */
  save(round: number, state: ServerOptimizerState, params: number): void {
    for (const vec of [state.m, state.v]) {
      if (vec !== undefined && vec.length !== params) throw new RangeError(`server optimizer state has ${vec.length} values, the manifest ${params}`);
    }
    const m = bytesOf(state.m);
    const v = bytesOf(state.v);
    this.db
      .prepare('INSERT OR REPLACE INTO server_optimizer (id, round, kind, steps, params, m, v, sha256) VALUES (1, ?, ?, ?, ?, ?, ?, ?)')
      .run(round, state.kind, state.steps, params, m, v, contentSha256(state.kind, state.steps, m, v));
  }

  /** The stored state, verified; undefined when none was stored. */
  load(): StoredServerOptimizer | undefined {
    const row = this.db.prepare('SELECT round, kind, steps, params, m, v, sha256 FROM server_optimizer WHERE id = 1').get() as Row | undefined;
    if (row === undefined) return undefined;
    const corrupt = (why: string) => new FedwardenError('STORAGE_CORRUPT', `server optimizer state of round ${row.round} is corrupt: ${why}`);
    if (!(SERVER_OPTIMIZERS as readonly string[]).includes(row.kind)) throw corrupt(`unknown kind ${JSON.stringify(row.kind)}`);
    const actual = contentSha256(row.kind, row.steps, row.m, row.v);
    if (actual !== row.sha256) throw corrupt(`content hash ${actual.slice(0, 16)}… differs from the stored ${row.sha256.slice(0, 16)}…`);
    const vector = (name: string, blob: Buffer | null): Float32Array | undefined => {
      if (blob === null) return undefined;
      if (blob.length !== row.params * 4) throw corrupt(`${name} holds ${blob.length} bytes, expected ${row.params} float32 values`);
      // Copy into a fresh, aligned buffer: SQLite's blob may sit at any byte offset.
      const out = new Float32Array(row.params);
      new Uint8Array(out.buffer).set(blob);
      return out;
    };
    const m = vector('m', row.m);
    const v = vector('v', row.v);
    return {
      round: row.round,
      state: { kind: row.kind as ServerOptimizerKind, steps: row.steps, ...(m ? { m } : {}), ...(v ? { v } : {}) },
    };
  }
}
