// nats({ servers }): a Broker over NATS (npm @nats-io/transport-node, loaded on first use).
// Topics map to subjects under a prefix (default `nitro.`): `orders.created` is the subject
// `nitro.orders.created`, and subscriptions may use NATS wildcards (`orders.*`, `orders.>`).
// Each message is an envelope signed by the publishing node (core envelope functions) whose payload
// is [seq on this topic, value]; receivers verify it and drop replays (ReplayGuard), so the NATS
// server relays messages but can neither forge nor replay them. The client reconnects forever and
// re-sends its subscriptions after a server restart.
import { codec, type NitroValue } from '../codec.js';
import { envelope, Identity, ReplayGuard } from '../crypto.js';
import { NitroError } from '../errors.js';
import type { MessageHandler, MessageMeta } from '../host/node.js';
import type { Broker, BrokerContext, BrokerInstance, SubscribeOptions } from './types.js';

export interface NatsBrokerOptions {
  /** Server URLs, e.g. ['nats://127.0.0.1:4222']. */
  servers: string | string[];
  /** Subject prefix for Nitro topics (default 'nitro.'), so other NATS traffic cannot collide. */
  prefix?: string;
  /** Milliseconds between reconnect attempts (default 250). */
  reconnectTimeWaitMs?: number;
}

interface NatsMsg { subject: string; data: Uint8Array }
interface NatsSub { unsubscribe(): void }
interface NatsConnection {
  publish(subject: string, data: Uint8Array): void;
  subscribe(subject: string, opts: { queue?: string; callback: (err: Error | null, msg: NatsMsg) => void }): NatsSub;
  flush(): Promise<void>;
  drain(): Promise<void>;
  close(): Promise<void>;
  isClosed(): boolean;
  status(): AsyncIterable<{ type: string }>;
}

// While the server is away, a flush fails; it is retried after the next reconnect, waiting at most
// this long for one (then retrying anyway), at most kFlushAttemptsMax times.
const kReconnectWaitMs = 1000;
const kFlushAttemptsMax = 120;

// A topic is dot-separated tokens of printable characters without spaces; `*` and `>` only as
// whole tokens (and `>` last) when subscribing.
const kTopicBytesMax = 256;
function checkTopic(topic: unknown, wildcards: boolean): asserts topic is string {
  if (typeof topic !== 'string' || topic.length === 0 || topic.length > kTopicBytesMax) {
    throw new NitroError('INVALID_ARGUMENT', `topic must be a string of 1..${kTopicBytesMax} characters`);
  }
  const tokens = topic.split('.');
  tokens.forEach((t, i) => {
    const wild = t === '*' || (t === '>' && i === tokens.length - 1);
    if (wild && !wildcards) throw new NitroError('INVALID_ARGUMENT', `cannot publish to a wildcard topic: ${topic}`);
    if (!wild && (t.length === 0 || /[\s*>]/.test(t))) throw new NitroError('INVALID_ARGUMENT', `bad topic: ${JSON.stringify(topic)}`);
  });
}

class Subscription {
  readonly handlers = new Set<MessageHandler>();
  readonly guard = new ReplayGuard();
  constructor(readonly sub: NatsSub) {}
}

class NatsBroker implements BrokerInstance {
  private readonly subs = new Map<string, Subscription>(); // by queue + '\n' + topic
  private readonly seqs = new Map<string, number>();     // our sequence number per topic
  // Envelope sequence numbers (one per origin for the replay guard) start at the wall clock in
  // microseconds, so they keep increasing across restarts of this node.
  private envelopeSeq = Date.now() * 1000;
  private closed = false;
  private readonly reconnectWaiters = new Set<() => void>();

  constructor(private readonly nc: NatsConnection, private readonly identity: Identity,
    private readonly context: BrokerContext, private readonly prefix: string) {
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type !== 'reconnect') continue;
        for (const wake of [...this.reconnectWaiters]) wake();
      }
    })().catch(() => undefined);
  }

  private reconnected(): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.reconnectWaiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, kReconnectWaitMs);
      this.reconnectWaiters.add(wake);
    });
  }

  // Sends `before` (if any), then waits until the server has answered a ping sent after it. If the
  // connection drops first, the message may or may not have arrived: it is sent again after the
  // reconnect (receivers drop the duplicate: the same envelope is a replay).
  private async deliverToServer(before?: () => void): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      before?.();
      try {
        return await this.nc.flush();
      } catch (e) {
        if (this.closed || this.nc.isClosed() || attempt >= kFlushAttemptsMax) {
          throw new NitroError('UNAVAILABLE', `nats: ${(e as Error).message}`, e);
        }
        await this.reconnected();
      }
    }
  }

  subscribe(topic: string, handler: MessageHandler, options: SubscribeOptions = {}): () => void {
    if (this.closed) throw new NitroError('FAILED_PRECONDITION', 'node is closed');
    checkTopic(topic, true);
    const queue = options.queue;
    if (queue !== undefined && (typeof queue !== 'string' || !/^[^\s*>]+$/.test(queue))) {
      throw new NitroError('INVALID_ARGUMENT', `bad queue group name: ${JSON.stringify(queue)}`);
    }
    const id = `${queue ?? ''}\n${topic}`;
    let entry = this.subs.get(id);
    if (!entry) {
      const sub = this.nc.subscribe(this.prefix + topic, {
        queue,
        callback: (err, msg) => (err ? this.context.report(err) : this.deliver(entry!, msg)),
      });
      entry = new Subscription(sub);
      this.subs.set(id, entry);
    }
    const mine: MessageHandler = (msg, meta) => handler(msg, meta);
    entry.handlers.add(mine);
    return () => {
      const current = this.subs.get(id);
      if (!current || !current.handlers.delete(mine) || current.handlers.size > 0) return;
      this.subs.delete(id);
      current.sub.unsubscribe();
      current.guard.dispose();
    };
  }

  async publish(topic: string, value: NitroValue): Promise<number> {
    if (this.closed) throw new NitroError('FAILED_PRECONDITION', 'node is closed');
    checkTopic(topic, false);
    const seq = (this.seqs.get(topic) ?? 0) + 1;
    const payload = codec.encode([seq, value]);
    const bytes = envelope.sign(this.identity, { seq: ++this.envelopeSeq, timestampMs: Date.now(), topic, payload });
    this.seqs.set(topic, seq);
    await this.deliverToServer(() => this.nc.publish(this.prefix + topic, bytes));
    return seq;
  }

  flush(): Promise<void> {
    return this.deliverToServer();
  }

  private deliver(entry: Subscription, msg: NatsMsg): void {
    let meta: MessageMeta;
    let value: NitroValue;
    try {
      const env = envelope.open(msg.data);
      if (this.prefix + env.topic !== msg.subject) throw new NitroError('PERMISSION_DENIED', `envelope for ${env.topic} arrived on ${msg.subject}`);
      entry.guard.accept(env, Date.now());
      const decoded = codec.decode(env.payload);
      if (!Array.isArray(decoded) || decoded.length !== 2 || typeof decoded[0] !== 'number') {
        throw new NitroError('DECODE_ERROR', 'broker payload is not [seq, value]');
      }
      value = decoded[1] as NitroValue;
      const own = env.origin === this.context.id;
      meta = { from: env.origin, topic: env.topic, seq: decoded[0], hops: own ? 0 : 1, via: own ? this.context.id : 'nats' };
    } catch (e) {
      this.context.report(e as Error);
      return;
    }
    for (const handler of [...entry.handlers]) {
      try {
        handler(value, meta);
      } catch (e) {
        this.context.report(e as Error);
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const wake of [...this.reconnectWaiters]) wake();
    for (const entry of this.subs.values()) entry.guard.dispose();
    this.subs.clear();
    this.identity.dispose();
    if (!this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
  }
}

/** A NATS broker for createNode({ broker: nats({ servers }) }). */
export function nats(options: NatsBrokerOptions): Broker {
  const servers = Array.isArray(options.servers) ? options.servers : [options.servers];
  if (servers.length === 0) throw new NitroError('INVALID_ARGUMENT', 'nats(): at least one server');
  const prefix = options.prefix ?? 'nitro.';
  return {
    kind: 'nats',
    async open(context) {
      const { connect } = (await import('@nats-io/transport-node')) as unknown as {
        connect(o: object): Promise<NatsConnection>;
      };
      let nc: NatsConnection;
      try {
        nc = await connect({
          servers, name: `nitro:${context.name}`, maxReconnectAttempts: -1,
          reconnectTimeWait: options.reconnectTimeWaitMs ?? 250, pingInterval: 2000,
        });
      } catch (e) {
        throw new NitroError('UNAVAILABLE', `nats(): cannot connect to ${servers.join(', ')}: ${(e as Error).message}`, e);
      }
      return new NatsBroker(nc, Identity.fromSeed(context.seed), context, prefix);
    },
  };
}
