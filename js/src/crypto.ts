// Identities, secure links and signed envelopes over the core's libsodium code (see
// core/include/nitro/{identity,link,envelope}.h for the protocol contracts).
//
// Entropy: the core never draws randomness. This module supplies it from random.ts
// (`globalThis.crypto.getRandomValues`: Node 18+, browsers, workers) unless the caller passes seeds,
// which tests and simulations do to get reproducible runs.
//
// Wasm objects: `Identity` and `SecureLink` own memory inside the wasm heap. Call `dispose()` when
// done; a FinalizationRegistry frees forgotten ones eventually.
import { NitroError, unwrap } from './errors.js';
import { randomBytes } from './random.js';
import { getModule } from './wasm.js';

/** A peer id: the 52-character base32 text of an Ed25519 public key. */
export type PeerIdText = string;

/** Cost of the passphrase hash (argon2id) for sealed exports. Defaults: 2 passes over 64 MiB. */
export interface PwhashParams {
  ops?: number;
  memKib?: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Core = any;

const registry = new FinalizationRegistry<Core>((core) => {
  try { core.delete(); } catch { /* already deleted */ }
});

const randomSeed = (): Uint8Array => randomBytes(32);

function checkBytes(name: string, x: unknown): Uint8Array {
  if (!(x instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
  return x;
}

/** Helpers for peer ids. */
export const peerId = {
  /** The Ed25519 public key behind a peer id; throws INVALID_ARGUMENT for a malformed id. */
  toBytes(id: PeerIdText): Uint8Array {
    return unwrap<Uint8Array>(getModule().peerIdParse(id));
  },
  /** The peer id of a 32-byte Ed25519 public key. */
  fromBytes(publicKey: Uint8Array): PeerIdText {
    return unwrap<string>(getModule().peerIdFromBytes(checkBytes('publicKey', publicKey)));
  },
  /** True if `signature` is a valid Ed25519 signature of `message` by `id`. */
  verify(id: PeerIdText, message: Uint8Array, signature: Uint8Array): boolean {
    return getModule().peerIdVerify(id, checkBytes('message', message), checkBytes('signature', signature)) as boolean;
  },
};

/** A node identity: an Ed25519 key pair. Its peer id is the public key's text form. */
export class Identity {
  /** @internal */
  readonly core: Core;

  private constructor(core: Core) {
    this.core = core;
    registry.register(this, core, this);
  }

  /** A new random identity. */
  static generate(): Identity {
    return Identity.fromSeed(randomSeed());
  }

  /** The identity for a 32-byte seed (deterministic). */
  static fromSeed(seed: Uint8Array): Identity {
    return new Identity(unwrap(getModule().identityFromSeed(checkBytes('seed', seed))));
  }

  /**
   * Opens a sealed export. Throws UNAUTHENTICATED for a wrong passphrase, DECODE_ERROR for garbage.
   * Browsers and workers: after `await loadBls()` (argon2 ships in nitro-bls.wasm).
   */
  static importSealed(sealed: Uint8Array, passphrase: string): Identity {
    return new Identity(unwrap(getModule().identityImportSealed(checkBytes('sealed', sealed), passphrase)));
  }

  get peerId(): PeerIdText {
    return this.core.peerId() as string;
  }

  get publicKey(): Uint8Array {
    return this.core.publicKey() as Uint8Array;
  }

  /** A 64-byte Ed25519 signature. */
  sign(message: Uint8Array): Uint8Array {
    return this.core.sign(checkBytes('message', message)) as Uint8Array;
  }

  verify(message: Uint8Array, signature: Uint8Array): boolean {
    return peerId.verify(this.peerId, message, signature);
  }

  /** The raw 32-byte seed. Secret: store it only somewhere safe, or use exportSealed. */
  exportSeed(): Uint8Array {
    return this.core.exportSeed() as Uint8Array;
  }

  /**
   * A 100-byte blob for storage: argon2id(passphrase) + XChaCha20-Poly1305 over the seed.
   * Browsers and workers: after `await loadBls()` (argon2 ships in nitro-bls.wasm).
   */
  exportSealed(passphrase: string, params: PwhashParams = {}): Uint8Array {
    return unwrap<Uint8Array>(getModule().identityExportSealed(this.core, passphrase, randomSeed(), params.ops ?? 2, params.memKib ?? 65536));
  }

  /** Frees the key inside the wasm heap (it is wiped there). The object is unusable afterwards. */
  dispose(): void {
    registry.unregister(this);
    this.core.delete();
  }
}

export interface LinkLimits {
  plaintextBytesMax?: number;
  transmitQueueMax?: number;
  eventQueueMax?: number;
}

export interface LinkOptions {
  /** Fail the handshake unless the remote proves this identity. */
  expectedPeer?: PeerIdText;
  /** 32 fresh random bytes for the ephemeral key (default: from crypto.getRandomValues). */
  ephemeralSeed?: Uint8Array;
  limits?: LinkLimits;
}

export type LinkEvent =
  | { type: 'established'; peer: PeerIdText }
  | { type: 'failed'; error: NitroError }
  | { type: 'message'; data: Uint8Array };

export type LinkState = 'handshaking' | 'established' | 'failed';

export interface LinkCounters {
  framesSent: number;
  framesReceived: number;
  plaintextBytesSent: number;
  plaintextBytesReceived: number;
  /** Rejected frames by reason: malformed, oversize, unexpected, auth_failed, replayed, too_old, ... */
  rejected: Record<string, number>;
  rejectedTotal: number;
}

/**
 * A mutually authenticated, encrypted link (Noise XX over X25519, ChaCha20-Poly1305), sans-IO:
 * feed received frames to `handle`, send what `pollTransmit` returns, read `pollEvent`.
 * The transport must keep message boundaries (one frame per message).
 */
export class SecureLink {
  private readonly core: Core;

  private constructor(core: Core) {
    this.core = core;
    registry.register(this, core, this);
  }

  /** The dialing side; its first frame is ready in pollTransmit() at once. */
  static initiator(identity: Identity, options: LinkOptions = {}): SecureLink {
    return SecureLink.create(true, identity, options);
  }

  /** The accepting side. */
  static responder(identity: Identity, options: LinkOptions = {}): SecureLink {
    return SecureLink.create(false, identity, options);
  }

  private static create(initiator: boolean, identity: Identity, options: LinkOptions): SecureLink {
    const seed = options.ephemeralSeed ? checkBytes('ephemeralSeed', options.ephemeralSeed) : randomSeed();
    const core = unwrap(getModule().linkCreate(initiator, identity.core, seed, options.expectedPeer ?? '',
      options.limits ?? {}));
    return new SecureLink(core);
  }

  /**
   * One received frame. Throws a NitroError for a rejected frame: DECODE_ERROR (malformed or
   * oversize), UNAUTHENTICATED (tampered), ALREADY_EXISTS (replayed), OUT_OF_RANGE (too old),
   * PERMISSION_DENIED (not the expected peer), FAILED_PRECONDITION (unexpected or link failed),
   * RESOURCE_EXHAUSTED (drain pollTransmit/pollEvent first). Once established, rejected frames are
   * dropped and counted; the link stays up.
   */
  handle(frame: Uint8Array): void {
    unwrap(this.core.handle(checkBytes('frame', frame)));
  }

  /** Encrypts one message; its frame appears in pollTransmit(). */
  send(data: Uint8Array): void {
    unwrap(this.core.send(checkBytes('data', data)));
  }

  pollTransmit(): Uint8Array | undefined {
    return this.core.pollTransmit() as Uint8Array | undefined;
  }

  pollEvent(): LinkEvent | undefined {
    const e = this.core.pollEvent();
    if (e === undefined) return undefined;
    if (e.type === 'failed') return { type: 'failed', error: captureError(e.error) };
    return e as LinkEvent;
  }

  get state(): LinkState {
    return this.core.state() as LinkState;
  }

  /** The authenticated remote peer, once established. */
  get remotePeer(): PeerIdText | undefined {
    return this.core.remotePeer() as PeerIdText | undefined;
  }

  /** Equal on both ends once established: bind application-level auth to this link with it. */
  get handshakeHash(): Uint8Array {
    return this.core.handshakeHash() as Uint8Array;
  }

  /** Why the last frame was rejected ('none' if none was). */
  get lastError(): string {
    return this.core.lastError() as string;
  }

  counters(): LinkCounters {
    return this.core.counters() as LinkCounters;
  }

  dispose(): void {
    registry.unregister(this);
    this.core.delete();
  }
}

function captureError(value: unknown): NitroError {
  try {
    unwrap(value);
  } catch (e) {
    if (e instanceof NitroError) return e;
  }
  return new NitroError('UNKNOWN', 'link failed');
}

/** A verified signed envelope. */
export interface OpenedEnvelope {
  origin: PeerIdText;
  seq: number;
  timestampMs: number;
  topic: string;
  payload: Uint8Array;
  signature: Uint8Array;
}

export interface EnvelopeFields {
  /** Per-origin sequence number (safe integer); receivers accept each (origin, seq) once. */
  seq: number;
  timestampMs: number;
  topic: string;
  payload: Uint8Array;
}

/** Signed envelopes: verifiable against their origin whoever relays them. */
export const envelope = {
  /** Signs and encodes. Throws INVALID_ARGUMENT for oversize topic/payload or non-integer seq. */
  sign(identity: Identity, fields: EnvelopeFields): Uint8Array {
    return unwrap<Uint8Array>(getModule().envelopeSign(identity.core, fields.seq, fields.timestampMs, fields.topic,
      checkBytes('payload', fields.payload)));
  },
  /** Decodes and verifies. Throws DECODE_ERROR for malformed bytes, UNAUTHENTICATED for a bad signature. */
  open(bytes: Uint8Array): OpenedEnvelope {
    return unwrap<OpenedEnvelope>(getModule().envelopeOpen(checkBytes('bytes', bytes)));
  },
};

export interface ReplayGuardOptions {
  /** Origins tracked at most; the least recently active is forgotten first (default 4096). */
  originsMax?: number;
  /** Envelopes older than this are refused (default 10 minutes). */
  maxAgeMs?: number;
  /** Envelopes stamped further in the future than this are refused (default 1 minute). */
  futureSkewMs?: number;
}

/**
 * Accepts each (origin, seq) once: per origin, the highest seq and a window of the 1024 below it.
 * Use after `envelope.open` (which verifies the signature).
 */
export class ReplayGuard {
  private readonly core: Core;

  constructor(options: ReplayGuardOptions = {}) {
    this.core = new (getModule().ReplayGuardCore)(options.originsMax ?? 4096, options.maxAgeMs ?? 600_000,
      options.futureSkewMs ?? 60_000);
    registry.register(this, this.core, this);
  }

  /**
   * Records the envelope, or throws ALREADY_EXISTS (a replay) or OUT_OF_RANGE (seq below the window,
   * or a timestamp outside [nowMs - maxAgeMs, nowMs + futureSkewMs]).
   */
  accept(env: Pick<OpenedEnvelope, 'origin' | 'seq' | 'timestampMs'>, nowMs: number): void {
    unwrap(this.core.accept(env.origin, env.seq, env.timestampMs, nowMs));
  }

  get origins(): number {
    return this.core.origins() as number;
  }

  dispose(): void {
    registry.unregister(this);
    this.core.delete();
  }
}
