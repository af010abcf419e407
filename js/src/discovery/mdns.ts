// mdns(): Discovery by multicast DNS on the local network segment (npm multicast-dns, loaded on
// first use). Each node answers queries for the service `_nitro._tcp.local` with a TXT record
// `id=<peer id>`, `addr=<dialable address>` (and announces itself when it starts), queries every
// `intervalMs`, and joins the overlay through each new peer it hears of. A peer whose address
// changes (a restart on another port) is joined again.
import { NitroError } from '../errors.js';
import type { Discovery, DiscoveryContext, DiscoveryInstance } from './types.js';

export interface MdnsOptions {
  /** Service name (default '_nitro._tcp.local'); nodes only find others of the same service. */
  service?: string;
  /** IPv4 address of the interface to use (default: the system's choice). */
  interface?: string;
  /** UDP port (default 5353) and multicast group (default 224.0.0.251). */
  port?: number;
  group?: string;
  /** Milliseconds between queries (default 1000). */
  intervalMs?: number;
}

interface TxtAnswer { name: string; type: string; data: unknown }
interface MdnsPacket { questions?: Array<{ name: string; type: string }>; answers?: TxtAnswer[]; additionals?: TxtAnswer[] }
interface MdnsSocket {
  on(event: 'query' | 'response', fn: (packet: MdnsPacket) => void): void;
  on(event: 'error' | 'warning', fn: (e: Error) => void): void;
  once(event: 'ready', fn: () => void): void;
  query(q: { questions: Array<{ name: string; type: string }> }): void;
  respond(r: { answers: TxtAnswer[] }): void;
  destroy(cb?: () => void): void;
}

const kIntervalMsDefault = 1000;
const kPeersMax = 4096; // remembered peers (id -> address); beyond this the oldest are forgotten

function txtFields(data: unknown): Map<string, string> {
  const fields = new Map<string, string>();
  const parts = Array.isArray(data) ? data : [data];
  for (const part of parts) {
    const text = typeof part === 'string' ? part : part instanceof Uint8Array ? new TextDecoder().decode(part) : '';
    const eq = text.indexOf('=');
    if (eq > 0) fields.set(text.slice(0, eq), text.slice(eq + 1));
  }
  return fields;
}

class MdnsDiscovery implements DiscoveryInstance {
  private readonly known = new Map<string, string>(); // peer id -> address joined through
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly instance: string;

  constructor(private readonly socket: MdnsSocket, private readonly context: DiscoveryContext,
    private readonly service: string, intervalMs: number) {
    this.instance = `${context.id}.${service}`;
    socket.on('query', (q) => {
      if (q.questions?.some((x) => x.name === service && (x.type === 'PTR' || x.type === 'ANY'))) this.announce();
    });
    socket.on('response', (r) => this.heard([...(r.answers ?? []), ...(r.additionals ?? [])]));
    socket.on('warning', () => undefined); // a malformed packet from the segment: ignored
    socket.on('error', (e) => context.report(new NitroError('UNAVAILABLE', `mdns: ${e.message}`, e)));
    this.announce();
    this.query();
    this.timer = setInterval(() => this.query(), intervalMs);
    (this.timer as { unref?: () => void }).unref?.();
  }

  private query(): void {
    this.socket.query({ questions: [{ name: this.service, type: 'PTR' }] });
  }

  private announce(): void {
    if (!this.context.address) return;
    this.socket.respond({
      answers: [
        { name: this.service, type: 'PTR', data: this.instance },
        { name: this.instance, type: 'TXT', data: [`id=${this.context.id}`, `addr=${this.context.address}`] },
      ],
    });
  }

  private heard(records: TxtAnswer[]): void {
    for (const record of records) {
      if (record.type !== 'TXT' || !record.name.endsWith(`.${this.service}`)) continue;
      const fields = txtFields(record.data);
      const id = fields.get('id');
      const address = fields.get('addr');
      if (!id || !address || id === this.context.id || this.known.get(id) === address) continue;
      this.known.delete(id);
      this.known.set(id, address);
      if (this.known.size > kPeersMax) this.known.delete(this.known.keys().next().value!);
      try {
        this.context.join(address);
      } catch (e) {
        this.context.report(e as Error);
      }
    }
  }

  close(): Promise<void> {
    clearInterval(this.timer);
    return new Promise((resolve) => this.socket.destroy(() => resolve()));
  }
}

/** mDNS discovery for createNode({ discovery: mdns() }) (Node; the node needs a dialable address to be found). */
export function mdns(options: MdnsOptions = {}): Discovery {
  const service = options.service ?? '_nitro._tcp.local';
  const intervalMs = options.intervalMs ?? kIntervalMsDefault;
  if (!(intervalMs >= 10)) throw new NitroError('INVALID_ARGUMENT', 'mdns(): intervalMs must be at least 10');
  return {
    kind: 'mdns',
    async open(context) {
      const factory = ((await import('multicast-dns')) as unknown as { default: (o: object) => MdnsSocket }).default;
      const socket = factory({
        interface: options.interface, bind: '0.0.0.0', port: options.port ?? 5353,
        ip: options.group ?? '224.0.0.251', loopback: true, reuseAddr: true,
      });
      await new Promise<void>((resolve, reject) => {
        socket.once('ready', resolve);
        socket.on('error', reject);
      }).catch((e) => {
        socket.destroy();
        throw new NitroError('UNAVAILABLE', `mdns(): cannot open the multicast socket: ${(e as Error).message}`, e);
      });
      return new MdnsDiscovery(socket, context, service, intervalMs);
    },
  };
}
