/**
 * A simulated participant node: a FederatedClient that, with probability `dropout` per round, vanishes at a
 * random stage (closes its connection) and rejoins at once with a fresh connection, as a node on a flaky link
 * would. Which rounds and stages is drawn from a seed, so a simulation replays exactly.
 */
import { FederatedClient, type FederatedClientOptions, type RoundStage } from '@fedwarden/client';
import { createRng, type Rng } from '@fedwarden/shared';

const STAGES: Record<'trusted' | 'secagg', readonly RoundStage[]> = {
  trusted: ['train'],
  secagg: ['train', 'encaps', 'shares', 'masked', 'unmask'],
};

export class SimulatedParticipant {
  private client: FederatedClient | undefined;
  private readonly rng: Rng;
  private stopped = false;
  private done!: () => void;
  private readonly donePromise = new Promise<void>((resolve) => (this.done = resolve));
  private pastSecaggMs = 0;
  /** How many times this participant vanished mid-round. */
  vanished = 0;

  constructor(
    private readonly options: FederatedClientOptions,
    privacy: 'trusted' | 'secagg',
    private readonly dropout: number,
    seed: number,
    private readonly stages: readonly RoundStage[] = STAGES[privacy],
  ) {
    this.rng = createRng(seed);
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
    client.run().then(
      () => this.done(),
      () => {
        this.pastSecaggMs += client.secaggMilliseconds;
        setImmediate(() => this.start());
      },
    );
  }

  /** Resolves once the coordinator told this participant the federation is finished. */
  finished(): Promise<void> {
    return this.donePromise;
  }

  stop(): void {
    this.stopped = true;
    this.client?.close();
    this.done();
  }

  get secaggMs(): number {
    return this.pastSecaggMs + (this.client?.secaggMilliseconds ?? 0);
  }
}
