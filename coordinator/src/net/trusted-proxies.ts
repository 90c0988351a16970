/**
 * Which peers are reverse proxies whose X-Forwarded-For header is believed (`limits.trustedProxies`), and the
 * client address such a header names: the last address in it that is not itself a trusted proxy, read from the
 * right (the common practice; see MDN, "X-Forwarded-For: Selecting an IP address"). Entries to the left of that
 * one were written by the client and are ignored. The proxy must set or append to the header (nginx:
 * `proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;`); a peer that is not listed is never believed.
 */
import { BlockList, isIP } from 'node:net';
import { FedwardenError } from '@fedwarden/shared';

const MAPPED_V4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** An address as node:net's BlockList wants it: IPv4-mapped IPv6 as IPv4, brackets and zone id removed. */
function plainAddress(address: string): string | undefined {
  let a = address.trim();
  if (a.startsWith('[')) a = a.slice(1, a.indexOf(']') > 0 ? a.indexOf(']') : undefined);
  a = a.split('%', 1)[0] as string;
  const mapped = MAPPED_V4.exec(a);
  if (mapped?.[1]) a = mapped[1];
  return isIP(a) ? a : undefined;
}

export class TrustedProxies {
  private readonly list = new BlockList();
  readonly empty: boolean;

  /** `entries`: addresses or CIDR ranges (`10.0.0.0/8`, `fd00::/8`). Throws BAD_CONFIG on one it cannot read. */
  constructor(entries: readonly string[]) {
    this.empty = entries.length === 0;
    for (const entry of entries) {
      const [address = '', prefix, extra] = entry.split('/');
      const plain = plainAddress(address);
      const family = plain && isIP(plain) === 6 ? 'ipv6' : 'ipv4';
      const bits = prefix === undefined ? undefined : Number(prefix);
      if (!plain || extra !== undefined || (bits !== undefined && !(Number.isInteger(bits) && bits >= 0 && bits <= (family === 'ipv6' ? 128 : 32)))) {
        throw new FedwardenError('BAD_CONFIG', `limits.trustedProxies: ${JSON.stringify(entry)} is not an address or CIDR range`);
      }
      if (bits === undefined) this.list.addAddress(plain, family);
      else this.list.addSubnet(plain, bits, family);
    }
  }

  has(remoteAddress: string | undefined): boolean {
    if (this.empty || !remoteAddress) return false;
    const plain = plainAddress(remoteAddress);
    return plain !== undefined && this.list.check(plain, isIP(plain) === 6 ? 'ipv6' : 'ipv4');
  }

  /**
   * The client a trusted proxy forwarded, from its X-Forwarded-For header (several headers read as one list):
   * the rightmost entry that is not a trusted proxy, or undefined when there is none or it is not an address.
   */
  clientOf(forwardedFor: string | readonly string[] | undefined): string | undefined {
    if (forwardedFor === undefined) return undefined;
    const entries = (typeof forwardedFor === 'string' ? forwardedFor : forwardedFor.join(',')).split(',');
    for (let i = entries.length - 1; i >= 0; i--) {
      const plain = plainAddress(entries[i] as string);
      if (plain === undefined) return undefined;
      if (!this.has(plain)) return plain;
    }
    return undefined;
  }
}
