/**
 * A hostile secure-aggregation member for socket tests: a real channel (RawPeer) and a real SecaggClient, whose
 * every stage message passes through a test's hand before it is sealed and sent, so that it can corrupt,
 * swap or invent what an honest member would send. What the hand changes is signed again with the member's
 * own identity key (a hostile member signs its lies; resign.ts). It answers rounds until the coordinator finishes.
 */
import { SecaggClient } from '@fedwarden/client';
import { toFedwardenError, type AdapterManifest, type Message, type MessageOf, type SecaggSetup } from '@fedwarden/shared';
import { RawPeer } from './raw-peer.ts';
import { resign } from './resign.ts';

export type SecaggStage = 'keys' | 'encaps' | 'shares' | 'masked' | 'survivors' | 'unmask';

/**
 * Rewrites one stage message of the hostile member (`index` is its place in the group, `neighbours` its
 * partners); null withholds it.
 */
export type HostileHand = (stage: SecaggStage, msg: Message, place: Pick<SecaggSetup, 'index' | 'neighbours' | 'peers'>) => Message | null;

export interface HostileMember {
  /** How each round ended, as the coordinator told it. */
  readonly ends: Array<MessageOf<'roundEnd'>>;
  /** Resolves when the coordinator says the federation finished (or the socket closed). */
  readonly done: Promise<void>;
}

export async function startHostileMember(
  url: string,
  fingerprint: string,
  token: string,
  manifest: AdapterManifest,
  update: Float32Array,
  numSamples: number,
  hand: HostileHand,
): Promise<HostileMember> {
  const peer = await RawPeer.connect(url);
  await peer.join(fingerprint, token, manifest);
  const identity = peer.identity!;
  const ends: Array<MessageOf<'roundEnd'>> = [];
  const done = (async () => {
    let client: SecaggClient | undefined;
    const answer = (stage: SecaggStage, make: (c: SecaggClient) => Message): void => {
      if (!client) return;
      let msg: Message | null;
      try {
        const honest = make(client);
        msg = hand(stage, honest, client.setup);
        if (msg && msg !== honest) msg = resign(msg, identity, client.setup.group, client.setup.index);
      } catch (err) {
        const e = toFedwardenError(err);
        msg = { kind: 'error', code: e.code, message: e.message };
      }
      if (msg) peer.sendSealed(msg);
    };
    for (;;) {
      const msg = await peer.next();
      if (!msg || msg.kind === 'finished') return;
      switch (msg.kind) {
        case 'roundStart':
          client?.dispose();
          client = msg.secagg ? new SecaggClient(msg.round, msg.secagg, { identity }) : undefined;
          answer('keys', (c) => c.keys({ numSamples, meanLoss: 1, trainMs: 0 }));
          break;
        case 'saPeerKeys':
          answer('encaps', (c) => c.encaps(msg));
          break;
        case 'saPeerEncaps':
          answer('shares', (c) => c.shares(msg));
          break;
        case 'saPeerShares':
          answer('masked', (c) => c.masked(msg, update));
          break;
        case 'saSurvivors':
          answer('survivors', (c) => c.survivors(msg));
          break;
        case 'saUnmask':
          answer('unmask', (c) => c.unmask(msg));
          break;
        case 'roundEnd':
          ends.push(msg);
          client?.dispose();
          client = undefined;
          break;
        default:
          break;
      }
    }
  })();
  return { ends, done };
}
