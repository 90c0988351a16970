import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, type ProtocolLimits } from '../limits.ts';
import { ByteReader, ByteWriter } from './bytes.ts';
import { codeOf } from '../test-support.ts';


const small: ProtocolLimits = { maxFrameBytes: 1024, maxVectorLength: 16, maxStringBytes: 8, maxGroupSize: 255, maxManifestEntries: 4 };

describe('ByteWriter / ByteReader', () => {
  it('round-trip every field type, little-endian', () => {
    const vector = Float32Array.from([1.5, -0, Number.NaN, Infinity, 3.4e38, 1e-45]);
    const bytes = new ByteWriter(1)
      .u8(0xab)
      .u16(0xbeef)
      .u32(0xdeadbeef)
      .f64(Math.PI)
      .string('héllo ✓')
      .float32Vector(vector)
      .bytes(new Uint8Array([9, 8, 7]))
      .finish();
    expect(Array.from(bytes.subarray(0, 7))).toEqual([0xab, 0xef, 0xbe, 0xef, 0xbe, 0xad, 0xde]);
    const r = new ByteReader(bytes, DEFAULT_LIMITS);
    expect(r.u8()).toBe(0xab);
    expect(r.u16()).toBe(0xbeef);
    expect(r.u32()).toBe(0xdeadbeef);
    expect(r.f64()).toBe(Math.PI);
    expect(r.string()).toBe('héllo ✓');
    const out = r.float32Vector();
    expect(new Uint8Array(out.buffer)).toEqual(new Uint8Array(vector.buffer)); // bit-exact, NaN and -0 included
    expect(Array.from(r.bytes(3))).toEqual([9, 8, 7]);
    expect(r.remaining).toBe(0);
    r.end();
  });

  it('encode a float32 vector as a u32 count then raw bytes', () => {
    const bytes = new ByteWriter().float32Vector(Float32Array.from([1])).finish();
    expect(Array.from(bytes)).toEqual([1, 0, 0, 0, 0x00, 0x00, 0x80, 0x3f]);
  });

  it('read vectors from unaligned views into a fresh aligned array', () => {
    const inner = new ByteWriter().float32Vector(Float32Array.from([1, 2, 3])).finish();
    const buffer = new Uint8Array(inner.length + 1);
    buffer.set(inner, 1);
    const out = new ByteReader(buffer.subarray(1), DEFAULT_LIMITS).float32Vector();
    expect(Array.from(out)).toEqual([1, 2, 3]);
    expect(out.byteOffset).toBe(0);
    buffer.fill(0);
    expect(Array.from(out)).toEqual([1, 2, 3]); // a copy, not a view
  });

  it('refuse values that do not fit their wire type', () => {
    const w = new ByteWriter();
    for (const fn of [() => w.u8(256), () => w.u8(-1), () => w.u16(65536), () => w.u32(2 ** 32), () => w.u32(1.5), () => w.u32(Number.NaN)]) {
      expect(codeOf(fn)).toBe('BAD_FRAME');
    }
  });

  it('report truncation of every read as BAD_FRAME', () => {
    const empty = () => new ByteReader(new Uint8Array(0), DEFAULT_LIMITS);
    expect(codeOf(() => empty().u8())).toBe('BAD_FRAME');
    expect(codeOf(() => new ByteReader(new Uint8Array(1), DEFAULT_LIMITS).u16())).toBe('BAD_FRAME');
    expect(codeOf(() => new ByteReader(new Uint8Array(3), DEFAULT_LIMITS).u32())).toBe('BAD_FRAME');
    expect(codeOf(() => new ByteReader(new Uint8Array(7), DEFAULT_LIMITS).f64())).toBe('BAD_FRAME');
    expect(codeOf(() => new ByteReader(new Uint8Array([5, 0, 0, 0, 65]), DEFAULT_LIMITS).string())).toBe('BAD_FRAME');
    expect(codeOf(() => new ByteReader(new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0]), DEFAULT_LIMITS).float32Vector())).toBe('BAD_FRAME');
    expect(codeOf(() => empty().bytes(1))).toBe('BAD_FRAME');
    expect(() => new ByteReader(new Uint8Array(1), DEFAULT_LIMITS).u16()).toThrow(/^truncated/);
  });

  it('check limits before allocating: a 2^31-element vector claim is TOO_BIG', () => {
    const claim = new ByteWriter().u32(2 ** 31).finish();
    expect(codeOf(() => new ByteReader(claim, DEFAULT_LIMITS).float32Vector())).toBe('TOO_BIG');
    // Under the limit but beyond the frame: truncated, still without allocating.
    const within = new ByteWriter().u32(16).finish();
    expect(codeOf(() => new ByteReader(within, small).float32Vector())).toBe('BAD_FRAME');
    expect(codeOf(() => new ByteReader(new ByteWriter().u32(17).finish(), small).float32Vector())).toBe('TOO_BIG');
  });

  it('enforce maxStringBytes and maxFrameBytes', () => {
    expect(new ByteReader(new ByteWriter().string('12345678').finish(), small).string()).toBe('12345678');
    expect(codeOf(() => new ByteReader(new ByteWriter().string('123456789').finish(), small).string())).toBe('TOO_BIG');
    expect(codeOf(() => new ByteReader(new Uint8Array(1025), small))).toBe('TOO_BIG');
  });

  it('refuse invalid UTF-8 and report trailing bytes', () => {
    expect(codeOf(() => new ByteReader(new Uint8Array([2, 0, 0, 0, 0xc3, 0x28]), DEFAULT_LIMITS).string())).toBe('BAD_FRAME');
    const r = new ByteReader(new Uint8Array([1, 2]), DEFAULT_LIMITS);
    r.u8();
    expect(codeOf(() => r.end())).toBe('BAD_FRAME');
  });
});
