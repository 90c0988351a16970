/**
 * fedwarden coordinator CLI.
 *
 *   pnpm coordinator --config coordinator.json [--data-dir DIR]   run the configured rounds; resumes from DIR
 *   pnpm coordinator verify --data-dir DIR                         check DIR's database: audit chain, checkpoints, rounds
 *   pnpm coordinator token <participant-id>                        mint an enrolment token (printed once) and its config entry
 *   pnpm coordinator fingerprint --config FILE                     print the key fingerprint participants must pin
 *
 * SIGTERM / SIGINT: stop accepting participants, abort the round in progress (stored as interrupted; the next
 * start runs it again), commit and close the database, close sockets with 1001, exit 0. A second signal
 * exits at once (128 + signal number); storage stays consistent, since every commit is already durable.
 *
 * After the last round the process stays up until every participant that connected has confirmed the end of
 * the federation, at most rounds.finishGraceMs: one whose link broke in the last round reconnects and gets the
 * final adapter instead of retrying against a closed port (finish-confirmations.ts).
 *
 * Exit codes: 0 done; 1 error (message on stderr); 2 verify found problems.
 */
import { constants } from 'node:os';
import { parseArgs } from 'node:util';
import { createLogger, toFedwardenError } from '@fedwarden/shared';
import { loadConfig } from './config.ts';
import { Coordinator } from './coordinator.ts';
import { generateToken, hashToken } from './enrolment.ts';
import { loadOrCreateIdentity } from './identity.ts';
import { databasePath } from './storage/database.ts';
import { SqliteStore } from './storage/store.ts';
import { formatVerifyReport } from './storage/verify.ts';

const USAGE = `usage:
  pnpm coordinator --config <file> [--data-dir <dir>]     run a federation (resumes from the data dir)
  pnpm coordinator verify --data-dir <dir>                 check the stored rounds, checkpoints and audit log
  pnpm coordinator token <participant-id>                  mint an enrolment token
  pnpm coordinator fingerprint --config <file> [--data-dir <dir>]`;

const EXIT_VERIFY_FAILED = 2;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      'data-dir': { type: 'string', short: 'd' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command = 'run', ...rest] = positionals;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (command === 'token') {
    const id = rest[0];
    if (!id) throw new Error(`token: participant id required\n${USAGE}`);
    const token = generateToken();
    console.log(`token (give it to the participant; it is not stored): ${token}`);
    console.log(`config entry for "participants": ${JSON.stringify({ id, tokenSha256: hashToken(token) })}`);
    return 0;
  }
  if (command === 'verify') {
    const dataDir = values['data-dir'] ?? (values.config ? loadConfig(values.config).dataDir : undefined);
    if (!dataDir) throw new Error(`verify: --data-dir (or --config) is required\n${USAGE}`);
    return verify(databasePath(dataDir));
  }
  if (!values.config) throw new Error(`--config is required\n${USAGE}`);
  const loaded = loadConfig(values.config);
  const config = { ...loaded, dataDir: values['data-dir'] ?? loaded.dataDir };
  const { identity, created } = loadOrCreateIdentity(config.dataDir);
  if (command === 'fingerprint') {
    console.log(identity.fingerprint);
    return 0;
  }
  if (command !== 'run') throw new Error(`unknown command ${command}\n${USAGE}`);

  const log = createLogger(config.logLevel, { component: 'coordinator' });
  if (created) log.info('generated coordinator key', { dataDir: config.dataDir });
  console.log(`coordinator key fingerprint (participants pin this): ${identity.fingerprint}`);
  const store = SqliteStore.open(databasePath(config.dataDir));
  const coordinator = new Coordinator(config, identity, log, { store });
  const { lastFinishedRound, interrupted } = coordinator.resumed;
  if (lastFinishedRound > 0 || interrupted.length > 0) {
    const again = interrupted.length > 0 ? `; round ${interrupted.join(', ')} was interrupted and runs again` : '';
    console.log(`resuming from ${store.location}: rounds 1..${lastFinishedRound} of ${config.rounds.count} finished${again}`);
  }

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      log.warn('second signal: exiting now; the next start records the round in progress as interrupted', { signal });
      process.exit(128 + constants.signals[signal]);
    }
    log.info('shutting down', { signal });
    console.log(`${signal}: stopping (the round in progress is aborted and runs again after a restart)`);
    coordinator.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('shutdown failed', { err: toFedwardenError(err).message });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const port = await coordinator.listen();
  console.log(`listening on ws://${config.host}:${port}`);
  coordinator.on('round', (r) =>
    console.log(`round ${r.round}: ${r.outcome} (${r.reason}); mean loss ${r.meanLoss?.toFixed(4) ?? '-'}`),
  );
  await coordinator.run();
  // Participants whose link broke in the last round come back to hear that the federation is finished.
  const graceMs = config.rounds.finishGraceMs;
  log.info('rounds done; waiting for participants to hear it', { unconfirmed: (await coordinator.finishHeard(0)).length, graceMs });
  const missing = await coordinator.finishHeard(graceMs);
  if (missing.length > 0) log.warn('participants never confirmed the end of the federation', { participants: missing, graceMs });
  await coordinator.stop();
  return 0;
}

function verify(path: string): number {
  const store = SqliteStore.open(path, { readonly: true });
  try {
    const report = store.verify();
    console.log(formatVerifyReport(report, path));
    return report.ok ? 0 : EXIT_VERIFY_FAILED;
  } finally {
    store.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const e = toFedwardenError(err);
    console.error(`error [${e.code}]: ${e.message}`);
    process.exit(1);
  },
);
