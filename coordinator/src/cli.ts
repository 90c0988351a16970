/**
 * fedwarden coordinator CLI.
 *
 *   pnpm coordinator --config coordinator.json     run the configured rounds
 *   pnpm coordinator token <participant-id>        mint an enrolment token (printed once) and its config entry
 *   pnpm coordinator fingerprint --config FILE     print the key fingerprint participants must pin
 */
import { parseArgs } from 'node:util';
import { createLogger, toFedwardenError } from '@fedwarden/shared';
import { loadConfig } from './config.ts';
import { Coordinator } from './coordinator.ts';
import { generateToken, hashToken } from './enrolment.ts';
import { loadOrCreateIdentity } from './identity.ts';

const USAGE = `usage:
  pnpm coordinator --config <file>            run a federation
  pnpm coordinator token <participant-id>     mint an enrolment token
  pnpm coordinator fingerprint --config <file>`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
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
  if (!values.config) throw new Error(`--config is required\n${USAGE}`);
  const config = loadConfig(values.config);
  const { identity, created } = loadOrCreateIdentity(config.dataDir);
  if (command === 'fingerprint') {
    console.log(identity.fingerprint);
    return 0;
  }
  if (command !== 'run') throw new Error(`unknown command ${command}\n${USAGE}`);

  const log = createLogger(config.logLevel, { component: 'coordinator' });
  if (created) log.info('generated coordinator key', { dataDir: config.dataDir });
  console.log(`coordinator key fingerprint (participants pin this): ${identity.fingerprint}`);
  const coordinator = new Coordinator(config, identity, log);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    void coordinator.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  await coordinator.listen();
  coordinator.on('round', (r) =>
    console.log(`round ${r.round}: ${r.outcome} (${r.reason}); mean loss ${r.meanLoss?.toFixed(4) ?? '-'}`),
  );
  await coordinator.run();
  await coordinator.stop();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const e = toFedwardenError(err);
    console.error(`error [${e.code}]: ${e.message}`);
    process.exit(1);
  },
);
