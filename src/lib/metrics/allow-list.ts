import net from 'node:net';

// METRICS_ALLOWED_IPS: GitLab's monitoring IP allow-list
// (gitlab.rb `gitlab_rails['monitoring_whitelist']`, default
// 127.0.0.0/8 and ::1/128). Addresses and CIDR ranges, comma-separated.

export const DEFAULT_METRICS_ALLOWED_IPS = '127.0.0.0/8,::1/128';

export interface AllowList {
  allows(ip: string): boolean;
}

/** Parses the list; throws with the offending entry when one is not an address or CIDR range. */
export function parseAllowList(value: string): AllowList {
  const list = new net.BlockList();
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const [address, bits, extra] = entry.split('/');
    const family = net.isIP(address ?? '');
    const prefix = bits === undefined ? undefined : Number(bits);
    const max = family === 6 ? 128 : 32;
    if (family === 0 || extra !== undefined || (bits !== undefined && (!/^\d+$/.test(bits) || prefix! > max))) {
      throw new Error(`not an IP address or CIDR range: "${entry}"`);
    }
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address!, type);
    else list.addSubnet(address!, prefix, type);
  }
  return {
    allows(ip: string): boolean {
      // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d.
      const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
      const address = mapped ? mapped[1]! : ip;
      const family = net.isIP(address);
      if (family === 0) return false;
      return list.check(address, family === 6 ? 'ipv6' : 'ipv4');
    },
  };
}
