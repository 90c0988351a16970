/**
 * Byte-level reading and writing for the wire protocol. All integers and floats are little-endian; strings
 * are a u32 byte length then UTF-8; float32 vectors are a u32 element count then the raw IEEE 754 bytes.
 *
 * ByteReader treats its input as hostile: every length is checked against the ProtocolLimits (TOO_BIG) and
 * against the bytes that remain (BAD_FRAME) before anything is allocated, so a frame can never make the
 * reader allocate more than the frame's own size.
 */
import { FedwardenError } from '../errors.ts';
import type { ProtocolLimits } from '../limits.ts';

/** Float32 vectors are copied byte for byte; on a big-endian host they go through DataView instead. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const MAX_U32 = 0xffff_ffff;
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** A growable output buffer. Values that do not fit their wire type are refused (BAD_FRAME), never wrapped. */
export class ByteWriter {
  #buf: Uint8Array;
  #view: DataView;
  #length = 0;

  constructor(initialCapacity = 256) {
    this.#buf = new Uint8Array(Math.max(16, initialCapacity));
    this.#view = new DataView(this.#buf.buffer);
  }

  get length(): number {
    return this.#length;
  }

  u8(value: number): this {
    checkUint('u8', value, 0xff);
    this.#reserve(1);
    this.#view.setUint8(this.#length, value);
    this.#length += 1;
    return this;
  }

  u16(value: number): this {
    checkUint('u16', value, 0xffff);
    this.#reserve(2);
    this.#view.setUint16(this.#length, value, true);
    this.#length += 2;
    return this;
  }

  u32(value: number): this {
    checkUint('u32', value, MAX_U32);
    this.#reserve(4);
    this.#view.setUint32(this.#length, value, true);
    this.#length += 4;
    return this;
  }

  f64(value: number): this {
    if (typeof value !== 'number') throw new FedwardenError('BAD_FRAME', 'f64: not a number');
    this.#reserve(8);
    this.#view.setFloat64(this.#length, value, true);
    this.#length += 8;
    return this;
  }

  /** u32 byte length, then UTF-8. */
  string(value: string): this {
    if (typeof value !== 'string') throw new FedwardenError('BAD_FRAME', 'string: not a string');
    const bytes = utf8Encoder.encode(value);
    return this.u32(bytes.length).bytes(bytes);
  }

  /** u32 element count, then the raw little-endian float32 bytes. */
  float32Vector(value: Float32Array): this {
    if (!(value instanceof Float32Array)) throw new FedwardenError('BAD_FRAME', 'float32Vector: not a Float32Array');
    return this.#words(value, (at, i) => this.#view.setFloat32(at, value[i] as number, true));
  }

  /** u32 element count, then raw uint32 LE (masked secure-aggregation inputs). */
  uint32Vector(value: Uint32Array): this {
    if (!(value instanceof Uint32Array)) throw new FedwardenError('BAD_FRAME', 'uint32Vector: not a Uint32Array');
    return this.#words(value, (at, i) => this.#view.setUint32(at, value[i] as number, true));
  }

  #words(value: Float32Array | Uint32Array, setBigEndianHost: (at: number, i: number) => void): this {
    this.u32(value.length);
    this.#reserve(value.byteLength);
    if (LITTLE_ENDIAN) {
      this.#buf.set(new Uint8Array(value.buffer, value.byteOffset, value.byteLength), this.#length);
    } else {
      for (let i = 0; i < value.length; i++) setBigEndianHost(this.#length + 4 * i, i);
    }
    this.#length += value.byteLength;
    return this;
  }

  bytes(value: Uint8Array): this {
    if (!(value instanceof Uint8Array)) throw new FedwardenError('BAD_FRAME', 'bytes: not a Uint8Array');
    this.#reserve(value.length);
    this.#buf.set(value, this.#length);
    this.#length += value.length;
    return this;
  }

  /** The bytes written so far, as a new array of exactly that length. */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#length);
  }

  #reserve(n: number): void {
    const needed = this.#length + n;
    if (needed <= this.#buf.length) return;
    let capacity = this.#buf.length * 2;
    while (capacity < needed) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.#buf.subarray(0, this.#length));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }
}

/** A cursor over one untrusted frame. Every read checks the remaining bytes; sized reads check the limits. */
export class ByteReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #limits: ProtocolLimits;
  #offset = 0;

  constructor(bytes: Uint8Array, limits: ProtocolLimits) {
    if (!(bytes instanceof Uint8Array)) throw new FedwardenError('BAD_FRAME', 'ByteReader: input must be a Uint8Array');
    if (bytes.length > limits.maxFrameBytes) {
      throw new FedwardenError('TOO_BIG', `frame of ${bytes.length} bytes exceeds maxFrameBytes ${limits.maxFrameBytes}`);
    }
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#limits = limits;
  }

  get remaining(): number {
    return this.#bytes.length - this.#offset;
  }

  u8(what = 'u8'): number {
    this.#need(1, what);
    const v = this.#view.getUint8(this.#offset);
    this.#offset += 1;
    return v;
  }

  u16(what = 'u16'): number {
    this.#need(2, what);
    const v = this.#view.getUint16(this.#offset, true);
    this.#offset += 2;
    return v;
  }

  u32(what = 'u32'): number {
    this.#need(4, what);
    const v = this.#view.getUint32(this.#offset, true);
    this.#offset += 4;
    return v;
  }

  f64(what = 'f64'): number {
    this.#need(8, what);
    const v = this.#view.getFloat64(this.#offset, true);
    this.#offset += 8;
    return v;
  }

  /** u32 byte length (≤ maxStringBytes), then UTF-8 that must be well-formed. */
  string(what = 'string'): string {
    const length = this.u32(`${what} length`);
    if (length > this.#limits.maxStringBytes) {
      throw new FedwardenError('TOO_BIG', `${what}: ${length} bytes exceeds maxStringBytes ${this.#limits.maxStringBytes}`);
    }
    this.#need(length, what);
    const start = this.#offset;
    this.#offset += length;
    try {
      return utf8Decoder.decode(this.#bytes.subarray(start, start + length));
    } catch (err) {
      throw new FedwardenError('BAD_FRAME', `${what}: invalid UTF-8`, { cause: err });
    }
  }

  /** u32 element count (≤ maxVectorLength), then raw float32 LE, copied into a fresh aligned Float32Array. */
  float32Vector(what = 'vector'): Float32Array {
    return this.#words(what, (n) => new Float32Array(n), (at) => this.#view.getFloat32(at, true));
  }

  /** u32 element count (≤ maxVectorLength), then raw uint32 LE, copied into a fresh aligned Uint32Array. */
  uint32Vector(what = 'vector'): Uint32Array {
    return this.#words(what, (n) => new Uint32Array(n), (at) => this.#view.getUint32(at, true));
  }

  #words<T extends Float32Array | Uint32Array>(what: string, make: (n: number) => T, getLE: (at: number) => number): T {
    const count = this.u32(`${what} length`);
    if (count > this.#limits.maxVectorLength) {
      throw new FedwardenError('TOO_BIG', `${what}: ${count} elements exceeds maxVectorLength ${this.#limits.maxVectorLength}`);
    }
    const byteLength = count * 4;
    this.#need(byteLength, what);
    const out = make(count);
    const start = this.#offset;
    if (LITTLE_ENDIAN) {
      new Uint8Array(out.buffer).set(this.#bytes.subarray(start, start + byteLength));
    } else {
      for (let i = 0; i < count; i++) out[i] = getLE(start + 4 * i);
    }
    this.#offset += byteLength;
    return out;
  }

  /** `length` raw bytes, as a view into the frame (no copy). */
  bytes(length: number, what = 'bytes'): Uint8Array {
    if (!Number.isSafeInteger(length) || length < 0) throw new FedwardenError('BAD_FRAME', `${what}: bad length`);
    this.#need(length, what);
    const start = this.#offset;
    this.#offset += length;
    return this.#bytes.subarray(start, start + length);
  }

  /** The frame must be fully consumed. */
  end(): void {
    if (this.remaining !== 0) throw new FedwardenError('BAD_FRAME', `${this.remaining} trailing bytes`);
  }

  #need(n: number, what: string): void {
    if (n > this.#bytes.length - this.#offset) {
      throw new FedwardenError('BAD_FRAME', `truncated ${what}: need ${n} bytes, ${this.remaining} left`);
    }
  }
}

function checkUint(type: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new FedwardenError('BAD_FRAME', `${type}: ${String(value)} is not an integer in 0..${max}`);
  }
}
