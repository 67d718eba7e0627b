// A real DNS server on 127.0.0.1, UDP, port 0, answering from a small zone (dns-packet encodes).
import { createSocket } from 'node:dgram';
import dnsPacket, { type Answer } from 'dns-packet';

export type Zone = Record<string, Answer[]>;

export interface DnsServer {
  /** "127.0.0.1:PORT", for a probe's `server`. */
  address: string;
  queries: string[];
  /** `answer` (default), `silent` (never answers), `servfail` or `refused`. */
  mode: 'answer' | 'silent' | 'servfail' | 'refused';
  close(): Promise<void>;
}

export async function startDns(zone: Zone): Promise<DnsServer> {
  const socket = createSocket('udp4');
  const server: DnsServer = { address: '', queries: [], mode: 'answer', close: () => new Promise((r) => socket.close(() => r())) };
  socket.on('message', (msg, peer) => {
    let q: dnsPacket.Packet;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const question = q.questions?.[0];
    if (question === undefined) return;
    server.queries.push(`${question.type} ${question.name}`);
    if (server.mode === 'silent') return;
    const records = (zone[question.name.toLowerCase()] ?? []).filter((a) => a.type === question.type);
    const known = zone[question.name.toLowerCase()] !== undefined;
    // The response code lives in the low 4 bits of the flags: 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED.
    const rcode = server.mode === 'servfail' ? 2 : server.mode === 'refused' ? 5 : known ? 0 : 3;
    const reply = dnsPacket.encode({
      type: 'response',
      id: q.id ?? 0,
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | dnsPacket.AUTHORITATIVE_ANSWER | rcode,
      questions: [question],
      answers: rcode === 0 ? records : [],
    });
    socket.send(reply, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  server.address = `127.0.0.1:${socket.address().port}`;
  return server;
}
