// The Broker interface: where a node's publish/subscribe goes. The default is the node's own
// gossip mesh inside the core (no broker object); a broker replaces it for apps whose pub/sub
// outgrows a mesh, e.g. nats({ servers }). A broker carries messages but is not trusted: every
// payload travels in an envelope signed by the publishing node and is verified, and checked
// against replays, by each receiver.
import type { NitroValue } from '../codec.js';
import type { MessageHandler } from '../host/node.js';

export interface SubscribeOptions {
  /** A queue group: of the subscribers sharing it (same topic pattern and queue), one gets each message. */
  queue?: string;
}

export interface BrokerContext {
  /** The node's 32-byte identity seed: envelopes are signed with it. */
  seed: Uint8Array;
  /** The node's peer id (what receivers see as meta.from). */
  id: string;
  name: string;
  /** Reports a fault that is not the caller's (a forged or undecodable message) as the node's 'error' event. */
  report(error: Error): void;
}

export interface BrokerInstance {
  subscribe(topic: string, handler: MessageHandler, options?: SubscribeOptions): () => void;
  /** Resolves with the publisher's sequence number on the topic once the broker has the message. */
  publish(topic: string, value: NitroValue): Promise<number>;
  /** Resolves once the broker has every subscription and message sent so far. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface Broker {
  readonly kind: string;
  open(context: BrokerContext): Promise<BrokerInstance>;
}
