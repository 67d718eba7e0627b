// A real DNS server on port 0, UDP and TCP on the same port (as a resolver expects), answering from
// a small zone (dns-packet encodes). Binds 127.0.0.1 unless told otherwise (say ::1).
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import dnsPacket, { type Answer, type Packet } from 'dns-packet';

export type Zone = Record<string, Answer[]>;

export interface DnsServer {
  /** "127.0.0.1:PORT" or "[::1]:PORT", for a probe's `server`. */
  address: string;
  /** Every question seen, as "TYPE name", over either transport. */
  queries: string[];
  /** The questions that came over TCP. */
  tcpQueries: string[];
  /**
   * `answer` (default), `silent` (never answers), `servfail`, `refused`, or `truncate` (UDP replies
   * carry the TC bit and no answers, so the resolver must ask again over TCP).
   */
  mode: 'answer' | 'silent' | 'servfail' | 'refused' | 'truncate';
  close(): Promise<void>;
}

export async function startDns(zone: Zone, host = '127.0.0.1'): Promise<DnsServer> {
  const { udp, tcp, port } = await bindBoth(host);
  const sockets = new Set<Socket>();
  const server: DnsServer = {
    address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
    queries: [],
    tcpQueries: [],
    mode: 'answer',
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
    },
  };

  /** The reply to one query, or undefined when the server stays silent. */
  const reply = (msg: Buffer | Packet, viaTcp: boolean): Packet | undefined => {
    let q: Packet;
    try {
      q = Buffer.isBuffer(msg) ? dnsPacket.decode(msg) : msg;
    } catch {
      return undefined;
    }
    const question = q.questions?.[0];
    if (question === undefined) return undefined;
    server.queries.push(`${question.type} ${question.name}`);
    if (viaTcp) server.tcpQueries.push(`${question.type} ${question.name}`);
    if (server.mode === 'silent') return undefined;
    const known = zone[question.name.toLowerCase()];
    const records = (known ?? []).filter((a) => a.type === question.type);
    const truncated = server.mode === 'truncate' && !viaTcp;
    // The response code lives in the low 4 bits of the flags: 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED.
    const rcode = server.mode === 'servfail' ? 2 : server.mode === 'refused' ? 5 : known !== undefined ? 0 : 3;
    const flags = dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | dnsPacket.AUTHORITATIVE_ANSWER | rcode;
    return {
      type: 'response',
      id: q.id ?? 0,
      flags: truncated ? flags | dnsPacket.TRUNCATED_RESPONSE : flags,
      questions: [question],
      answers: rcode === 0 && !truncated ? records : [],
    };
  };

  udp.on('message', (msg, peer) => {
    const r = reply(msg, false);
    if (r !== undefined) udp.send(dnsPacket.encode(r), peer.port, peer.address);
  });
  tcp.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    // Over TCP each message carries a two-byte length prefix; a query may arrive in pieces.
    let buf = Buffer.alloc(0);
    s.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const one = buf.subarray(0, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(one.length);
        const r = reply(dnsPacket.streamDecode(one), true);
        if (r !== undefined) s.write(dnsPacket.streamEncode(r));
      }
    });
  });
  return server;
}

/** UDP on a free port, then TCP on the same one; tries again in the rare case TCP's is taken. */
async function bindBoth(host: string): Promise<{ udp: UdpSocket; tcp: Server; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const udp = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve) => udp.bind(0, host, resolve));
    const { port } = udp.address();
    const tcp = createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(port, host, resolve);
      });
      return { udp, tcp, port };
    } catch (err) {
      await new Promise<void>((r) => udp.close(() => r()));
      if (attempt >= 5) throw err;
    }
  }
}
