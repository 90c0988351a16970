/**
 * Files that hold a secret (an enrolment token, an identity seed): readable by their owner only, like an SSH
 * key. One check for every such file, made on the opened file (fstat), so that the file checked is the file read.
 * Messages name the file and its mode, never its content. Windows has no POSIX modes: the check is skipped there.
 */
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { FedwardenError } from './errors.ts';

/** Throw BAD_CONFIG if `mode` lets group or others at the file. `what` names it ("token file"). */
function assertOwnerOnly(mode: number, path: string, what: string): void {
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new FedwardenError('BAD_CONFIG', `${what} ${path} is readable by other users (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
  }
}

/**
 * The content of a secret file (UTF-8), refused (BAD_CONFIG) if other users may read it. Errors of the file
 * system (ENOENT, EACCES…) are thrown as they are, for the caller to word.
 */
export function readOwnerOnlyFile(path: string, what: string): string {
  const fd = openSync(path, 'r');
  try {
    assertOwnerOnly(fstatSync(fd).mode, path, what);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}
