/**
 * Word-wise addition and subtraction mod 2^32 of a keystream into a vector: the inner loop of masking (prg.ts),
 * and of whole word vectors into one (addModVectors: the coordinator's sum of masked inputs, unmask.ts).
 *
 * V8 checks bounds on every typed-array access in a loop it cannot see through, which makes a JavaScript add
 * about as slow per word as AES-NI itself. A tiny WebAssembly module adds four words per instruction
 * (i32x4.add, WebAssembly SIMD); copying in and out of its memory costs less than the scalar loop saves. Where
 * WebAssembly is unavailable (--jitless) or the host is big-endian (WebAssembly memory is little-endian), the
 * scalar loop is used instead; the tests check both against each other.
 *
 * Limits: at most MOD_ADD_CHUNK_WORDS words per call; not re-entrant across threads (each worker loads its own).
 */
import { FedwardenError } from '../errors.ts';

/** Words per call: each of the module's two memory regions holds 64 KiB. */
export const MOD_ADD_CHUNK_WORDS = 16 * 1024;
const OPERAND_OFFSET = 4 * MOD_ADD_CHUNK_WORDS;

/*
 * The module in WebAssembly text format; `loop` below is the binary encoding of each function, instruction by
 * instruction (opcodes from the WebAssembly core specification 2.0, §5.4; SIMD instructions have prefix 0xfd).
 *
 * (module
 *   (memory (export "memory") 2)          ;; [0, 64 KiB): target words; [64 KiB, 128 KiB): operand words
 *   (func (export "add") (param $bytes i32) (local $i i32)
 *     (block (loop
 *       (br_if 1 (i32.ge_u (local.get $i) (local.get $bytes)))
 *       ;; four times, for offset = 0, 16, 32, 48:
 *       (v128.store offset=<offset> (local.get $i)
 *         (i32x4.add (v128.load offset=<offset> (local.get $i)) (v128.load offset=<65536 + offset> (local.get $i))))
 *       (local.set $i (i32.add (local.get $i) (i32.const 64)))
 *       (br 0))))
 *   (func (export "sub") …the same with i32x4.sub…))
 */
function loop(laneOp: number): number[] {
  const lanes = (offset: number): number[] => [
    0x20, 0x01, //                                       local.get $i (store address)
    0x20, 0x01, 0xfd, 0x00, 0x04, ...leb128(offset), //  v128.load align=16 offset=<offset>
    0x20, 0x01, 0xfd, 0x00, 0x04, ...leb128(OPERAND_OFFSET + offset), // v128.load (operand)
    0xfd, laneOp, 0x01, //                               i32x4.add (174) or i32x4.sub (177), LEB128
    0xfd, 0x0b, 0x04, ...leb128(offset), //              v128.store align=16 offset=<offset>
  ];
  return [
    0x01, 0x01, 0x7f, //                                 locals: 1 × i32 ($i)
    0x02, 0x40, 0x03, 0x40, //                           block, loop (no result)
    0x20, 0x01, 0x20, 0x00, 0x4f, 0x0d, 0x01, //         br_if 1 (i32.ge_u $i $bytes)
    ...lanes(0), ...lanes(16), ...lanes(32), ...lanes(48),
    0x20, 0x01, 0x41, 0xc0, 0x00, 0x6a, 0x21, 0x01, //   local.set $i (i32.add $i 64)
    0x0c, 0x00, 0x0b, 0x0b, 0x0b, //                     br 0; end loop; end block; end func
  ];
}

/** Unsigned LEB128 (WebAssembly core specification §5.2.2). */
function leb128(n: number): number[] {
  const out: number[] = [];
  do {
    const byte = n & 0x7f;
    n >>>= 7;
    out.push(n ? byte | 0x80 : byte);
  } while (n);
  return out;
}
const I32X4_ADD = 0xae;
const I32X4_SUB = 0xb1;

function section(id: number, ...content: number[]): number[] {
  return [id, ...leb128(content.length), ...content];
}
const name = (s: string): number[] => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
const ADD_BODY = loop(I32X4_ADD);
const SUB_BODY = loop(I32X4_SUB);

const MODULE_BYTES = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, //   "\0asm", version 1
  ...section(1, 0x01, 0x60, 0x01, 0x7f, 0x00), //      types: [func (param i32)]
  ...section(3, 0x02, 0x00, 0x00), //                  functions: add, sub, both of type 0
  ...section(5, 0x01, 0x00, 0x02), //                  memories: one, 2 pages (128 KiB), no maximum
  ...section(7, 0x03, ...name('memory'), 0x02, 0x00, ...name('add'), 0x00, 0x00, ...name('sub'), 0x00, 0x01),
  ...section(10, 0x02, ...leb128(ADD_BODY.length), ...ADD_BODY, ...leb128(SUB_BODY.length), ...SUB_BODY),
]);

interface SimdModule {
  readonly target: Int32Array;
  readonly operand: Uint8Array;
  readonly add: (bytes: number) => void;
  readonly sub: (bytes: number) => void;
}

/** The little of the WebAssembly JS API used here (the project's lib settings do not declare it). */
interface WasmApi {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object) => { readonly exports: Record<string, unknown> };
}

function loadSimd(): SimdModule | undefined {
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (!wasm || new Uint8Array(Uint32Array.of(1).buffer)[0] !== 1) return undefined;
  try {
    const { exports } = new wasm.Instance(new wasm.Module(MODULE_BYTES));
    const memory = exports['memory'] as { readonly buffer: ArrayBuffer };
    return {
      target: new Int32Array(memory.buffer, 0, MOD_ADD_CHUNK_WORDS),
      operand: new Uint8Array(memory.buffer, OPERAND_OFFSET, 4 * MOD_ADD_CHUNK_WORDS),
      add: exports['add'] as (bytes: number) => void,
      sub: exports['sub'] as (bytes: number) => void,
    };
  } catch {
    return undefined;
  }
}

const simd = loadSimd();

/** Whether the WebAssembly SIMD path is in use on this platform. */
export const MOD_ADD_SIMD = simd !== undefined;

/**
 * t ← t + sign·k mod 2^32, where `k` holds t.length words as little-endian bytes (a keystream chunk).
 * The caller wipes `k`; wipeModAdd() clears the copy left in the module's memory.
 */
export function addModWords(t: Int32Array, k: Uint8Array, sign: 1 | -1): void {
  if (t.length > MOD_ADD_CHUNK_WORDS || k.length !== 4 * t.length) {
    throw new FedwardenError('INTERNAL', `addModWords: need at most ${MOD_ADD_CHUNK_WORDS} words and 4 bytes of k per word`);
  }
  if (!simd) return addModWordsScalar(t, k, sign);
  simd.target.set(t);
  simd.operand.set(k);
  (sign === 1 ? simd.add : simd.sub)((k.length + 63) & ~63); // whole 64-byte steps; the excess is ignored
  t.set(simd.target.subarray(0, t.length));
}

/** The same in plain JavaScript (the fallback, and the tests' reference). */
export function addModWordsScalar(t: Int32Array, k: Uint8Array, sign: 1 | -1): void {
  if (k.length !== 4 * t.length) throw new FedwardenError('INTERNAL', 'addModWordsScalar: need 4 bytes of k per word');
  const view = new DataView(k.buffer, k.byteOffset, k.byteLength);
  // Storing into an Int32Array reduces mod 2^32 (ToInt32); the sum of two int32 is exact before that.
  for (let i = 0; i < t.length; i++) t[i] = (t[i] as number) + sign * view.getInt32(4 * i, true);
}

/**
 * t ← t + Σ sign·k mod 2^32 over every (k, sign) that `operands` yields, each k holding t.length little-endian
 * words (keystream chunks of many masks): addModWords for many operands, with t copied into the module's memory
 * and back once for all of them. t is written only after the last operand. The caller wipes each k once the
 * iteration has moved past it, and calls wipeModAdd() at the end.
 */
export function addModWordsAll(t: Int32Array, operands: Iterable<readonly [Uint8Array, 1 | -1]>): void {
  if (t.length > MOD_ADD_CHUNK_WORDS) throw new FedwardenError('INTERNAL', `addModWordsAll: need at most ${MOD_ADD_CHUNK_WORDS} words`);
  const check = (k: Uint8Array): void => {
    if (k.length !== 4 * t.length) throw new FedwardenError('INTERNAL', 'addModWordsAll: need 4 bytes of k per word');
  };
  if (!simd) {
    const acc = t.slice();
    for (const [k, sign] of operands) {
      check(k);
      addModWordsScalar(acc, k, sign);
    }
    t.set(acc);
    return;
  }
  simd.target.set(t);
  const steps = (4 * t.length + 63) & ~63;
  for (const [k, sign] of operands) {
    check(k);
    simd.operand.set(k);
    (sign === 1 ? simd.add : simd.sub)(steps);
  }
  t.set(simd.target.subarray(0, t.length));
}

/**
 * t ← t + sign·Σ operands mod 2^32, word-wise, for host-order word vectors of t's length (masked inputs). Chunk by
 * chunk, so that each chunk of t crosses into the module's memory once for all operands.
 */
export function addModVectors(t: Uint32Array, operands: readonly Uint32Array[], sign: 1 | -1): void {
  for (const y of operands) {
    if (!(y instanceof Uint32Array) || y.length !== t.length) throw new FedwardenError('INTERNAL', `addModVectors: every operand must have ${t.length} words`);
  }
  const words = new Int32Array(t.buffer, t.byteOffset, t.length);
  if (!simd) {
    for (const y of operands) {
      const v = new Int32Array(y.buffer, y.byteOffset, y.length);
      for (let i = 0; i < words.length; i++) words[i] = (words[i] as number) + sign * (v[i] as number);
    }
    return;
  }
  const run = sign === 1 ? simd.add : simd.sub;
  for (let offset = 0; offset < t.length; offset += MOD_ADD_CHUNK_WORDS) {
    const n = Math.min(MOD_ADD_CHUNK_WORDS, t.length - offset);
    simd.target.set(words.subarray(offset, offset + n));
    // Host order is little-endian wherever the module loaded, so a vector's bytes are its words.
    for (const y of operands) {
      simd.operand.set(new Uint8Array(y.buffer, y.byteOffset + 4 * offset, 4 * n));
      run((4 * n + 63) & ~63);
    }
    words.set(simd.target.subarray(0, n), offset);
  }
}

/** Clear the keystream copy in the module's memory after the last call of a mask of `words` words. */
export function wipeModAdd(words: number): void {
  simd?.operand.fill(0, 0, 4 * Math.min(words, MOD_ADD_CHUNK_WORDS));
}
