/**
 * A FederatedClient's options against a port nothing listens on: two attempts, no waiting between them, a fake
 * model. Its log lines are the join failures and reconnect decisions (client-logging.test.ts and the child
 * process log-level-client.ts both use it).
 */
import type { FederatedClientOptions } from '@fedwarden/client';
import { FakeModel, fakeData } from './fake-model.ts';

export function closedPortClientOptions(port: number, extra: Partial<FederatedClientOptions> = {}): FederatedClientOptions {
  return {
    url: `ws://127.0.0.1:${port}`,
    fingerprint: '0'.repeat(64),
    token: 'fwt_never-logged',
    model: new FakeModel(new Float32Array(4)),
    data: fakeData(4),
    reconnect: { maxAttempts: 2, sleep: async () => undefined },
    ...extra,
  };
}
