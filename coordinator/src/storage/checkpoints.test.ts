import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { CheckpointsTable, adapterSha256 } from './checkpoints.ts';
import { MEMORY, openDatabase } from './database.ts';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('checkpoints', () => {
  it('round-trips an adapter bit for bit, hashed over its float32 little-endian bytes', () => {
    const db = openDatabase(MEMORY);
    const table = new CheckpointsTable(db);
    const adapter = Float32Array.from([0.5, -1.25, 3e-8, -0, 123456.789]);
    const info = table.save(0, adapter, 5, 1);
    const bytes = Buffer.alloc(20);
    adapter.forEach((v, i) => bytes.writeFloatLE(v, 4 * i));
    expect(info.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(adapterSha256(adapter)).toBe(info.sha256);

    const loaded = table.load(0)!;
    expect(Buffer.from(loaded.adapter.buffer).equals(bytes)).toBe(true);
    expect(loaded.sha256).toBe(info.sha256);
    expect(table.load(1)).toBeUndefined();
    db.close();
  });

  it('latest() is the highest round', () => {
    const db = openDatabase(MEMORY);
    const table = new CheckpointsTable(db);
    expect(table.latest()).toBeUndefined();
    table.save(0, new Float32Array([0, 0]), 2, 1);
    table.save(2, new Float32Array([2, 2]), 2, 1);
    table.save(1, new Float32Array([1, 1]), 2, 1);
    expect(table.latest()?.round).toBe(2);
    expect([...table.latest()!.adapter]).toEqual([2, 2]);
    expect(table.list().map((c) => c.round)).toEqual([0, 1, 2]);
    db.close();
  });

  it('refuses an adapter that does not match the manifest size, and a second checkpoint for a round', () => {
    const db = openDatabase(MEMORY);
    const table = new CheckpointsTable(db);
    expect(() => table.save(1, new Float32Array(3), 4, 1)).toThrow(/has 3 values, the manifest 4/);
    table.save(1, new Float32Array(4), 4, 1);
    expect(() => table.save(1, new Float32Array(4), 4, 1)).toThrow(/UNIQUE/);
    db.close();
  });

  it('a checkpoint whose bytes were changed is an error on load, never used, and verifyAll names it', () => {
    dir = mkdtempSync(join(tmpdir(), 'fedwarden-checkpoints-'));
    const path = join(dir, 'fedwarden.db');
    const db = openDatabase(path);
    const table = new CheckpointsTable(db);
    table.save(0, new Float32Array([1, 2, 3]), 3, 1);
    table.save(1, new Float32Array([4, 5, 6]), 3, 1);
    const raw = new Database(path);
    const blob = raw.prepare('SELECT adapter FROM checkpoints WHERE round = 1').get() as { adapter: Buffer };
    blob.adapter[5] = (blob.adapter[5] as number) ^ 0x01; // one flipped bit in the second value
    raw.prepare('UPDATE checkpoints SET adapter = ? WHERE round = 1').run(blob.adapter);
    raw.close();

    expect(() => table.latest()).toThrow(expect.objectContaining({ code: 'STORAGE_CORRUPT', message: expect.stringMatching(/round 1 is corrupt: content hash/) }));
    expect(() => table.load(1)).toThrow(expect.objectContaining({ code: 'STORAGE_CORRUPT' }));
    expect([...table.load(0)!.adapter]).toEqual([1, 2, 3]);
    expect(table.verifyAll()).toEqual([{ round: 1, problem: expect.stringMatching(/^content hash .* differs from the stored/) }]);
    db.close();
  });

  it('a truncated checkpoint is reported, not read past its end', () => {
    const db = openDatabase(MEMORY);
    const table = new CheckpointsTable(db);
    table.save(0, new Float32Array([1, 2, 3]), 3, 1);
    db.prepare('UPDATE checkpoints SET adapter = substr(adapter, 1, 8) WHERE round = 0').run();
    expect(() => table.load(0)).toThrow(/holds 8 bytes, expected 3 float32 values/);
    db.close();
  });
});
