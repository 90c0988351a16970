/**
 * The key a per-address limit counts connections under: an IPv4 address as it is (IPv4-mapped IPv6
 * `::ffff:a.b.c.d` included), an IPv6 address by its /64 prefix, since one host or home network usually gets a
 * whole /64 (RFC 6177) and could otherwise take a fresh address per connection. Pure string work; anything
 * unparsable is its own key.
 */
import { isIPv4, isIPv6 } from 'node:net';

const MAPPED_V4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

export function addressKey(remoteAddress: string | undefined): string {
  if (!remoteAddress) return 'unknown';
  const mapped = MAPPED_V4.exec(remoteAddress);
  if (mapped?.[1] && isIPv4(mapped[1])) return mapped[1];
  if (isIPv4(remoteAddress)) return remoteAddress;
  const address = remoteAddress.split('%', 1)[0] as string; // a zone id (fe80::1%eth0) names an interface, not a host
  if (!isIPv6(address)) return remoteAddress;
  return `${ipv6Groups(address).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address, in lowercase hex without leading zeros. */
function ipv6Groups(address: string): string[] {
  const [head = '', tail] = address.split('::', 2);
  const parse = (part: string): string[] => (part === '' ? [] : part.split(':').flatMap(expandV4));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const zeros = Array.from({ length: 8 - left.length - right.length }, () => '0');
  return [...left, ...zeros, ...right].map((g) => parseInt(g, 16).toString(16));
}

/** An embedded IPv4 tail (64:ff9b::192.0.2.1) as its two groups. */
function expandV4(group: string): string[] {
  if (!group.includes('.')) return [group];
  const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map(Number);
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
}
