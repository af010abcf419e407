// Access control: capability tokens any node verifies offline, revocations spread by gossip, and
// per-node allow/deny rules. The token format, chains, revocation and the rule engine are in the
// core (core/include/nitro/auth.h); this module converts values and gives them an idiomatic API.
//
//   const root = Identity.generate();                       // a trusted authority's key
//   const t = issueToken(root.seed, { subject: alice.id, grants: [{ op: 'rpc', resource: 'Greeter.*' }], ttlMs: 3600e3 });
//   const d = delegateToken(aliceSeed, t, { subject: bob.id, grants: [{ op: 'rpc', resource: 'Greeter.Hello' }] });
//   createNode({ auth: { authorities: [root.peerId], rules: 'deny rpc Admin.> any', tokens: [t, d] } });
//
// Rules: one per line, `allow|deny <op|*> <pattern> <any|grant|peer:<id>|role:<role>>`; a deny wins;
// with no matching rule the default decides (open without rules or authorities, closed otherwise).
import { NitroError, PermissionDeniedError, unwrap } from './errors.js';
import { blsUsable, getModule } from './wasm.js';
import { randomBytes } from './random.js';
import type { NodeCore } from './host/core.js';

/** An operation class a grant or rule names. */
export type AuthOp = 'rpc' | 'publish' | 'subscribe' | 'doc.write' | 'chain.submit' | 'sync' | '*';

export interface TokenGrant { op: AuthOp; resource: string }

export interface AuthOptions {
  /** Peer ids (public keys) whose root tokens this node trusts. */
  authorities?: string[];
  /** Rules, one per line (or one per entry). */
  rules?: string | string[];
  /** With no matching rule: 'allow' or 'deny'. Default: allow without rules and authorities, deny otherwise. */
  default?: 'allow' | 'deny';
  /** This node's tokens and their ancestors, presented once per link. */
  tokens?: Uint8Array[];
}

export interface IssueTokenOptions {
  /** The peer id the token is for. */
  subject: string;
  grants: TokenGrant[];
  roles?: string[];
  /** Unix epoch ms; default now (for a delegation: the parent's not-before if later). */
  notBeforeMs?: number;
  /** Unix epoch ms; or ttlMs from notBeforeMs. Default one hour (a delegation: the parent's expiry). */
  expiresMs?: number;
  ttlMs?: number;
}

export interface TokenInfo {
  id: string; issuer: string; subject: string; grants: TokenGrant[]; roles: string[];
  notBeforeMs: number; expiresMs: number; nonce: string; proofs: string[];
}

export interface VerifyResult { ok: boolean; reason: string; tokens: string[] }

export interface AuthStats {
  allowed: number; denied: number; tokensAccepted: number; tokensRefused: number; revocations: number;
  /** Revocation records a chain this node runs handed over (committed op auth.revoke). */
  committedRevocations: number;
  /** Denials per deciding rule ("rule 2", "default"). */
  deniedBy: Record<string, number>;
  /** Refused tokens per reason ("forged", "expired", "revoked", "delegated token widens its parent"...). */
  refusedTokens: Record<string, number>;
}

const kHourMs = 3600_000;
const kNonceBytes = 16;

function checkSeed(seed: Uint8Array, what: string): void {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new NitroError('INVALID_ARGUMENT', `${what} must be a 32-byte seed`);
}

function issue(seed: Uint8Array, options: IssueTokenOptions, proofs: string[], parent?: TokenInfo): Uint8Array {
  checkSeed(seed, 'issuer');
  const notBeforeMs = options.notBeforeMs ?? Math.max(Date.now() - 1000, parent?.notBeforeMs ?? 0);
  const expiresMs = options.expiresMs ?? (options.ttlMs !== undefined ? notBeforeMs + options.ttlMs
    : parent ? parent.expiresMs : notBeforeMs + kHourMs);
  return unwrap<Uint8Array>(getModule().tokenIssue(seed, {
    subject: options.subject, grants: options.grants, roles: options.roles ?? [],
    notBeforeMs, expiresMs, nonce: randomBytes(kNonceBytes), proofs,
  }));
}

/** A root token signed by `issuerSeed` (an authority's key). */
export function issueToken(issuerSeed: Uint8Array, options: IssueTokenOptions): Uint8Array {
  return issue(issuerSeed, options, []);
}

/**
 * A token delegated by the holder of `parent` (its subject, `holderSeed`) to `options.subject`. It may
 * only narrow: verifiers refuse a delegation that widens a grant, a role or the time window.
 */
export function delegateToken(holderSeed: Uint8Array, parent: Uint8Array, options: IssueTokenOptions): Uint8Array {
  const p = inspectToken(parent);
  return issue(holderSeed, options, [p.id], p);
}

/** Decodes a token and checks its signature (DECODE_ERROR / UNAUTHENTICATED otherwise). */
export function inspectToken(token: Uint8Array): TokenInfo {
  return unwrap<TokenInfo>(getModule().tokenInspect(token));
}

/** Verifies `token`'s chain offline: its ancestors in `bundle`, roots among `authorities`, at `nowMs`. */
export function verifyToken(token: Uint8Array, options: { bundle?: Uint8Array[]; authorities: string[]; nowMs?: number; revocations?: Uint8Array[] }): VerifyResult {
  return unwrap<VerifyResult>(getModule().tokenVerify(token, options.bundle ?? [], options.authorities,
    options.nowMs ?? Date.now(), options.revocations ?? []));
}

/** A revocation record for `token` (bytes or id hex), signed by `revokerSeed` (an issuer in its chain). */
export function revocationRecord(revokerSeed: Uint8Array, token: Uint8Array | string, atMs = Date.now()): Uint8Array {
  checkSeed(revokerSeed, 'revoker');
  const id = typeof token === 'string' ? token : inspectToken(token).id;
  return unwrap<Uint8Array>(getModule().tokenRevocation(revokerSeed, id, atMs));
}

export function inspectRevocation(record: Uint8Array): { token: string; revoker: string; atMs: number } {
  return unwrap(getModule().revocationInspect(record));
}

/** The RPC metadata key a call names its token under (what `CallOptions.authToken` sets). */
export const TOKEN_METADATA_KEY = 'nitro-token';

/**
 * A reference to one of this node's tokens, as calls and document writes carry it: the token's id
 * (hex). Accepts the token's bytes or its id; INVALID_ARGUMENT for anything else.
 */
export function tokenRef(token: Uint8Array | string): string {
  if (typeof token === 'string') {
    if (!/^[0-9a-fA-F]{64}$/.test(token)) throw new NitroError('INVALID_ARGUMENT', 'token: a token (bytes) or its id (64 hex digits)');
    return token.toLowerCase();
  }
  if (!(token instanceof Uint8Array)) throw new NitroError('INVALID_ARGUMENT', 'token: a token (bytes) or its id (64 hex digits)');
  return inspectToken(token).id;
}

/** Parses rules (throws INVALID_ARGUMENT naming the line); returns them normalized. */
export function checkRules(rules: string | string[]): string[] {
  return unwrap<string[]>(getModule().rulesCheck(Array.isArray(rules) ? rules.join('\n') : rules));
}

// The node-side surface, over the core's "auth" protocol. A node attaches the protocol only when
// it is configured (createNode's auth/access/tokens) or first changed here: without it every
// operation is allowed, and its code stays out of the wasm a page loads first (nitro-bls.wasm).
interface AuthHost {
  readonly core: NodeCore;
  run<T>(fn: (core: NodeCore, nowMs: number) => T): T;
}

/** Where `revoke` also commits the record: a chain this node runs (node.consensus(...)). */
interface RevocationChain {
  submit(op: string, args: { record: Uint8Array; tokens: Uint8Array[] }, opts?: { timeoutMs?: number }): Promise<unknown>;
}

const kNoStats: AuthStats = {
  allowed: 0, denied: 0, tokensAccepted: 0, tokensRefused: 0, revocations: 0, committedRevocations: 0, deniedBy: {}, refusedTokens: {},
};
const attachedTo = new WeakSet<NodeCore>();

/** Whether `core` runs the access-control protocol (the host asks before reading its counters). */
export function authAttached(core: NodeCore): boolean {
  return attachedTo.has(core);
}

export class NodeAuth {
  constructor(private readonly node: AuthHost) {}

  /**
   * Throws PermissionDeniedError (naming the deciding rule) unless `peer` may do `op` on `resource`;
   * with `authToken`, decided with exactly that token of the peer's, as a call or write naming it is.
   */
  check(peer: string, op: AuthOp, resource: string, options: { authToken?: Uint8Array | string } = {}): void {
    if (!attachedTo.has(this.node.core)) return;  // no access control: everything is allowed
    const ref = options.authToken === undefined ? '' : tokenRef(options.authToken);
    unwrap(this.node.run((core) => getModule().authAuthorize(core, peer, op, resource, ref)));
  }

  allowed(peer: string, op: AuthOp, resource: string, options: { authToken?: Uint8Array | string } = {}): boolean {
    try {
      this.check(peer, op, resource, options);
      return true;
    } catch (e) {
      if (e instanceof PermissionDeniedError) return false;
      throw e;
    }
  }

  /**
   * Applies a revocation record here and spreads it by gossip to every node. With `chain`, also
   * commits it there (op `auth.revoke`; `tokens` = the revoked token and its ancestors, which the
   * chain checks the revoker against): every replica honours it, including nodes that were down
   * during the gossip and catch up later. A bad record throws at once; the promise resolves when
   * the chain committed it (at once without a chain) and rejects with the chain's refusal.
   */
  revoke(record: Uint8Array, options: { chain?: RevocationChain; tokens?: Uint8Array[]; timeoutMs?: number } = {}): Promise<void> {
    if (options.chain && !options.tokens?.length) {
      throw new NitroError('INVALID_ARGUMENT', 'revoke on a chain needs tokens: the revoked token and its ancestors');
    }
    this.attached();
    unwrap(this.node.run((core) => getModule().authRevoke(core, record)));
    if (!options.chain) return Promise.resolve();
    return options.chain.submit('auth.revoke', { record, tokens: options.tokens ?? [] }, { timeoutMs: options.timeoutMs }).then(() => undefined);
  }

  /** Replaces this node's tokens and presents them again to every linked peer. */
  setTokens(tokens: Uint8Array[]): void {
    this.attached();
    unwrap(this.node.run((core) => getModule().authSetTokens(core, tokens)));
  }

  setRules(rules: string | string[]): void {
    this.attached();
    unwrap(this.node.run((core) => getModule().authSetRules(core, Array.isArray(rules) ? rules.join('\n') : rules)));
  }

  stats(): AuthStats {
    if (!attachedTo.has(this.node.core)) return structuredClone(kNoStats);
    return getModule().authStats(this.node.core) as AuthStats;
  }

  // First change on a node created without access control: attach it now, open as before.
  private attached(): void {
    if (attachedTo.has(this.node.core)) return;
    if (!blsUsable()) {
      throw new NitroError('FAILED_PRECONDITION',
        'access control is loaded with nitro-bls.wasm: `await loadBls()` first, or give createNode auth options');
    }
    attachProtocol(this.node, {});
  }
}

function attachProtocol(node: AuthHost, options: AuthOptions): void {
  const rules = options.rules === undefined ? undefined : Array.isArray(options.rules) ? options.rules.join('\n') : options.rules;
  if (options.default !== undefined && options.default !== 'allow' && options.default !== 'deny') {
    throw new NitroError('INVALID_ARGUMENT', "auth.default must be 'allow' or 'deny'");
  }
  const epochOffsetMs = Date.now() - Math.floor(performance.now());
  unwrap(node.run((core) => getModule().authAttach(core, {
    authorities: options.authorities ?? [], rules, tokens: options.tokens ?? [], epochOffsetMs,
    defaultAllow: options.default === undefined ? undefined : options.default === 'allow',
  })));
  attachedTo.add(node.core);
}

/**
 * Gives a node its `auth` surface (createNode does this), attaching access control before the node
 * starts when `options` configure any; else on the first setRules/setTokens/revoke. Token times are
 * epoch ms; the core runs on the host's monotonic clock, so the offset between the two is injected
 * once. In browsers, configured access control needs `await loadBls()` first (createNode does it).
 */
export function attachAuth<N extends AuthHost>(node: N, options: AuthOptions = {}): N & { auth: NodeAuth } {
  if (authConfigured(options)) attachProtocol(node, options);
  return Object.assign(node, { auth: new NodeAuth(node) });
}

/** Whether `options` ask for access control (authorities, rules, a default or tokens). */
export function authConfigured(options: AuthOptions): boolean {
  const rules = Array.isArray(options.rules) ? options.rules.join('') : options.rules ?? '';
  return (options.authorities?.length ?? 0) > 0 || rules.trim() !== '' || options.default !== undefined || (options.tokens?.length ?? 0) > 0;
}
