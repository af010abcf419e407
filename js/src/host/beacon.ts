// node.beacon(...): the threshold BLS beacon (core/include/nitro/beacon_protocol.h) on a NitroNode.
// The C++ BeaconProtocol is attached to the node's core under a channel (bindings/beacon_node.cpp);
// its events (msgpack maps) arrive through node.onProtocol and are re-emitted here as JS objects.
// Times: genesisMs/dkg.startMs are Unix epoch milliseconds (Date.now()); they are converted once, at
// open, to the node's monotonic clock (performance.now()), which the core runs on.
import { Beacon, toBytes, toHex, type BeaconScheme, type BytesLike, type Share } from '../beacon.js';
import { codec } from '../codec.js';
import { NitroError, unwrap } from '../errors.js';
import { Evented, type PayloadEvents } from '../events.js';
import { getModule } from '../wasm.js';
import type { NitroNode } from './node.js';

/** Rounds kept for latest()/token()/round(); older ones are forgotten. */
export const kBeaconHistoryMax = 1024;
/** Rounds a watch() iterator holds for a slow consumer. */
export const kWatchBufferMax = 64;

export interface BeaconDealer {
  groupPublicKey: BytesLike;
  commitments: BytesLike[];  // the public polynomial (threshold.deal(...).commitments)
  shares: Share[];           // share i belongs to the i-th group member in ascending peer-id order
}

export interface BeaconNodeOptions {
  group: string[];           // member peer ids, this node included
  threshold: number;
  periodMs: number;
  genesisMs?: number;        // Unix ms of round 1; default: the second period boundary from now
  scheme?: BeaconScheme | string;  // 'pedersen-bls-chained' (default) or an unchained scheme
  dealer?: BeaconDealer;     // dealer mode (tests, trusted setups)
  dkg?: true | { startMs?: number; phaseMs?: number };  // DKG: every member must use the same startMs
  channel?: string;          // default 'beacon'
}

export interface BeaconRound {
  round: number;
  randomness: string;        // hex, sha256(signature)
  signature: Uint8Array;
  previousSignature: Uint8Array;  // chained schemes; empty otherwise
}
export interface BeaconRejected { from: string; round: number; reason: string }
export interface NodeBeaconEvents {
  round: BeaconRound;
  rejected: BeaconRejected;
  ready: { groupPublicKey: Uint8Array; index: number };
  dkgFailed: { reason: string };
}

const SCHEME_DEFAULT = 'pedersen-bls-chained';

function nodeClockOf(epochMs: number, what: string): number {
  if (!Number.isSafeInteger(epochMs) || epochMs < 0) throw new NitroError('INVALID_ARGUMENT', `${what} must be Unix milliseconds`);
  const t = Math.floor(epochMs - Date.now() + performance.now());
  if (t < 0) throw new NitroError('INVALID_ARGUMENT', `${what} predates this process's monotonic clock origin`);
  return t;
}

export class NodeBeacon extends Evented<PayloadEvents<NodeBeaconEvents>> {
  readonly channel: string;
  readonly scheme: string;
  readonly index: number;
  readonly topic: string;
  private groupKey: Uint8Array | undefined;
  private readonly history = new Map<number, BeaconRound>();
  private latestRound: BeaconRound | undefined;
  private readonly offProtocol: () => void;
  private readonly offClose: () => void;
  private readonly watchers = new Set<() => void>();  // end every watch() iterator
  private closed = false;

  constructor(private readonly node: NitroNode, options: BeaconNodeOptions) {
    super();
    if (typeof options !== 'object' || options === null) throw new NitroError('INVALID_ARGUMENT', 'beacon expects an options object');
    const { group, threshold, periodMs } = options;
    if (!Array.isArray(group)) throw new NitroError('INVALID_ARGUMENT', 'group must be an array of peer ids');
    if (!Number.isSafeInteger(periodMs) || periodMs <= 0) throw new NitroError('INVALID_ARGUMENT', 'periodMs must be a positive integer');
    if ((options.dealer === undefined) === (options.dkg === undefined)) {
      throw new NitroError('INVALID_ARGUMENT', 'give exactly one of dealer or dkg');
    }
    this.channel = options.channel ?? 'beacon';
    this.scheme = options.scheme ?? SCHEME_DEFAULT;
    const genesisEpoch = options.genesisMs ?? (Math.ceil(Date.now() / periodMs) + 1) * periodMs;
    const core: Record<string, unknown> = {
      group, threshold, periodMs, scheme: this.scheme, genesisMs: nodeClockOf(genesisEpoch, 'genesisMs'),
    };
    const mod = getModule();
    if (options.dealer) {
      const index = node.run((c) => mod.beaconMemberIndex(c, group) as number);
      const share = options.dealer.shares.find((s) => s.index === index);
      if (!share) throw new NitroError('INVALID_ARGUMENT', 'the dealer has no share for this node (is it in the group?)');
      core.dealer = {
        commitments: options.dealer.commitments.map((c) => toBytes(c, 'commitment')),
        share: { index: share.index, secretKey: toBytes(share.secretKey, 'secretKey') },
      };
      this.groupKey = toBytes(options.dealer.groupPublicKey, 'groupPublicKey');
    } else if (typeof options.dkg === 'object') {
      if (options.dkg.startMs !== undefined) core.dkgStartMs = nodeClockOf(options.dkg.startMs, 'dkg.startMs');
      if (options.dkg.phaseMs !== undefined) core.dkgPhaseMs = options.dkg.phaseMs;
    }
    this.offClose = node.beforeClose(() => this.endWatchers());
    // Listen first: attaching may emit 'ready' (and rounds) synchronously.
    this.offProtocol = node.onProtocol(this.channel, (bytes) => this.onEvent(bytes));
    try {
      const r = unwrap<{ index: number; topic: string }>(node.run((c) => mod.beaconAttach(c, this.channel, core)));
      this.index = r.index;
      this.topic = r.topic;
    } catch (e) {
      this.offProtocol();
      this.offClose();
      throw e;
    }
  }

  /** The group public key (dealer mode: at once; DKG: after 'ready'). */
  get groupPublicKey(): Uint8Array | undefined {
    return this.groupKey;
  }

  /** The highest round produced so far (undefined before the first). */
  latest(): BeaconRound | undefined {
    return this.latestRound;
  }

  /** A round seen by this node (the last kBeaconHistoryMax are kept). */
  round(round: number): BeaconRound | undefined {
    return this.history.get(round);
  }

  /** Beacon.token of a round this node holds: unique per (round, label), verifiable by anyone. */
  token(round: number, label: string): string {
    const r = this.history.get(round);
    if (!r) throw new NitroError('NOT_FOUND', `round ${round} is not known to this node`);
    return Beacon.token(r.randomness, round, label);
  }

  /**
   * The rounds this node produces from now on, as an async iterator (drand-client's `watch`):
   * `for await (const r of beacon.watch({ signal }))`. Ends when `signal` aborts, the beacon or
   * the node closes, or the loop breaks. A consumer slower than the beacon gets the newest
   * kWatchBufferMax rounds (older unread ones are dropped).
   */
  watch(options: { signal?: AbortSignal } = {}): AsyncIterableIterator<BeaconRound> {
    const { signal } = options;
    const queue: BeaconRound[] = [];
    let wake: (() => void) | undefined;
    let ended = this.closed || signal?.aborted === true;
    const end = (): void => {
      ended = true;
      offRound();
      this.watchers.delete(end);
      signal?.removeEventListener('abort', end);
      wake?.();
    };
    const offRound = this.on('round', (r) => {
      queue.push(r);
      if (queue.length > kWatchBufferMax) queue.shift();
      wake?.();
    });
    this.watchers.add(end);
    signal?.addEventListener('abort', end, { once: true });
    if (ended) end();
    const next = async (): Promise<IteratorResult<BeaconRound>> => {
      while (queue.length === 0 && !ended) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      const r = queue.shift();
      return r && !ended ? { value: r, done: false } : (end(), { value: undefined, done: true });
    };
    return {
      next,
      return: async () => {
        end();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /** Stops the beacon on this node (the channel stays taken on this node). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.endWatchers();
    this.offClose();
    this.offProtocol();
    if (!this.node.closed) this.node.run((c) => getModule().beaconClose(c, this.channel));
    this.closeEvents('beacon');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  private endWatchers(): void {
    for (const end of [...this.watchers]) end();
  }

  private onEvent(bytes: Uint8Array): void {
    const ev = codec.decode(bytes) as Record<string, unknown>;
    switch (ev.type) {
      case 'round': {
        const r: BeaconRound = {
          round: Number(ev.round),
          randomness: toHex(ev.randomness as Uint8Array),
          signature: ev.signature as Uint8Array,
          previousSignature: ev.previous_signature as Uint8Array,
        };
        this.history.set(r.round, r);
        if (this.history.size > kBeaconHistoryMax) this.history.delete(Math.min(...this.history.keys()));
        if (!this.latestRound || r.round > this.latestRound.round) this.latestRound = r;
        return this.emit('round', r);
      }
      case 'rejected':
        return this.emit('rejected', { from: String(ev.from), round: Number(ev.round), reason: String(ev.reason) });
      case 'ready':
        this.groupKey = ev.group_key as Uint8Array;
        return this.emit('ready', { groupPublicKey: this.groupKey, index: Number(ev.index) });
      case 'dkg_failed':
        return this.emit('dkgFailed', { reason: String(ev.reason) });
      default:
        return;
    }
  }
}

/** What NitroNode.beacon delegates to. */
export function openBeacon(node: NitroNode, options: BeaconNodeOptions): NodeBeacon {
  return new NodeBeacon(node, options);
}
