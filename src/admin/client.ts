/**
 * Who a client is, for the limits the admin listener keeps per client
 * (connections, failed attempts, refusal log lines): its IPv4 address, or the
 * /64 its IPv6 address is in, as one host is handed a whole /64 and could
 * otherwise count as 2^64 clients.
 */
import net from 'node:net';

export function clientOf(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  const ip = address.split('%')[0]!;
  if (!net.isIPv6(ip)) return address;
  return `${groups(ip)
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address, `::` expanded (a trailing dotted IPv4 counts as two). */
function groups(ip: string): string[] {
  const [head = '', tail] = ip.split('::') as [string, string | undefined];
  const split = (part: string): string[] =>
    part === '' ? [] : part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g.toLowerCase()]));
  const h = split(head);
  const t = tail === undefined ? [] : split(tail);
  return [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
}
