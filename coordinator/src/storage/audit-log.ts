/**
 * Append-only, hash-chained audit log. Entry n stores hash_n = SHA-256(hash_{n−1} ‖ canonical entry), where
 * hash_0 is 32 zero bytes and the canonical entry is the canonical JSON (canonical-json.ts) of
 * {seq, at, kind, body}. SQL triggers (migrations.ts) refuse UPDATE and DELETE on the table, and verify()
 * walks the chain, so an entry changed, removed or inserted in the middle by someone who bypasses the
 * triggers breaks every later link.
 *
 * Limit: a chain alone cannot reveal entries cut off at its end; comparing the head hash (printed by
 * `verify`) with a copy kept elsewhere does.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';
import type { Db } from './database.ts';

export const GENESIS_HASH = '0'.repeat(64);

export type AuditKind =
  | 'coordinator-started'
  | 'coordinator-stopped'
  | 'participant-enrolled'
  | 'participant-token-changed'
  | 'participant-unenrolled'
  | 'identity-registered'
  | 'identity-reset'
  | 'manifest-adopted'
  | 'round-started'
  | 'round-finished'
  | 'round-interrupted'
  | 'checkpoint'
  /** The coordinator key the database belongs to: its fingerprint, and why it was recorded (data-dir.ts). */
  | 'coordinator-key';

export type AuditBody = Readonly<Record<string, unknown>>;

export interface AuditEntry {
  readonly seq: number;
  readonly at: number;
  readonly kind: string;
  readonly body: AuditBody;
  readonly prevHash: string;
  readonly hash: string;
}

export interface AuditProblem {
  readonly seq: number;
  readonly problem: string;
}

interface AuditRow {
  seq: number;
  at: number;
  kind: string;
  body: string;
  prev_hash: string;
  hash: string;
}

export function entryHash(prevHash: string, entry: { seq: number; at: number; kind: string; body: AuditBody }): string {
  return createHash('sha256')
    .update(Buffer.from(prevHash, 'hex'))
    .update(canonicalJson({ seq: entry.seq, at: entry.at, kind: entry.kind, body: entry.body }), 'utf8')
    .digest('hex');
}

export class AuditLog {
  constructor(private readonly db: Db) {}

  /** The last entry's sequence number and hash (0 and the genesis hash when empty). */
  head(): { seq: number; hash: string } {
    const row = this.db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1').get() as
      | { seq: number; hash: string }
      | undefined;
    return row ?? { seq: 0, hash: GENESIS_HASH };
  }

  /** Append an entry. Call inside the transaction of the change it records. */
  append(kind: AuditKind, body: AuditBody, at: number): AuditEntry {
    const prev = this.head();
    const seq = prev.seq + 1;
    const text = canonicalJson(body);
    const hash = entryHash(prev.hash, { seq, at, kind, body });
    this.db
      .prepare('INSERT INTO audit_log (seq, at, kind, body, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?)')
      .run(seq, at, kind, text, prev.hash, hash);
    return { seq, at, kind, body, prevHash: prev.hash, hash };
  }

  /** Entries in order; a body that is not valid JSON is returned as {} (verify() reports it). */
  *entries(kind?: AuditKind): Generator<AuditEntry> {
    const stmt =
      kind === undefined
        ? this.db.prepare('SELECT * FROM audit_log ORDER BY seq')
        : this.db.prepare('SELECT * FROM audit_log WHERE kind = ? ORDER BY seq').bind(kind);
    for (const row of stmt.iterate() as IterableIterator<AuditRow>) {
      yield { seq: row.seq, at: row.at, kind: row.kind, body: parseBody(row.body) ?? {}, prevHash: row.prev_hash, hash: row.hash };
    }
  }

  get size(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM audit_log').get() as { n: number }).n;
  }

  /** Walk the chain from the genesis; every broken link, altered entry or gap in the numbering is reported. */
  verify(): AuditProblem[] {
    const problems: AuditProblem[] = [];
    let expectedSeq = 1;
    let prevHash = GENESIS_HASH;
    for (const row of this.db.prepare('SELECT * FROM audit_log ORDER BY seq').iterate() as IterableIterator<AuditRow>) {
      if (row.seq !== expectedSeq) problems.push({ seq: row.seq, problem: `expected entry ${expectedSeq}: entries are missing` });
      if (row.prev_hash !== prevHash) problems.push({ seq: row.seq, problem: 'does not link to the previous entry' });
      const body = parseBody(row.body);
      if (body === undefined) {
        problems.push({ seq: row.seq, problem: 'body is not a JSON object' });
      } else if (canonicalJson(body) !== row.body || entryHash(row.prev_hash, { ...row, body }) !== row.hash) {
        problems.push({ seq: row.seq, problem: 'hash does not match its content (entry altered)' });
      }
      expectedSeq = row.seq + 1;
      prevHash = row.hash;
    }
    return problems;
  }
}

function parseBody(text: string): AuditBody | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as AuditBody) : undefined;
  } catch {
    return undefined;
  }
}
