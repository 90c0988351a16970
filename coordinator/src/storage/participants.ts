/**
 * The participants table: who is enrolled (id and SHA-256 of the token, never the token), since when, when
 * each was first and last seen online, and the ML-DSA-65 identity public key it registered at its first
 * authenticated hello (with the key's SHA-256 fingerprint; NULL until then, and again after an operator reset). The config file is the source of enrolment; sync() brings the
 * table in line with it and reports what changed, for the audit log. A participant dropped from the config
 * keeps its row (enrolled = 0) so that its rounds and reputation stay attributable.
 */
import type { Db } from './database.ts';

export interface EnrolledParticipant {
  readonly id: string;
  readonly tokenSha256: string;
}

export interface ParticipantRow extends EnrolledParticipant {
  readonly enrolled: boolean;
  readonly enrolledAt: number;
  readonly firstSeen: number | null;
  readonly lastSeen: number | null;
  /** SHA-256 of the registered identity public key (lower-case hex); null while none is registered. */
  readonly identitySha256: string | null;
}

/** A participant's registered identity key. */
export interface RegisteredIdentity {
  readonly publicKey: Uint8Array;
  /** SHA-256 of publicKey, lower-case hex. */
  readonly fingerprint: string;
  readonly registeredAt: number;
}

export interface SyncChanges {
  readonly enrolled: string[];
  readonly tokenChanged: string[];
  readonly unenrolled: string[];
}

interface Row {
  id: string;
  token_sha256: string;
  enrolled: number;
  enrolled_at: number;
  first_seen: number | null;
  last_seen: number | null;
  identity_sha256: string | null;
}

const ROW_COLUMNS = 'id, token_sha256, enrolled, enrolled_at, first_seen, last_seen, identity_sha256';

export class ParticipantsTable {
  constructor(private readonly db: Db) {}

  /** Make the table match the configured enrolment. Call inside a transaction. */
  sync(configured: readonly EnrolledParticipant[], now: number): SyncChanges {
    const existing = new Map(this.list().map((p) => [p.id, p]));
    const changes: SyncChanges = { enrolled: [], tokenChanged: [], unenrolled: [] };
    const insert = this.db.prepare('INSERT INTO participants (id, token_sha256, enrolled, enrolled_at) VALUES (?, ?, 1, ?)');
    const update = this.db.prepare('UPDATE participants SET token_sha256 = ?, enrolled = 1 WHERE id = ?');
    for (const p of configured) {
      const before = existing.get(p.id);
      existing.delete(p.id);
      if (before === undefined) {
        insert.run(p.id, p.tokenSha256, now);
        changes.enrolled.push(p.id);
      } else if (before.tokenSha256 !== p.tokenSha256 || !before.enrolled) {
        update.run(p.tokenSha256, p.id);
        (before.enrolled ? changes.tokenChanged : changes.enrolled).push(p.id);
      }
    }
    const retire = this.db.prepare('UPDATE participants SET enrolled = 0 WHERE id = ?');
    for (const [id, p] of existing) {
      if (!p.enrolled) continue;
      retire.run(id);
      changes.unenrolled.push(id);
    }
    return changes;
  }

  /** Record that a participant connected. */
  seen(id: string, now: number): void {
    this.db.prepare('UPDATE participants SET first_seen = coalesce(first_seen, ?), last_seen = ? WHERE id = ?').run(now, now, id);
  }

  get(id: string): ParticipantRow | undefined {
    const row = this.db.prepare(`SELECT ${ROW_COLUMNS} FROM participants WHERE id = ?`).get(id) as Row | undefined;
    return row && fromRow(row);
  }

  list(): ParticipantRow[] {
    return (this.db.prepare(`SELECT ${ROW_COLUMNS} FROM participants ORDER BY id`).all() as Row[]).map(fromRow);
  }

  /** The identity key registered for `id`, if any. */
  identity(id: string): RegisteredIdentity | undefined {
    const row = this.db.prepare('SELECT identity_key, identity_sha256, identity_registered_at FROM participants WHERE id = ?').get(id) as
      | { identity_key: Buffer | null; identity_sha256: string | null; identity_registered_at: number | null }
      | undefined;
    if (!row || row.identity_key === null || row.identity_sha256 === null || row.identity_registered_at === null) return undefined;
    return { publicKey: new Uint8Array(row.identity_key), fingerprint: row.identity_sha256, registeredAt: row.identity_registered_at };
  }

  /**
   * Register `publicKey` for `id` if it has none; returns false (and changes nothing) when a key is already
   * registered or the participant is unknown. Call inside a transaction.
   */
  registerIdentity(id: string, publicKey: Uint8Array, fingerprint: string, now: number): boolean {
    const result = this.db
      .prepare('UPDATE participants SET identity_key = ?, identity_sha256 = ?, identity_registered_at = ? WHERE id = ? AND identity_key IS NULL')
      .run(Buffer.from(publicKey), fingerprint, now, id);
    return result.changes === 1;
  }

  /** Forget `id`'s identity key; returns the fingerprint it had (undefined: none registered). Call inside a transaction. */
  clearIdentity(id: string): string | undefined {
    const before = this.identity(id);
    if (!before) return undefined;
    this.db.prepare('UPDATE participants SET identity_key = NULL, identity_sha256 = NULL, identity_registered_at = NULL WHERE id = ?').run(id);
    return before.fingerprint;
  }
}

function fromRow(r: Row): ParticipantRow {
  return {
    id: r.id,
    tokenSha256: r.token_sha256,
    enrolled: r.enrolled === 1,
    enrolledAt: r.enrolled_at,
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    identitySha256: r.identity_sha256,
  };
}
