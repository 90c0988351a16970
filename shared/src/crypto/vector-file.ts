/**
 * Test-only loader for the known-answer files in shared/test-vectors/ (not exported from the package).
 * A file that yields zero vectors is an error: a known-answer suite that checks nothing must fail, not pass.
 */
import { readFileSync } from 'node:fs';
import { hexToBytes } from '@noble/hashes/utils.js';

export interface VectorFile<V> {
  readonly source: string;
  readonly vectors: readonly V[];
  readonly [extra: string]: unknown;
}

/** Parse a vector file's JSON text, failing when it holds no vectors. */
export function parseVectorFile<V>(text: string, name: string): VectorFile<V> {
  const parsed = JSON.parse(text) as { source?: unknown; vectors?: unknown };
  if (typeof parsed.source !== 'string' || parsed.source.length === 0) throw new Error(`${name}: missing source`);
  if (!Array.isArray(parsed.vectors) || parsed.vectors.length === 0) throw new Error(`${name}: loaded zero vectors`);
  return parsed as VectorFile<V>;
}

/** Load shared/test-vectors/<name>. */
export function loadVectorFile<V>(name: string): VectorFile<V> {
  const url = new URL(`../../test-vectors/${name}`, import.meta.url);
  return parseVectorFile<V>(readFileSync(url, 'utf8'), name);
}

/** Hex to bytes, where the empty string is zero bytes. */
export function hex(s: string): Uint8Array {
  return hexToBytes(s);
}
