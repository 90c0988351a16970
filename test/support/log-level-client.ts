/**
 * A FederatedClient with `logLevel` (argv[2]) against a closed port (argv[3]), two attempts, no waiting: what it
 * writes on stderr is what an SDK user who set logLevel sees. Exits 0 once run() has failed as expected.
 */
import { FederatedClient } from '@fedwarden/client';
import type { LogLevel } from '@fedwarden/shared';
import { closedPortClientOptions } from './closed-port-client.ts';

const [level, port] = process.argv.slice(2) as [LogLevel, string];
const client = new FederatedClient(closedPortClientOptions(Number(port), { logLevel: level }));
await client.run().then(
  () => process.exit(1),
  () => process.exit(0),
);
