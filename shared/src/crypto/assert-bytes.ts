/**
 * Input checks shared by the crypto wrappers, in the style of noble's `abytes`: every public function checks
 * its byte inputs first and names itself in the error, so a failure points at the call that got bad data.
 */
import { FedwardenError, type ErrorCode } from '../errors.ts';

/** Throw `code` unless `value` is a Uint8Array of exactly `length` bytes. */
export function assertBytes(
  value: unknown,
  length: number,
  fn: string,
  name: string,
  code: ErrorCode = 'BAD_FRAME',
): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new FedwardenError(code, `${fn}: ${name} must be a Uint8Array`);
  if (value.length !== length) {
    throw new FedwardenError(code, `${fn}: wrong ${name} length (expected ${length} bytes, got ${value.length})`);
  }
}

/** Throw `code` unless `value` is a Uint8Array (any length). */
export function assertAnyBytes(value: unknown, fn: string, name: string, code: ErrorCode = 'BAD_FRAME'): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new FedwardenError(code, `${fn}: ${name} must be a Uint8Array`);
}
