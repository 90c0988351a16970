/**
 * Alerting end to end (issue 13, done-means): a simulated federation over real loopback sockets and the real
 * channel, 16 honest participants and 4 sign flippers driven by the simulation's Adversary, the fedwarden robust
 * pipeline and its isolation forest. The alerts the attack raises reach a local webhook receiver, signed, and
 * resolve once reputation excludes the attackers; a coordinator restarted on the same database keeps the open
 * alerts without notifying them again. The participants' "training" is a small seeded noisy step (no tfjs), so
 * that a run takes seconds.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ALERT_PAYLOAD_SCHEMA,
  SIGNATURE_HEADER,
  SqliteStore,
  type AlertTransition,
  type CoordinatorConfigInput,
  type RoundRecord,
} from '@fedwarden/coordinator';
import type { LabeledData, TrainableModel, TrainProgress, TrainResult } from '@fedwarden/client';
import { createRng, type AdapterManifest, type Rng } from '@fedwarden/shared';
import { Adversary } from '../scripts/src/attacks/adversary.ts';
import { createAttack } from '../scripts/src/attacks/registry.ts';
import { SimulatedParticipant } from '../scripts/src/simulated-participant.ts';
import { fakeData } from './support/fake-model.ts';
import { startFederation, type TestFederation } from './support/federation.ts';
// The coordinator's own test receiver (not built into its package): one receiver for unit and end-to-end tests.
import { startReceiver, type TestReceiver } from '../coordinator/src/alerting/test-support.ts';
import { within } from './support/within.ts';

const DIM = 16;

/** Training adds a shared direction plus this participant's fresh seeded noise each round (non-IID, never identical). */
class NoisyStepModel implements TrainableModel {
  readonly manifest: AdapterManifest = { entries: [{ name: 'noisy/w', shape: [DIM], init: { kind: 'zeros' } }] };
  private weights = new Float32Array(DIM);
  private readonly rng: Rng;

  constructor(seed: number) {
    this.rng = createRng(seed);
  }

  getWeights(): Float32Array {
    return this.weights.slice();
  }

  setWeights(w: Float32Array): void {
    this.weights = w.slice();
  }

  async *train(data: LabeledData): AsyncGenerator<TrainProgress, TrainResult, void> {
    for (let i = 0; i < DIM; i++) this.weights[i] = (this.weights[i] as number) + 0.1 * (1 + 0.25 * (i % 3)) + 0.03 * (2 * this.rng.next() - 1);
    yield { epoch: 0, batch: 0, loss: 1 };
    return { meanLoss: 1, numSamples: data.count, trainMs: 0 };
  }

  async evaluate(data: LabeledData) {
    return { loss: 0, accuracy: 0, count: data.count };
  }

  dispose(): void {}
}

let fed: TestFederation | undefined;
let receiver: TestReceiver | undefined;
const participants: SimulatedParticipant[] = [];
afterEach(async () => {
  participants.splice(0).forEach((p) => p.stop());
  await fed?.stop();
  await receiver?.close();
  delete process.env[SECRET_ENV];
  fed = undefined;
  receiver = undefined;
});

const N = 20;
const ATTACKERS = ['p3', 'p7', 'p11', 'p15'];
const SECRET_ENV = 'FEDWARDEN_TEST_WEBHOOK_SECRET';

/** Overrides for startFederation: the robust pipeline, slow exclusion, alerting to `url`. */
function attackConfig(url: string, rounds: number): Partial<CoordinatorConfigInput> {
  return {
    rounds: { count: rounds, minParticipants: N, deadlineMs: 30_000 },
    aggregation: { strategy: 'fedwarden' },
    // Rejected every round, a newcomer falls below 0.15 at its 6th: the forest, which needs 20 accepted rows of
    // history, first scores a round at round 3, so the attackers are alerted for a few rounds before they are out.
    reputation: { excludeBelow: 0.15, cooldownRounds: 5 },
    alerting: {
      resolveAfterCleanRounds: 3,
      webhook: { url, backoffBaseMs: 20, backoffMaxMs: 200, timeoutMs: 10_000, secretEnv: SECRET_ENV },
    },
  };
}

/** 16 honest participants and 4 sign flippers run `rounds` rounds; the coordinator is stopped (its webhook queue flushed). */
async function runAttack(rounds: number, store?: SqliteStore) {
  receiver = await startReceiver();
  process.env[SECRET_ENV] = 'e2e-webhook-secret';
  fed = await startFederation(N, attackConfig(receiver.url, rounds), {}, store ? { store } : {});
  const transitions: AlertTransition[] = [];
  fed.coordinator.on('alert', (t) => transitions.push(t));
  const records: RoundRecord[] = [];
  fed.coordinator.on('round', (r) => records.push(r));

  const adversary = new Adversary(createAttack('sign-flip'), N, ATTACKERS, 7);
  fed.tokens.forEach((token, i) => {
    const id = `p${i}`;
    const honest = new NoisyStepModel(1000 + i);
    const model = ATTACKERS.includes(id) ? adversary.wrap(id, honest) : honest;
    const p = new SimulatedParticipant({ url: fed!.url, fingerprint: fed!.fingerprint, token, model, data: fakeData(10), reconnect: false }, 'trusted', 0, 2000 + i);
    participants.push(p);
    p.start();
  });
  await within(120_000, 'the federation to finish', Promise.all([fed.coordinator.run(), ...participants.map((p) => p.finished())]));
  const coordinator = fed.coordinator;
  const tokens = fed.tokens;
  await fed.stop(); // flushes the webhook queue
  fed = undefined;
  return { coordinator, tokens, transitions, records, received: receiver.received };
}

describe('alerting in a simulated attack', () => {
  it('an alert the attack raises reaches a local webhook, and resolves once the attackers are excluded', async () => {
    const attackers = ATTACKERS;
    const { coordinator, transitions, records, received } = await runAttack(8);

    expect(records.map((r) => r.outcome)).toEqual(Array(8).fill('completed'));
    const excludedAt = new Map(records.flatMap((r) => r.excluded.map((id) => [id, r.round] as const)));
    for (const id of attackers) expect(excludedAt.has(id), `${id} excluded`).toBe(true);

    const hooks = received.map((h) => h.json);
    // Every request is the documented payload, signed with the secret from the environment, with a current timestamp.
    for (const h of received) {
      expect(h.json['schema']).toBe(ALERT_PAYLOAD_SCHEMA);
      const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(h.headers[SIGNATURE_HEADER])) ?? [];
      expect(Math.abs(Number(t) - Date.now() / 1000)).toBeLessThan(300);
      expect(v1).toBe(createHmac('sha256', 'e2e-webhook-secret').update(`${t}.${h.body}`).digest('hex'));
      expect((h.json['coordinator'] as { fingerprint: string }).fingerprint).toBe(coordinator.identity.fingerprint);
    }
    const aboutAttackers = hooks.filter((h) => attackers.includes(String(h['unit'])));
    const fired = aboutAttackers.filter((h) => h['status'] === 'firing');
    expect(fired.length).toBeGreaterThan(0);
    for (const f of fired) {
      expect(f).toMatchObject({ detector: 'isolation-forest', participants: [f['unit']] });
      expect(typeof f['feature']).toBe('string');
      // Its resolution came in the round that excluded the attacker (or after it), and names the exclusion.
      const resolved = aboutAttackers.find((h) => h['id'] === f['id'] && h['status'] === 'resolved');
      expect(resolved, `resolution of ${String(f['id'])}`).toMatchObject({ resolution: 'excluded', event: 'resolved' });
      expect(resolved!['round']).toBe(excludedAt.get(String(f['unit'])));
      expect(Number(resolved!['round'])).toBeGreaterThanOrEqual(Number(f['round']));
    }
    // Nothing about an attacker is still firing; repeats were de-duplicated (one firing notification per alert, or an escalation).
    expect(coordinator.openAlerts().filter((a) => attackers.includes(a.unit ?? ''))).toEqual([]);
    expect(transitions.some((t) => t.event === 'updated' && attackers.includes(t.alert.unit ?? ''))).toBe(true);
    const openedIds = fired.filter((f) => f['event'] === 'opened').map((f) => f['id']);
    expect(new Set(openedIds).size).toBe(openedIds.length);
  });

  it('a restarted coordinator keeps the open alerts in its database and does not notify them again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedwarden-alerting-e2e-'));
    try {
      const path = join(dir, 'fedwarden.db');
      // Four rounds: the attackers are alerted from round 3 and not excluded yet.
      const { coordinator, tokens, received } = await runAttack(4, SqliteStore.open(path));
      const open = coordinator.openAlerts().filter((a) => ATTACKERS.includes(a.unit ?? ''));
      expect(open.length).toBeGreaterThan(0);
      const notified = received.length;

      const again = await startFederation(N, attackConfig(receiver!.url, 8), { tokens, identity: coordinator.identity }, { store: SqliteStore.open(path) });
      fed = again;
      expect(again.coordinator.resumed.lastFinishedRound).toBe(4);
      expect(again.coordinator.openAlerts().filter((a) => ATTACKERS.includes(a.unit ?? ''))).toEqual(open);
      expect(again.coordinator.recentAlerts().map((a) => a.id)).toEqual(expect.arrayContaining(open.map((a) => a.id)));
      await again.stop();
      fed = undefined;
      expect(received.length).toBe(notified);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
