/**
 * Fixed-point quantization for secure aggregation: masks live in Z_{2^32}, so updates are mapped to integers
 * before masking and the group's sum is mapped back after unmasking.
 *
 * A coordinate v of an update with weight w becomes y = w·clamp(v, −c, c), then the integer
 * q = SR((y + c)·(2^b − 1) / (2c)) in [0, 2^b − 1], where SR is unbiased stochastic rounding (E[q] equals its
 * argument, so the quantized sum is an unbiased estimate of Σ y; cf. QSGD, Alistarh et al., NeurIPS 2017).
 * With b = 32 − ⌈log2 n⌉, n members' values sum to at most n·(2^b − 1) < 2^32: the sum never wraps.
 * Clipping before weighting keeps an honest member's y within w·[−c, c], and the coordinator checks a group's sum
 * against the range its members' weights allow (coordinator/src/secagg/sum-range.ts). That bounds the sum, not a
 * hostile member's part of it: such a member can still place its group's mean anywhere in [−c, c].
 *
 * Errors: parameters (group size, clip, bits, weight, count) come from configuration: BAD_CONFIG. A non-finite
 * value in an update is BAD_UPDATE.
 * Limits: clipping biases coordinates beyond ±c (counted in `clipped`); each quantized coordinate is off by less
 * than one step 2c/(2^b − 1), so a sum of `count` is off by less than count steps.
 */
import { randomFillSync } from 'node:crypto';
import { FedwardenError } from '../errors.ts';
import { SHAMIR_MAX_SHARES } from './shamir.ts';

/** Coordinates per draw of rounding randomness (4 bytes each): 64 KiB at a time. */
const RANDOM_CHUNK = 16 * 1024;
const TWO_POW_32 = 2 ** 32;

/** Bits per quantized coordinate so that `groupSize` of them never wrap mod 2^32: 32 − ⌈log2 groupSize⌉. */
export function quantizationBits(groupSize: number): number {
  if (!Number.isInteger(groupSize) || groupSize < 1 || groupSize > SHAMIR_MAX_SHARES) {
    throw new FedwardenError('BAD_CONFIG', `quantizationBits: groupSize must be an integer in 1..${SHAMIR_MAX_SHARES}`);
  }
  return Math.clz32(groupSize - 1); // ⌈log2 n⌉ = 32 − clz32(n − 1) for n ≥ 1
}

export interface Quantized {
  readonly q: Uint32Array;
  /** Coordinates where |v| exceeded clip. */
  readonly clipped: number;
}

/**
 * Quantize `values`, clipped to [−clip, clip] and then scaled by `weight` (in (0, 1]), to `bits`-bit integers.
 * `random(n)` supplies the rounding randomness, 4 bytes per coordinate: coordinate i rounds up when the
 * little-endian u32 at 4i is below frac·2^32. The platform CSPRNG by default; tests pass a seeded source.
 */
export function quantize(
  values: Float32Array,
  weight: number,
  clip: number,
  bits: number,
  random: (n: number) => Uint8Array = (n) => randomFillSync(new Uint8Array(n)),
): Quantized {
  if (!(values instanceof Float32Array)) throw new FedwardenError('BAD_UPDATE', 'quantize: values must be a Float32Array');
  if (!(Number.isFinite(weight) && weight > 0 && weight <= 1)) throw new FedwardenError('BAD_CONFIG', 'quantize: weight must be in (0, 1]');
  checkClipAndBits('quantize', clip, bits);
  const top = 2 ** bits - 1;
  const scale = top / (2 * clip);
  const q = new Uint32Array(values.length);
  let clipped = 0;
  for (let start = 0; start < values.length; start += RANDOM_CHUNK) {
    const n = Math.min(RANDOM_CHUNK, values.length - start);
    const bytes = random(4 * n);
    if (!(bytes instanceof Uint8Array) || bytes.length !== 4 * n) {
      throw new FedwardenError('INTERNAL', 'quantize: random returned the wrong number of bytes');
    }
    const u = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < n; i++) {
      const v = values[start + i] as number;
      if (!Number.isFinite(v)) throw new FedwardenError('BAD_UPDATE', `quantize: non-finite value at ${start + i}`);
      let x = v;
      if (x > clip || x < -clip) {
        clipped++;
        x = x > clip ? clip : -clip;
      }
      const y = weight * x;
      const scaled = (y + clip) * scale;
      const floor = Math.floor(scaled);
      const up = u.getUint32(4 * i, true) < (scaled - floor) * TWO_POW_32 ? 1 : 0;
      q[start + i] = Math.min(floor + up, top); // min: (c + c)·scale may round a hair above top
    }
  }
  return { q, clipped };
}

/**
 * Σ y over `count` inputs from the sum of their quantized values (mod 2^32, which never wrapped):
 * sum·2c/(2^b − 1) − count·c.
 */
export function dequantizeSum(sum: Uint32Array, count: number, clip: number, bits: number): Float32Array {
  if (!(sum instanceof Uint32Array)) throw new FedwardenError('INTERNAL', 'dequantizeSum: sum must be a Uint32Array');
  checkClipAndBits('dequantizeSum', clip, bits);
  const top = 2 ** bits - 1;
  if (!Number.isInteger(count) || count < 1 || count * top > TWO_POW_32 - 1) {
    throw new FedwardenError('BAD_CONFIG', `dequantizeSum: count must be an integer in 1..${Math.floor((TWO_POW_32 - 1) / top)} for ${bits} bits`);
  }
  const step = (2 * clip) / top;
  const offset = count * clip;
  const out = new Float32Array(sum.length);
  for (let i = 0; i < sum.length; i++) out[i] = (sum[i] as number) * step - offset;
  return out;
}

function checkClipAndBits(fn: string, clip: number, bits: number): void {
  if (!(Number.isFinite(clip) && clip > 0)) throw new FedwardenError('BAD_CONFIG', `${fn}: clip must be finite and > 0`);
  if (!Number.isInteger(bits) || bits < 1 || bits > 32) throw new FedwardenError('BAD_CONFIG', `${fn}: bits must be an integer in 1..32`);
}
