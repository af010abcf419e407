// The Discovery interface: how a node finds peers to join without a bootstrap address. A discovery
// advertises the node's dialable address and calls `join` with the addresses of others it hears;
// the overlay does the rest. Default: none (bootstrap addresses, or the memory network).
export interface DiscoveryContext {
  id: string;
  name: string;
  /** The node's dialable address ('' for a client-only node: it finds others but is not advertised). */
  address: string;
  /** Joins the overlay through a discovered address. */
  join(address: string): void;
  /** Reports a fault that is not the caller's as the node's 'error' event. */
  report(error: Error): void;
}

export interface DiscoveryInstance {
  close(): Promise<void>;
}

export interface Discovery {
  readonly kind: string;
  open(context: DiscoveryContext): Promise<DiscoveryInstance>;
}
