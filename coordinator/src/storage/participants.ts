/**
 * The participants table: who is enrolled (id and SHA-256 of the token, never the token), since when, and
 * when each was first and last seen online. The config file is the source of enrolment; sync() brings the
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
}

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
    const row = this.db.prepare('SELECT * FROM participants WHERE id = ?').get(id) as Row | undefined;
    return row && fromRow(row);
  }

  list(): ParticipantRow[] {
    return (this.db.prepare('SELECT * FROM participants ORDER BY id').all() as Row[]).map(fromRow);
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
  };
}
