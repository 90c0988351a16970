/**
 * Participant identity keys end to end, over real sockets and crypto: the first authenticated hello registers
 * the participant's ML-DSA-65 key (storage and audit log, fingerprint only); a later hello with another key for
 * the same token is refused with IDENTITY_MISMATCH, which the SDK does not retry, and which leaves the genuine
 * connection alone; `fedwarden token <id> --reset-identity`, run against the data dir of the running coordinator,
 * lets a new key in; a hello of another protocol version is refused with UNSUPPORTED naming both versions; and in
 * a secure-aggregation round the neighbours' keys the coordinator names are the registered ones, which the
 * application's trustPeer can refuse (UNTRUSTED_PEER, the 'refused' event).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FederatedClient, type FederatedClientOptions, type PeerIdentity } from '@fedwarden/client';
import { SqliteStore, databasePath, runCli } from '@fedwarden/coordinator';
import { FedwardenError, ML_DSA_SEED_BYTES, PROTOCOL_VERSION, codeFromCloseReason, generateIdentity, identityFingerprint } from '@fedwarden/shared';
import { FakeModel, fakeData } from './support/fake-model.ts';
import { startFederation, type TestFederation } from './support/federation.ts';
import { RawPeer } from './support/raw-peer.ts';
import { within } from './support/within.ts';

let fed: TestFederation | undefined;
let dir: string | undefined;
const clients: FederatedClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await fed?.stop();
  fed = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const seed = () => randomBytes(ML_DSA_SEED_BYTES);
const step = Float32Array.of(0.5, -0.25, 0.125);
const manifest = new FakeModel(step).manifest;

/** A coordinator on a file store in a temporary data dir, so that the CLI can reach its database while it runs. */
async function federationOnDisk(participants: number): Promise<{ fed: TestFederation; store: SqliteStore; dataDir: string }> {
  dir = mkdtempSync(join(tmpdir(), 'fedwarden-identity-e2e-'));
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { mode: 0o700 });
  const store = SqliteStore.open(databasePath(dataDir));
  fed = await startFederation(participants, { rounds: { count: 1, minParticipants: participants, deadlineMs: 10_000 } }, {}, { store });
  return { fed, store, dataDir };
}

function client(f: TestFederation, i: number, options: Partial<FederatedClientOptions> = {}): FederatedClient {
  const c = new FederatedClient({ url: f.url, fingerprint: f.fingerprint, token: f.tokens[i]!, model: new FakeModel(step), data: fakeData(5), reconnect: false, ...options });
  clients.push(c);
  return c;
}

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, {}, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

describe('identity enrolment', () => {
  it("registers the first hello's key: its fingerprint in the participants table and the audit log, nothing secret", async () => {
    const { fed, store } = await federationOnDisk(1);
    const identity = seed();
    const c = client(fed, 0, { identity });
    const [records, summary] = await within(20_000, 'the round', Promise.all([fed.coordinator.run(), c.run()]));
    expect(records[0]!.outcome).toBe('completed');
    expect(summary.participantId).toBe('p0');

    const registered = generateIdentity(identity).publicKey;
    expect(c.identityFingerprint).toBe(identityFingerprint(registered));
    expect(store.participants().find((p) => p.id === 'p0')?.identitySha256).toBe(c.identityFingerprint);
    expect([...store.identity('p0')!.publicKey]).toEqual([...registered]);
    const entries = store.auditEntries('identity-registered');
    expect(entries.map((e) => e.body)).toEqual([{ participant: 'p0', fingerprint: c.identityFingerprint }]);
    const audit = JSON.stringify(store.auditEntries());
    expect(audit).not.toContain(Buffer.from(identity).toString('hex'));
    expect(audit).not.toContain(Buffer.from(registered.subarray(0, 32)).toString('hex'));
  });

  it('refuses another key for the same token (IDENTITY_MISMATCH, not retried), and lets one in after --reset-identity', async () => {
    const { fed, store, dataDir } = await federationOnDisk(1);
    const first = seed();
    const genuine = client(fed, 0, { identity: first });
    const genuineRun = genuine.run().catch((e: unknown) => e);
    await within(10_000, 'the genuine participant to join', new Promise((resolve) => genuine.once('connected', resolve)));

    // Another key with the same token: refused at once, and the SDK does not try again although it may reconnect.
    const other = seed();
    const impostor = client(fed, 0, { identity: other, reconnect: { baseMs: 10, maxDelayMs: 20, maxAttempts: 5 } });
    let reconnecting = 0;
    impostor.on('reconnecting', () => reconnecting++);
    const refused = await within(10_000, 'the second key to be refused', impostor.run().then(() => undefined, (e: unknown) => e));
    expect(refused).toBeInstanceOf(FedwardenError);
    expect((refused as FedwardenError).code).toBe('IDENTITY_MISMATCH');
    const message = (refused as FedwardenError).message;
    expect(message).toContain(impostor.identityFingerprint.slice(0, 16));
    expect(message).toContain('fedwarden token <participant-id> --reset-identity');
    expect(message).toMatch(/participant p0 presented identity key [0-9a-f]{16}…/);
    expect(reconnecting).toBe(0);
    // The genuine connection stays; the registered key is unchanged.
    expect(fed.coordinator.connectedParticipants).toBe(1);
    expect(store.identity('p0')?.fingerprint).toBe(genuine.identityFingerprint);

    // The operator resets the key while the coordinator runs; the next hello registers the key it presents.
    const reset = await cli('token', 'p0', '--reset-identity', '--data-dir', dataDir);
    expect(reset).toMatchObject({ code: 0, err: '' });
    expect(reset.out).toContain(`identity key ${genuine.identityFingerprint} of p0 forgotten`);
    const moved = client(fed, 0, { identity: other });
    const movedRun = moved.run();
    // The new connection replaces the genuine one, which had the same token.
    expect(((await within(10_000, 'the old connection to be superseded', genuineRun)) as FedwardenError).code).toBe('SUPERSEDED');
    const [records, summary] = await within(20_000, 'the round with the new key', Promise.all([fed.coordinator.run(), movedRun]));
    expect(records[0]!.outcome).toBe('completed');
    expect(records[0]!.reported).toEqual(['p0']);
    expect(summary.participantId).toBe('p0');
    expect(store.identity('p0')?.fingerprint).toBe(moved.identityFingerprint);
    expect(store.auditEntries().filter((e) => e.kind.startsWith('identity-')).map((e) => [e.kind, e.body])).toEqual([
      ['identity-registered', { participant: 'p0', fingerprint: genuine.identityFingerprint }],
      ['identity-reset', { participant: 'p0', fingerprint: genuine.identityFingerprint }],
      ['identity-registered', { participant: 'p0', fingerprint: moved.identityFingerprint }],
    ]);

    // Now the old key is the stranger.
    const old = await within(10_000, 'the old key to be refused', client(fed, 0, { identity: first }).run().then(() => undefined, (e: unknown) => e));
    expect((old as FedwardenError).code).toBe('IDENTITY_MISMATCH');
  });

  it('refuses a hello of another protocol version with UNSUPPORTED, naming both versions, before the token is looked at', async () => {
    const { fed, store } = await federationOnDisk(1);
    for (const [version, advice] of [
      [PROTOCOL_VERSION - 1, 'upgrade the participant'],
      [PROTOCOL_VERSION + 1, 'upgrade the coordinator'],
    ] as const) {
      const peer = await RawPeer.connect(fed.url);
      await peer.handshake(fed.fingerprint);
      peer.sendSealed({ ...peer.hello(fed.tokens[0]!, manifest), version });
      const { code, reason } = await within(10_000, 'the close', peer.closed);
      expect(code).toBe(1003);
      expect(codeFromCloseReason(reason)).toBe('UNSUPPORTED');
      expect(reason).toBe(`UNSUPPORTED: participant speaks protocol version ${version}, this coordinator version ${PROTOCOL_VERSION}; ${advice}`);
    }
    expect(store.identity('p0')).toBeUndefined();
    expect(fed.coordinator.connectedParticipants).toBe(0);
  });
});

describe('neighbour identity keys in secure aggregation', () => {
  it("names each neighbour with its registered key; a neighbour the application's trustPeer refuses makes it refuse the round (UNTRUSTED_PEER)", async () => {
    const n = 3;
    fed = await startFederation(n, {
      privacy: 'secagg',
      secagg: { groupSize: n, stageTimeoutMs: 3_000 },
      rounds: { count: 1, minParticipants: n, quorum: 0.1, deadlineMs: 4_000 },
    });
    const seen: PeerIdentity[] = [];
    const participants = Array.from({ length: n }, (_, i) =>
      client(fed!, i, i === 0 ? { trustPeer: (peer) => (seen.push(peer), peer.participantId !== 'p2') } : {}),
    );
    const refusals: Array<[number, string]> = [];
    participants[0]!.on('refused', (round, error) => refusals.push([round, error.code]));
    await within(30_000, 'the round', Promise.all([fed.coordinator.run(), ...participants.map((c) => c.run())]));

    expect(refusals).toEqual([[1, 'UNTRUSTED_PEER']]);
    // What the coordinator relayed for p1 (and p2, up to the refusal) is the key each registered at its hello.
    const registered = new Map(participants.map((c, i) => [`p${i}`, c.identityFingerprint]));
    expect(seen.length).toBeGreaterThan(0);
    for (const peer of seen) expect(peer.fingerprint).toBe(registered.get(peer.participantId));
    expect(seen.map((p) => p.participantId)).toContain('p2');
  });
});
