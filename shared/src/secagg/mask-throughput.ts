/**
 * Throughput of the mask PRG (prg.ts) against the raw native AES-128-CTR keystream, for the benchmark script.
 * Two rates: expansion (expandMask: key derivation and keystream into a word vector) and application
 * (applyMask: the same plus the mod-2^32 add into the masked vector, the protocol's hot path). Timing is
 * noisy on shared machines, so this reports and never asserts.
 */
import { createCipheriv, randomFillSync } from 'node:crypto';
import { FedwardenError } from '../errors.ts';
import { AES128_KEY_BYTES, AES_BLOCK_BYTES, MASK_SEED_BYTES, applyMask, expandMask } from './prg.ts';
import { median } from '../stats.ts';

/** The chunk size applyMask streams in, for the chunked raw baseline. */
const CHUNK_BYTES = 64 * 1024;
const CHUNK_ZEROS = Buffer.alloc(CHUNK_BYTES);

export interface MaskThroughput {
  /** expandMask (key derivation and keystream into words), MB/s of mask. */
  readonly expandMBps: number;
  /** applyMask (key derivation, keystream and the modular add), MB/s of mask. */
  readonly maskMBps: number;
  /** Native AES-128-CTR keystream alone, MB/s: the faster of one update over all zeros and 64 KiB updates. */
  readonly rawMBps: number;
  /** expandMBps / rawMBps. */
  readonly expandRatio: number;
  /** maskMBps / rawMBps. */
  readonly ratio: number;
}

/**
 * For the benchmark script: applyMask's throughput on a `d`-word vector against the raw native keystream in the
 * same process. Each of `reps` samples times a batch of calls (about 1 MiB of keystream); the three variants are
 * interleaved and compared by their median samples, so that a noisy neighbour hurts all of them alike.
 */
export function measureMaskThroughput(d: number, reps: number): MaskThroughput {
  if (!Number.isSafeInteger(d) || d < 1) throw new FedwardenError('INTERNAL', 'measureMaskThroughput: d must be a positive integer');
  if (!Number.isSafeInteger(reps) || reps < 1) throw new FedwardenError('INTERNAL', 'measureMaskThroughput: reps must be a positive integer');
  const bytes = 4 * d;
  const batch = Math.max(1, Math.round(2 ** 20 / bytes));
  const seed = randomFillSync(new Uint8Array(MASK_SEED_BYTES));
  const key = randomFillSync(new Uint8Array(AES128_KEY_BYTES));
  const iv = randomFillSync(new Uint8Array(AES_BLOCK_BYTES));
  const zeros = Buffer.alloc(bytes);
  const target = new Uint32Array(d);
  const expanded = new Uint32Array(d);
  const variants = {
    expand: () => expandMask(seed, d, expanded),
    mask: () => applyMask(target, seed, 1),
    rawOneShot: () => createCipheriv('aes-128-ctr', key, iv).update(zeros),
    rawChunked: () => {
      const c = createCipheriv('aes-128-ctr', key, iv);
      for (let off = 0; off < bytes; off += CHUNK_BYTES) c.update(off + CHUNK_BYTES <= bytes ? CHUNK_ZEROS : CHUNK_ZEROS.subarray(0, bytes - off));
    },
  };
  const samples = { expand: [] as number[], mask: [] as number[], rawOneShot: [] as number[], rawChunked: [] as number[] };
  // Warm up: V8 first runs WebAssembly in its baseline compiler and tiers up only after enough calls.
  for (const run of Object.values(variants)) for (let i = 0; i < 20 * batch; i++) run();
  for (let r = 0; r < reps; r++) {
    for (const [name, run] of Object.entries(variants) as [keyof typeof variants, () => void][]) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < batch; i++) run();
      samples[name].push(Number(process.hrtime.bigint() - t0) / 1e9 / batch);
    }
  }
  const mbps = (seconds: number): number => bytes / 1e6 / seconds;
  const expandMBps = mbps(median(samples.expand));
  const maskMBps = mbps(median(samples.mask));
  const rawMBps = mbps(Math.min(median(samples.rawOneShot), median(samples.rawChunked)));
  return { expandMBps, maskMBps, rawMBps, expandRatio: expandMBps / rawMBps, ratio: maskMBps / rawMBps };
}

