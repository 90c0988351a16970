/**
 * Whether a process id names a running process (kill(pid, 0), POSIX): how leftovers of a killed process (a
 * data-dir lock, a partial backup directory) are told from those of a live one. A pid reused after a reboot
 * reads as alive; callers say how to clear such a leftover by hand.
 */
export type ProcessAlive = (pid: number) => boolean;

export const processAlive: ProcessAlive = (pid) => {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};
