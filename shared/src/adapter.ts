/**
 * Adapter manifest: the names, shapes and initialisers of the trainable tensors that travel as one flat
 * Float32Array. Participants and the coordinator agree on it by hash; the coordinator draws the initial global
 * adapter from it so that every participant starts from the same point.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { FedwardenError } from './errors.ts';
import { type Rng, normal } from './rng.ts';

export type AdapterInit =
  | { readonly kind: 'zeros' }
  | { readonly kind: 'normal'; readonly std: number };

export interface AdapterEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: AdapterInit;
}

export interface AdapterManifest {
  readonly entries: readonly AdapterEntry[];
}

export function entrySize(entry: AdapterEntry): number {
  return entry.shape.reduce((a, b) => a * b, 1);
}

export function manifestSize(manifest: AdapterManifest): number {
  let total = 0;
  for (const e of manifest.entries) total += entrySize(e);
  return total;
}

/** Canonical JSON (fixed key order) so that equal manifests hash equally. */
export function manifestCanonical(manifest: AdapterManifest): string {
  return JSON.stringify(
    manifest.entries.map((e) => [e.name, e.shape, e.init.kind === 'normal' ? ['normal', e.init.std] : ['zeros']]),
  );
}

export function manifestHash(manifest: AdapterManifest): string {
  return bytesToHex(sha256(utf8ToBytes(manifestCanonical(manifest))));
}

/** Validate a manifest from an untrusted source against size limits. */
export function validateManifest(manifest: AdapterManifest, maxParams: number): void {
  if (manifest.entries.length === 0) throw new FedwardenError('BAD_FRAME', 'manifest: no entries');
  const names = new Set<string>();
  let total = 0;
  for (const e of manifest.entries) {
    if (names.has(e.name)) throw new FedwardenError('BAD_FRAME', `manifest: duplicate entry ${e.name}`);
    names.add(e.name);
    if (e.shape.length === 0 || e.shape.some((d) => !Number.isSafeInteger(d) || d <= 0)) {
      throw new FedwardenError('BAD_FRAME', `manifest: bad shape for ${e.name}`);
    }
    if (e.init.kind === 'normal' && !(Number.isFinite(e.init.std) && e.init.std >= 0)) {
      throw new FedwardenError('BAD_FRAME', `manifest: bad init std for ${e.name}`);
    }
    total += entrySize(e);
    if (total > maxParams) throw new FedwardenError('TOO_BIG', `manifest: more than ${maxParams} parameters`);
  }
}

/** Draw the initial adapter described by the manifest, reproducibly from the rng. */
export function initAdapter(manifest: AdapterManifest, rng: Rng): Float32Array {
  const out = new Float32Array(manifestSize(manifest));
  let offset = 0;
  for (const e of manifest.entries) {
    const n = entrySize(e);
    if (e.init.kind === 'normal') {
      for (let i = 0; i < n; i++) out[offset + i] = normal(rng) * e.init.std;
    }
    offset += n;
  }
  return out;
}
