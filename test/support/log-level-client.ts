/**
 * A FederatedClient with `logLevel` (argv[2]) against a closed port (argv[3]), two attempts, no waiting: what it
 * writes on stderr is what an SDK user who set logLevel sees. Exits 0 once run() has failed as expected.
 */
import { FederatedClient } from '@fedwarden/client';
import type { LogLevel } from '@fedwarden/shared';
import { FakeModel, fakeData } from './fake-model.ts';

const [level, port] = process.argv.slice(2) as [LogLevel, string];
const client = new FederatedClient({
  url: `ws://127.0.0.1:${port}`,
  fingerprint: '0'.repeat(64),
  token: 'fwt_never-logged',
  model: new FakeModel(new Float32Array(4)),
  data: fakeData(4),
  reconnect: { maxAttempts: 2, sleep: async () => undefined },
  logLevel: level,
});
await client.run().then(
  () => process.exit(1),
  () => process.exit(0),
);
