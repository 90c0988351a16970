/**
 * A simulated participant node: a FederatedClient that, with probability `dropout` per round, vanishes at a
 * random stage (closes its connection) and rejoins at once with a fresh client, as a node on a flaky link
 * would. Which rounds and stages is drawn from a seed, so a simulation replays exactly.
 *
 * Each participant has its own identity, drawn once: every client it starts gets the same identity seed, as a
 * restarted node reads the same identity file, so that the coordinator, which registered the key at the first
 * hello, takes the participant back (a fresh key would be refused with IDENTITY_MISMATCH).
 *
 * Other failures are the client's business first: with `reconnect` in its options (the SDK's default) it
 * survives a lost link or a coordinator that is killed and restarted by itself, with backoff and a circuit
 * breaker. A run that still fails is restarted with a fresh client (a coordinator may close a participant
 * for a bad update and take it back next round), unless it can never succeed (wrong token, pinned key or
 * manifest, bad configuration): then finished() rejects with that error instead of looping forever.
 */
import { randomBytes } from 'node:crypto';
import { FederatedClient, type FederatedClientOptions, type RoundStage } from '@fedwarden/client';
import { ML_DSA_SEED_BYTES, createRng, toFedwardenError, type ErrorCode, type FedwardenError, type Rng } from '@fedwarden/shared';

const STAGES: Record<'trusted' | 'secagg', readonly RoundStage[]> = {
  trusted: ['train'],
  secagg: ['train', 'encaps', 'shares', 'masked', 'survivors', 'unmask'],
};

/** Failures that no number of restarts can fix. */
const HOPELESS: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['AUTH_FAILED', 'FINGERPRINT_MISMATCH', 'MANIFEST_MISMATCH', 'IDENTITY_MISMATCH', 'BAD_CONFIG']);

export class SimulatedParticipant {
  private client: FederatedClient | undefined;
  private readonly rng: Rng;
  private stopped = false;
  private settle!: (error?: FedwardenError) => void;
  private readonly donePromise = new Promise<void>((resolve, reject) => {
    this.settle = (error) => (error ? reject(error) : resolve());
  });
  private pastSecaggMs = 0;
  /** How many times this participant vanished mid-round. */
  vanished = 0;
  /** How many times its client reconnected by itself (lost link, coordinator restart). */
  reconnects = 0;
  /** Every client of this participant: the options given, with one identity seed for all of them. */
  private readonly options: FederatedClientOptions;

  constructor(
    options: FederatedClientOptions,
    privacy: 'trusted' | 'secagg',
    private readonly dropout: number,
    seed: number,
    private readonly stages: readonly RoundStage[] = STAGES[privacy],
  ) {
    this.options = { ...options, identity: options.identity ?? randomBytes(ML_DSA_SEED_BYTES) };
    this.rng = createRng(seed);
    this.donePromise.catch(() => undefined); // reported to whoever awaits finished(), never unhandled
  }

  start(): void {
    if (this.stopped) return;
    const client = new FederatedClient(this.options);
    this.client = client;
    let vanishAt: RoundStage | undefined;
    client.on('roundStart', () => {
      vanishAt = this.rng.next() < this.dropout ? this.stages[Math.floor(this.rng.next() * this.stages.length)] : undefined;
    });
    client.on('stage', (_round, stage) => {
      if (stage === vanishAt) {
        vanishAt = undefined;
        this.vanished++;
        client.close();
      }
    });
    client.on('reconnected', () => this.reconnects++);
    client.run().then(
      () => this.settle(),
      (err: unknown) => {
        this.pastSecaggMs += client.secaggMilliseconds;
        const error = toFedwardenError(err);
        if (HOPELESS.has(error.code)) {
          this.stopped = true;
          this.settle(error);
          return;
        }
        setImmediate(() => this.start());
      },
    );
  }

  /** Resolves once the coordinator told this participant the federation is finished; rejects if it never can. */
  finished(): Promise<void> {
    return this.donePromise;
  }

  stop(): void {
    this.stopped = true;
    this.client?.close();
    this.settle();
  }

  get secaggMs(): number {
    return this.pastSecaggMs + (this.client?.secaggMilliseconds ?? 0);
  }
}
