/**
 * A hand-driven participant for hostile-input tests: a real `ws` socket that can do the genuine ML-KEM handshake
 * and hello, and then send whatever bytes a test wants — text frames, tampered or reordered sealed frames,
 * floods. It records the close code and reason the coordinator ends the connection with.
 */
import WebSocket from 'ws';
import {
  PROTOCOL_VERSION,
  clientHandshake,
  decodeMessage,
  encodeMessage,
  generateIdentity,
  type AdapterManifest,
  type IdentityKeyPair,
  type Message,
  type MessageKind,
  type MessageOf,
  type SecureSession,
} from '@fedwarden/shared';

/** A protocol-version hello for `token`, presenting `identity`'s public key (a fresh identity by default). */
export function helloMessage(token: string, manifest: AdapterManifest, identity: IdentityKeyPair = generateIdentity()): MessageOf<'hello'> {
  return { kind: 'hello', version: PROTOCOL_VERSION, token, manifest, identityKey: identity.publicKey };
}

export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
}

export class RawPeer {
  readonly closed: Promise<CloseInfo>;
  session: SecureSession | undefined;
  /** The identity key pair this peer presents in its hello (fresh per peer unless join is given one). */
  identity: IdentityKeyPair | undefined;
  private readonly frames: Buffer[] = [];
  private waiter: (() => void) | undefined;
  private isClosed = false;

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        this.isClosed = true;
        this.waiter?.();
        resolve({ code, reason: reason.toString('utf8') });
      }),
    );
    ws.on('message', (data: Buffer) => {
      this.frames.push(data);
      this.waiter?.();
    });
    ws.on('error', () => undefined); // the close event reports what happened
  }

  static async connect(url: string): Promise<RawPeer> {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
    const peer = new RawPeer(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return peer;
  }

  /** The next data frame from the coordinator, or undefined once the socket has closed. */
  async nextFrame(): Promise<Buffer | undefined> {
    for (;;) {
      const frame = this.frames.shift();
      if (frame) return frame;
      if (this.isClosed) return undefined;
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.waiter = undefined;
    }
  }

  /** Complete the genuine handshake: returns the clientKex frame it sent. */
  async handshake(fingerprint: string, send = true): Promise<{ kexFrame: Uint8Array; session: SecureSession }> {
    const serverHello = await this.nextFrame();
    if (!serverHello) throw new Error('RawPeer: closed before serverHello');
    const result = clientHandshake(new Uint8Array(serverHello), fingerprint);
    this.session = result.session;
    if (send) this.ws.send(result.kexFrame);
    return result;
  }

  /** Seal a message (or raw plaintext bytes) under the session and send it. */
  sendSealed(msg: Message | Uint8Array): Uint8Array {
    if (!this.session) throw new Error('RawPeer: no session');
    const frame = this.session.seal(msg instanceof Uint8Array ? msg : encodeMessage(msg));
    this.ws.send(frame);
    return frame;
  }

  /** The next sealed message from the coordinator, skipping others until `kind` if given. */
  async next<K extends MessageKind>(kind?: K): Promise<MessageOf<K> | undefined> {
    if (!this.session) throw new Error('RawPeer: no session');
    for (;;) {
      const frame = await this.nextFrame();
      if (!frame) return undefined;
      const msg = decodeMessage(this.session.open(new Uint8Array(frame)));
      if (kind === undefined || msg.kind === kind) return msg as MessageOf<K>;
    }
  }

  /** The hello a participant with this peer's identity sends (the identity is drawn on first use). */
  hello(token: string, manifest: AdapterManifest): MessageOf<'hello'> {
    this.identity ??= generateIdentity();
    return helloMessage(token, manifest, this.identity);
  }

  /** Handshake, hello with `token` (and `identity`, else a fresh one), and wait for the welcome. */
  async join(fingerprint: string, token: string, manifest: AdapterManifest, identity?: IdentityKeyPair): Promise<MessageOf<'welcome'>> {
    await this.handshake(fingerprint);
    if (identity) this.identity = identity;
    this.sendSealed(this.hello(token, manifest));
    const welcome = await this.next('welcome');
    if (!welcome) throw new Error(`RawPeer: closed before welcome (${JSON.stringify(await this.closed)})`);
    return welcome;
  }
}
