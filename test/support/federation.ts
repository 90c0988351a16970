/** Start a coordinator on loopback with enrolled participants, for end-to-end tests. */
import {
  Coordinator,
  ephemeralIdentity,
  generateOperatorToken,
  generateToken,
  hashToken,
  parseConfig,
  type CoordinatorConfigInput,
  type CoordinatorIdentity,
  type CoordinatorOptions,
} from '@fedwarden/coordinator';
import { FederatedClient } from '@fedwarden/client';
import { silentLogger } from '@fedwarden/shared';
import { FakeModel, fakeData } from './fake-model.ts';
import { RawPeer } from './raw-peer.ts';

export interface TestFederation {
  readonly coordinator: Coordinator;
  readonly url: string;
  readonly fingerprint: string;
  readonly tokens: string[];
  /** The operator token; the config holds its hash, and the operator listener is on coordinator.operatorPort. */
  readonly operatorToken: string;
  /** A request to the operator listener (http://127.0.0.1:operatorPort + path) carrying the operator token. */
  operatorFetch(path: string, init?: RequestInit): Promise<Response>;
  stop(): Promise<void>;
}

/** What a restarted coordinator keeps from the previous one (pass `port` in the overrides too). */
export interface FederationReuse {
  readonly tokens?: readonly string[];
  readonly identity?: CoordinatorIdentity;
}

export async function startFederation(
  participants: number,
  overrides: Partial<CoordinatorConfigInput> = {},
  reuse: FederationReuse = {},
  options: CoordinatorOptions = {},
): Promise<TestFederation> {
  const tokens = reuse.tokens ? [...reuse.tokens] : Array.from({ length: participants }, () => generateToken());
  const operatorToken = generateOperatorToken();
  const config = parseConfig({
    port: 0,
    // The operator listener on a free port too, so that federations in parallel test files never collide.
    operator: { port: 0, tokenSha256: hashToken(operatorToken) },
    logLevel: 'silent',
    participants: tokens.map((t, i) => ({ id: `p${i}`, tokenSha256: hashToken(t) })),
    rounds: { count: 2, minParticipants: participants, deadlineMs: 10_000 },
    // Protocol tests check what arrives, so aggregate plainly; robustness has its own tests. (The robust
    // pipeline would rightly reject test participants that all send the same update as colluding.)
    aggregation: { strategy: 'fedavg' },
    ...overrides,
  });
  const coordinator = new Coordinator(config, reuse.identity ?? ephemeralIdentity(), silentLogger, options);
  const port = await coordinator.listen();
  return {
    coordinator,
    url: `ws://127.0.0.1:${port}`,
    fingerprint: coordinator.identity.fingerprint,
    tokens,
    operatorToken,
    operatorFetch: (path, init = {}) => {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${operatorToken}`);
      return fetch(`http://127.0.0.1:${coordinator.operatorPort}${path}`, { ...init, headers });
    },
    stop: () => coordinator.stop(),
  };
}

/**
 * One client per enrolled participant, participant i's FakeModel sending `steps[i]` and holding `samples(i)`
 * examples (default 10), without reconnecting: a federation whose updates the test chooses.
 */
export function fakeClients(fed: TestFederation, steps: readonly Float32Array[], samples: (i: number) => number = () => 10): FederatedClient[] {
  return steps.map(
    (step, i) =>
      new FederatedClient({
        url: fed.url,
        fingerprint: fed.fingerprint,
        token: fed.tokens[i] as string,
        model: new FakeModel(step),
        data: fakeData(samples(i)),
        reconnect: false,
      }),
  );
}

/**
 * Stop the federation's coordinator and run `check` while it stops: a connected socket that does not read keeps
 * the participants' listener open while the coordinator waits for it to close, which gives the check a window
 * between "stop begun" and "listener shut". The socket is dropped and the stop awaited afterwards.
 */
export async function whileStopping(fed: TestFederation, check: () => Promise<void>): Promise<void> {
  const slow = await RawPeer.connect(fed.url);
  await slow.nextFrame();
  slow.ws.pause();
  const stopping = fed.coordinator.stop();
  try {
    await check();
  } finally {
    slow.ws.terminate();
    await stopping;
  }
}
