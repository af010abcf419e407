// BLS12-381 signatures, drand beacon verification, beacon tokens and threshold helpers, all
// computed by the core (blst) in wasm. Keys and signatures are compressed points; every API
// accepts them as hex strings or Uint8Arrays and returns Uint8Arrays (hex for randomness).
import { NitroError, unwrap } from './errors.js';
import { getModule } from './wasm.js';

/** Keys, signatures, seeds: a hex string (optionally 0x-prefixed) or bytes. Messages given to
 * sign/verify are bytes, or a string taken as UTF-8 text (not hex). */
export type BytesLike = string | Uint8Array;

/** drand scheme ids (drand's crypto/schemes.go). */
export type BeaconScheme =
  | 'pedersen-bls-chained'
  | 'pedersen-bls-unchained'
  | 'bls-unchained-on-g1'
  | 'bls-unchained-g1-rfc9380';

export interface BeaconVerifyInput {
  scheme: BeaconScheme | string;
  publicKey: BytesLike;
  round: number | bigint;
  signature: BytesLike;
  /** Required by chained schemes (round 1: the chain's group hash / genesis seed). */
  previousSignature?: BytesLike;
}

export interface BeaconVerifyResult {
  valid: boolean;
  /** sha256(signature), hex. */
  randomness: string;
}

/** Which group signatures live in: 'G2' (public keys on G1, drand default) or 'G1' (quicknet). */
export type SigGroup = 'G1' | 'G2';
export interface SuiteOptions {
  sigGroup?: SigGroup;  // default 'G2'
  /** Proof-of-possession ciphersuite (needed for fastAggregateVerify); default basic (NUL). */
  pop?: boolean;
}

export const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** Hex (optionally 0x-prefixed) or bytes to a Uint8Array; INVALID_ARGUMENT otherwise. */
export function toBytes(x: BytesLike, what = 'value'): Uint8Array {
  if (x instanceof Uint8Array) return x;
  if (typeof x !== 'string') throw new NitroError('INVALID_ARGUMENT', `${what}: expected a hex string or Uint8Array`);
  const hex = x.startsWith('0x') ? x.slice(2) : x;
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new NitroError('INVALID_ARGUMENT', `${what}: not a hex string`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function toRound(round: number | bigint, what = 'round'): number {
  const n = typeof round === 'bigint' ? Number(round) : round;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new NitroError('INVALID_ARGUMENT', `${what}: expected a non-negative safe integer`);
  }
  return n;
}

const groupId = (g: SigGroup | undefined): number => {
  if (g === undefined || g === 'G2') return 2;
  if (g === 'G1') return 1;
  throw new NitroError('INVALID_ARGUMENT', `sigGroup must be 'G1' or 'G2'`);
};
const otherGroupId = (g: SigGroup | undefined): number => (groupId(g) === 1 ? 2 : 1);
const str = (s: string, what: string): string => {
  if (typeof s !== 'string') throw new NitroError('INVALID_ARGUMENT', `${what}: expected a string`);
  return s;
};
const msgBytes = (m: BytesLike | string, what = 'message'): Uint8Array =>
  m instanceof Uint8Array ? m : typeof m === 'string' ? new TextEncoder().encode(m) : toBytes(m, what);

export const Beacon = {
  /**
   * Verifies a drand beacon. Throws NitroError INVALID_ARGUMENT (unknown scheme, bad hex, missing
   * previous signature on a chained scheme) or DECODE_ERROR (wrong length, point not on the curve
   * or not in the subgroup). A well-formed beacon that does not verify gives valid: false.
   */
  verify(input: BeaconVerifyInput): BeaconVerifyResult {
    if (typeof input !== 'object' || input === null) throw new NitroError('INVALID_ARGUMENT', 'Beacon.verify expects an object');
    const res = unwrap<{ valid: boolean; randomness: Uint8Array }>(
      getModule().blsBeaconVerify(
        str(input.scheme, 'scheme'),
        toBytes(input.publicKey, 'publicKey'),
        toRound(input.round),
        toBytes(input.signature, 'signature'),
        input.previousSignature === undefined ? new Uint8Array(0) : toBytes(input.previousSignature, 'previousSignature'),
      ),
    );
    return { valid: res.valid, randomness: toHex(res.randomness) };
  },

  /** The 32-byte digest a round signs: sha256(prev || round_be8) chained, sha256(round_be8) unchained. */
  message(scheme: BeaconScheme | string, round: number | bigint, previousSignature?: BytesLike): Uint8Array {
    const prev = previousSignature === undefined ? new Uint8Array(0) : toBytes(previousSignature, 'previousSignature');
    return unwrap<Uint8Array>(getModule().blsBeaconMessage(str(scheme, 'scheme'), toRound(round), prev));
  },

  /**
   * A token for (round, label) from a verified round's randomness: HKDF-SHA256 with salt
   * "nitro-beacon-token-v1", IKM = randomness, info = round (8 bytes big-endian) || label; 32
   * bytes, hex. Unique per (round, label), unpredictable before the round exists, and anyone
   * holding the verified beacon recomputes it.
   */
  token(randomness: BytesLike, round: number | bigint, label: string): string {
    return toHex(unwrap<Uint8Array>(getModule().blsToken(toBytes(randomness, 'randomness'), toRound(round), str(label, 'label'))));
  },
};

export interface KeyPair { secretKey: Uint8Array; publicKey: Uint8Array }
export interface Share { index: number; secretKey: Uint8Array }
export interface PartialSignature { index: number; signature: Uint8Array }
export interface Dealing { commitments: Uint8Array[]; groupPublicKey: Uint8Array; shares: Share[] }

export const bls = {
  /** KeyGen of the IETF draft from >= 32 bytes of input keying material (no randomness inside). */
  keyGen(ikm: BytesLike, opts: SuiteOptions & { info?: BytesLike } = {}): KeyPair {
    const secretKey = unwrap<Uint8Array>(getModule().blsKeyGen(toBytes(ikm, 'ikm'), opts.info ? toBytes(opts.info, 'info') : new Uint8Array(0)));
    return { secretKey, publicKey: bls.publicKey(secretKey, opts) };
  },
  publicKey(secretKey: BytesLike, opts: SuiteOptions = {}): Uint8Array {
    return unwrap<Uint8Array>(getModule().blsSkToPk(toBytes(secretKey, 'secretKey'), otherGroupId(opts.sigGroup)));
  },
  sign(secretKey: BytesLike, message: BytesLike, opts: SuiteOptions = {}): Uint8Array {
    return unwrap<Uint8Array>(getModule().blsSign(toBytes(secretKey, 'secretKey'), groupId(opts.sigGroup), !!opts.pop, msgBytes(message)));
  },
  verify(publicKey: BytesLike, message: BytesLike, signature: BytesLike, opts: SuiteOptions = {}): boolean {
    return unwrap<boolean>(getModule().blsVerify(groupId(opts.sigGroup), !!opts.pop, toBytes(publicKey, 'publicKey'), msgBytes(message), toBytes(signature, 'signature')));
  },
  /** Sums signatures (group = their group) or public keys (group = the key group). */
  aggregate(points: BytesLike[], group: SigGroup = 'G2'): Uint8Array {
    return unwrap<Uint8Array>(getModule().blsAggregate(groupId(group), points.map((p) => toBytes(p, 'point'))));
  },
  aggregateVerify(publicKeys: BytesLike[], messages: BytesLike[], signature: BytesLike, opts: SuiteOptions = {}): boolean {
    return unwrap<boolean>(getModule().blsAggregateVerify(groupId(opts.sigGroup), !!opts.pop,
      publicKeys.map((p) => toBytes(p, 'publicKey')), messages.map((m) => msgBytes(m)), toBytes(signature, 'signature')));
  },
  /** PoP ciphersuite only: every key signed the same message (keys must have verified PoPs). */
  fastAggregateVerify(publicKeys: BytesLike[], message: BytesLike, signature: BytesLike, opts: { sigGroup?: SigGroup } = {}): boolean {
    return unwrap<boolean>(getModule().blsFastAggregateVerify(groupId(opts.sigGroup),
      publicKeys.map((p) => toBytes(p, 'publicKey')), msgBytes(message), toBytes(signature, 'signature')));
  },
  popProve(secretKey: BytesLike, opts: { sigGroup?: SigGroup } = {}): Uint8Array {
    return unwrap<Uint8Array>(getModule().blsPopProve(toBytes(secretKey, 'secretKey'), groupId(opts.sigGroup)));
  },
  popVerify(publicKey: BytesLike, proof: BytesLike, opts: { sigGroup?: SigGroup } = {}): boolean {
    return unwrap<boolean>(getModule().blsPopVerify(groupId(opts.sigGroup), toBytes(publicKey, 'publicKey'), toBytes(proof, 'proof')));
  },
};

export const threshold = {
  /** Dealer mode: a random polynomial from `seed` (>= 32 bytes), shares 1..n, any t recover. */
  deal(t: number, n: number, seed: BytesLike, opts: { sigGroup?: SigGroup } = {}): Dealing {
    return unwrap<Dealing>(getModule().blsDeal(otherGroupId(opts.sigGroup), t, n, toBytes(seed, 'seed')));
  },
  /** Public key of share `index` from the public polynomial (commitments). */
  publicShare(commitments: BytesLike[], index: number, opts: { sigGroup?: SigGroup } = {}): Uint8Array {
    return unwrap<Uint8Array>(getModule().blsPublicShare(otherGroupId(opts.sigGroup), commitments.map((c) => toBytes(c, 'commitment')), index));
  },
  partialSign(share: Share, message: BytesLike, opts: SuiteOptions = {}): PartialSignature {
    return { index: share.index, signature: bls.sign(share.secretKey, message, opts) };
  },
  partialVerify(commitments: BytesLike[], partial: PartialSignature, message: BytesLike, opts: SuiteOptions = {}): boolean {
    return unwrap<boolean>(getModule().blsPartialVerify(groupId(opts.sigGroup), !!opts.pop,
      commitments.map((c) => toBytes(c, 'commitment')), partial.index, toBytes(partial.signature, 'signature'), msgBytes(message)));
  },
  /** Lagrange recovery from the first t partials given; identical whichever t are used. */
  recover(partials: PartialSignature[], t: number, opts: { sigGroup?: SigGroup } = {}): Uint8Array {
    return unwrap<Uint8Array>(getModule().blsRecover(groupId(opts.sigGroup),
      partials.map((p) => ({ index: p.index, signature: toBytes(p.signature, 'signature') })), t));
  },
};
