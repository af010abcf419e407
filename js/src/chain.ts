// node.consensus(...): the BFT chain (core/include/nitro/consensus.h) on a NitroNode. The C++
// ConsensusProtocol runs in the core; this file converts values and turns its events into
// promises: submit() resolves at commit with { height, result }, or rejects with the handler's
// typed error. JS handlers registered with register() run synchronously inside the core's
// execution of a committed block and must be deterministic: state, args and ctx only.
import { bls, toBytes, type BytesLike } from './beacon.js';
import { codec, type NitroValue } from './codec.js';
import { Evented } from './events.js';
import { NitroError, errorFor, unwrap, type ErrorCode } from './errors.js';
import { getModule } from './wasm.js';
import type { NitroNode } from './host/node.js';

export interface ChainValidator {
  id: string;                 // peer id
  blsPublicKey: BytesLike;    // G2 (96 bytes): chains sign votes on G1
  blsPop: BytesLike;          // proof of possession of that key
}

export interface ChainKeys { blsSecretKey: Uint8Array; blsPublicKey: Uint8Array; blsPop: Uint8Array }

export interface ConsensusOptions {
  name?: string;              // channel and chain id; default 'chain'
  validators: ChainValidator[];
  blsSecretKey?: BytesLike;   // this node's key when it is a validator
  timeoutMs?: number;         // base view timeout (default 1000)
  emptyBlockMs?: number;      // with nothing to commit, a leader waits this long (default 200)
  txsPerBlockMax?: number;
  mempoolTxsMax?: number;
  snapshotInterval?: number;  // heights between state snapshots served to far-behind replicas (1..128, default 128)
}

export interface ChainState {
  get(key: string): NitroValue | undefined;
  put(key: string, value: NitroValue): void;
  delete(key: string): boolean;
}
export interface ChainContext { height: number; time: number; sender: string; revision: number; op: string }
export type ChainHandler = (state: ChainState, args: NitroValue, ctx: ChainContext) => NitroValue;

/** A validator set change took effect: blocks above `height` are certified by `validators`. */
export interface EpochEvent { epoch: number; height: number; validators: ChainValidator[] }
/** One vote for a set change: add a validator (its keys), or remove one (its id). */
export type ValidatorChange = { add: ChainValidator; remove?: never } | { remove: string; add?: never };
export interface CommitEvent { height: number; view: number; hash: Uint8Array; txs: number; stateRoot: Uint8Array; timeMs: number }
export interface SubmitResult { height: number; result: NitroValue }
export interface ReadResult { value: NitroValue | undefined; found: boolean; modRevision: number; proof?: Uint8Array }
/** A read a light client checked: the entry's value and revisions are all covered by the state root. */
export interface VerifiedRead {
  height: number; key: string; found: boolean; value?: NitroValue;
  modRevision: number; createRevision: number; version: number;
}

type CoreState = { get(k: string): unknown; put(k: string, v: unknown): unknown; remove(k: string): boolean; delete(): void };

/** BLS keys for a validator from >= 32 bytes of seed (deterministic). */
export function chainKeys(seed: BytesLike): ChainKeys {
  const { secretKey, publicKey } = bls.keyGen(seed, { sigGroup: 'G1', pop: true });
  return { blsSecretKey: secretKey, blsPublicKey: publicKey, blsPop: unwrap<Uint8Array>(getModule().consensusBlsPop(secretKey)) };
}

const coreValidators = (vs: ChainValidator[]) =>
  vs.map((v) => ({ id: v.id, blsPublicKey: toBytes(v.blsPublicKey, 'blsPublicKey'), blsPop: toBytes(v.blsPop, 'blsPop') }));

/**
 * Light client: checks a read proof against the validator set alone (QC, then Merkle path). A
 * chain whose set changed signs in the set's epoch: pass that epoch with that set.
 */
export function verifyRead(chainId: string, validators: ChainValidator[], proof: Uint8Array, epoch = 0): VerifiedRead {
  return unwrap<VerifiedRead>(getModule().consensusVerifyRead(chainId, coreValidators(validators), proof, epoch));
}

// An op id as a map key: its bytes as one char each (cheaper than hex for a key made per op).
const idKey = (id: Uint8Array): string => String.fromCharCode.apply(null, id as unknown as number[]);

interface Queued {
  op: string; args: NitroValue; opts: { timeoutMs?: number; signal?: AbortSignal };
  resolve: (r: SubmitResult) => void; reject: (e: Error) => void;
}
interface Pending { resolve: (r: SubmitResult) => void; reject: (e: Error) => void; cleanup: () => void }

export interface ChainEvents {
  commit: [CommitEvent];
  epoch: [EpochEvent];
}

export class Chain extends Evented<ChainEvents> {
  readonly name: string;
  private readonly pending = new Map<string, Pending>();
  private readonly offProtocol: () => void;
  private readonly queued: Queued[] = [];
  private haltedReason: string | undefined;

  constructor(private readonly node: NitroNode, options: ConsensusOptions) {
    super();
    if (typeof options !== 'object' || options === null || !Array.isArray(options.validators)) {
      throw new NitroError('INVALID_ARGUMENT', 'consensus expects { validators: [...] }');
    }
    this.name = options.name ?? 'chain';
    const core: Record<string, unknown> = { chainId: this.name, validators: coreValidators(options.validators) };
    if (options.blsSecretKey !== undefined) core.blsSecretKey = toBytes(options.blsSecretKey, 'blsSecretKey');
    for (const k of ['timeoutMs', 'emptyBlockMs', 'txsPerBlockMax', 'mempoolTxsMax', 'snapshotInterval'] as const) {
      if (options[k] !== undefined) core[k] = options[k];
    }
    this.offProtocol = node.onProtocol(this.name, (bytes) => this.onEvent(bytes));
    try {
      unwrap(node.run((c) => getModule().consensusAttach(c, this.name, core)));
    } catch (e) {
      this.offProtocol();
      throw e;
    }
  }

  /** Registers an application op: submit(name, args) runs `handler` at commit on every validator. */
  register(name: string, handler: ChainHandler): void {
    if (typeof handler !== 'function') throw new NitroError('INVALID_ARGUMENT', 'handler must be a function');
    const wrapped = (state: CoreState, args: unknown, ctx: ChainContext) => {
      const view: ChainState = {
        get: (k) => state.get(k) as NitroValue | undefined,
        put: (k, v) => void unwrap(state.put(k, v)),
        delete: (k) => state.remove(k),
      };
      try {
        return { value: handler(view, args as NitroValue, ctx) ?? null };
      } catch (e) {
        const code = (e instanceof NitroError ? e.code : 'ABORTED') as ErrorCode;
        return { error: { code, message: e instanceof Error ? e.message : String(e) } };
      } finally {
        state.delete();  // release the embind handle (the core detaches it after the call anyway)
      }
    };
    unwrap(this.node.run((c) => getModule().consensusRegister(c, this.name, name, wrapped)));
  }

  /**
   * Submits a tx signed by this node; resolves at commit with the op's result. Rejects with the
   * handler's error (its code), RESOURCE_EXHAUSTED (mempool full), DEADLINE_EXCEEDED (timeoutMs,
   * default 30 s) or CANCELLED (signal).
   */
  submit(op: string, args: NitroValue, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<SubmitResult> {
    if (this.haltedReason) return Promise.reject(new NitroError('FAILED_PRECONDITION', this.haltedReason));
    if (typeof op !== 'string') return Promise.reject(new NitroError('INVALID_ARGUMENT', 'op must be a string'));
    // Submits made in one task reach the core in one call (the core signs them as one bundle).
    return new Promise<SubmitResult>((resolve, reject) => {
      this.queued.push({ op, args, opts, resolve, reject });
      if (this.queued.length === 1) queueMicrotask(() => this.flushSubmits());
    });
  }

  private flushSubmits(): void {
    const batch = this.queued.splice(0);
    let ids: Array<Uint8Array | { __nitroError: true; code: ErrorCode; message: string }>;
    try {
      ids = unwrap(this.node.run((c, now) => getModule().consensusSubmitMany(c, this.name, batch.map((b) => [b.op, b.args]), now)));
    } catch (e) {
      for (const b of batch) b.reject(e as Error);
      return;
    }
    batch.forEach((b, i) => {
      try {
        this.await(idKey(unwrap<Uint8Array>(ids[i])), b);
      } catch (e) {
        b.reject(e as Error);
      }
    });
  }

  private await(id: string, q: Queued): void {
    const { opts } = q;
    const timer = setTimeout(() => fail(new NitroError('DEADLINE_EXCEEDED', `tx not committed within ${opts.timeoutMs ?? 30000} ms`)),
      opts.timeoutMs ?? 30000);
    const onAbort = () => fail(new NitroError('CANCELLED', 'submit aborted'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const cleanup = () => { clearTimeout(timer); opts.signal?.removeEventListener('abort', onAbort); this.pending.delete(id); };
    const fail = (e: Error) => { cleanup(); q.reject(e); };
    this.pending.set(id, { resolve: (r) => { cleanup(); q.resolve(r); }, reject: fail, cleanup });
  }

  /** The committed state on this node. */
  readonly state = {
    get: async (key: string): Promise<NitroValue | undefined> => {
      const r = unwrap<{ found: boolean; value?: NitroValue }>(getModule().consensusGet(this.node.core, this.name, key));
      return r.found ? r.value : undefined;
    },
  };

  /**
   * Reads a committed key. With proof: true, waits (up to timeoutMs) for a QC-certified header
   * carrying the current state root and returns the value the proof shows, with the proof for
   * light clients (verifyRead).
   */
  async read(key: string, opts: { proof?: boolean; timeoutMs?: number } = {}): Promise<ReadResult> {
    if (!opts.proof) {
      const r = unwrap<{ found: boolean; value?: NitroValue; modRevision?: number }>(getModule().consensusGet(this.node.core, this.name, key));
      return { value: r.found ? r.value : undefined, found: r.found, modRevision: r.modRevision ?? 0 };
    }
    const deadline = Date.now() + (opts.timeoutMs ?? 10000);
    for (;;) {
      try {
        const proof = unwrap<Uint8Array>(getModule().consensusReadProof(this.node.core, this.name, key));
        const v = verifyRead(this.name, this.validators(), proof, this.info().epoch);
        return { value: v.found ? v.value : undefined, found: v.found, modRevision: v.modRevision, proof };
      } catch (e) {
        if (!(e instanceof NitroError) || e.code !== 'UNAVAILABLE' || Date.now() > deadline) throw e;
        await this.nextCommit(deadline);
      }
    }
  }

  // The next commit, or nothing once `deadline` passes (a chain that stopped committing must not
  // leave a bounded read waiting for good); rejects only if the chain closes.
  private async nextCommit(deadline: number): Promise<void> {
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), Math.max(1, deadline - Date.now() + 1));
    try {
      await this.once('commit', { signal: stop.signal });
    } catch (e) {
      if (!stop.signal.aborted) throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * snapshotsInstalled: state snapshots this node installed to catch up (since it started);
   * epoch: validator set changes applied so far.
   */
  info(): { view: number; height: number; epoch: number; stateRoot: Uint8Array; snapshotsInstalled: number; halted?: string } {
    return unwrap(getModule().consensusInfo(this.node.core, this.name));
  }

  /** The current validator set (by id), as this node's committed chain has it. */
  validators(): ChainValidator[] {
    return unwrap<ChainValidator[]>(getModule().consensusValidators(this.node.core, this.name));
  }

  /**
   * Votes, as this validator, for one change of the set (validators.add / validators.remove).
   * Resolves at commit with { applied, votes, needed, epoch }: the change applies when 2f+1
   * members of the current set voted for it, and the 'epoch' event follows. A vote committed
   * after the set moved on fails (FAILED_PRECONDITION) instead of counting in the next epoch.
   * A node not in the set it knows is refused at once (PERMISSION_DENIED).
   */
  changeValidators(change: ValidatorChange, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<SubmitResult> {
    const epoch = this.info().epoch;
    if (change?.add) {
      const v = change.add;
      return this.submit('validators.add', {
        id: v.id, blsPublicKey: toBytes(v.blsPublicKey, 'blsPublicKey'), blsPop: toBytes(v.blsPop, 'blsPop'), epoch,
      }, opts);
    }
    if (typeof change?.remove === 'string') return this.submit('validators.remove', { id: change.remove, epoch }, opts);
    return Promise.reject(new NitroError('INVALID_ARGUMENT', 'changeValidators expects { add: validator } or { remove: id }'));
  }

  close(): void {
    this.offProtocol();
    for (const p of [...this.pending.values()]) p.reject(new NitroError('CANCELLED', 'chain closed'));
    for (const q of this.queued.splice(0)) q.reject(new NitroError('CANCELLED', 'chain closed'));
    this.closeEvents('chain');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  // The outcomes of this node's ops in one block: ids are 32 bytes each, in the order of ok/results.
  private settle(height: number, ids: Uint8Array, ok: boolean[], results: NitroValue[]): void {
    for (let i = 0; i < ok.length; i++) {
      const p = this.pending.get(idKey(ids.subarray(32 * i, 32 * i + 32)));
      if (!p) continue;
      if (ok[i]) {
        p.resolve({ height, result: results[i] });
      } else {
        const [code, message] = results[i] as [ErrorCode, string];
        p.reject(errorFor(code, message));
      }
    }
  }

  private onEvent(bytes: Uint8Array): void {
    const ev = codec.decode(bytes) as Record<string, NitroValue>;
    if (ev.type === 'commit') {
      const c: CommitEvent = {
        height: ev.height as number, view: ev.view as number, hash: ev.hash as Uint8Array, txs: ev.txs as number,
        stateRoot: ev.state_root as Uint8Array, timeMs: ev.time_ms as number,
      };
      this.emit('commit', c);
    } else if (ev.type === 'txs') {
      this.settle(ev.height as number, ev.ids as Uint8Array, ev.ok as boolean[], ev.results as NitroValue[]);
    } else if (ev.type === 'epoch') {
      this.emit('epoch', { epoch: ev.epoch as number, height: ev.height as number, validators: this.validators() });
    } else if (ev.type === 'halted') {
      this.haltedReason = ev.reason as string;
      for (const p of [...this.pending.values()]) p.reject(new NitroError('FAILED_PRECONDITION', this.haltedReason));
    }
  }
}

export function openChain(node: NitroNode, options: ConsensusOptions): Chain {
  return new Chain(node, options);
}
