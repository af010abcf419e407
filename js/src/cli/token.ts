// `nitro token keygen | issue | delegate | inspect | revoke`: capability tokens offline.
//   keygen                                  -> {"seed":"<hex>","peerId":"..."}
//   issue    --key <seed hex> --subject <peer id> --grant <op>:<pattern>... [--role R]... [--ttl-ms N]
//            [--not-before-ms T] [--expires-ms T]                       -> the token (base64url)
//   delegate --key <seed hex> --parent <token> (same options)           -> the delegated token
//   inspect  <token> [--authority <peer id>]... [--bundle <token>]...   -> JSON (and the chain check)
//   revoke   --key <seed hex> <token | token id hex>                    -> the revocation record
// Exit codes: 0 done (inspect: the chain verifies, when authorities are given), 1 it does not, 2 bad input.
import { NitroError } from '../errors.js';
import { Identity } from '../crypto.js';
import { issueToken, delegateToken, inspectToken, verifyToken, revocationRecord, type AuthOp, type TokenGrant } from '../auth.js';

const usage = `usage: nitro token keygen
       nitro token issue --key <seed hex> --subject <peer id> --grant <op>:<pattern>... [--role R]... [--ttl-ms N] [--not-before-ms T] [--expires-ms T]
       nitro token delegate --key <seed hex> --parent <token> --subject <peer id> --grant <op>:<pattern>... [same options]
       nitro token inspect <token> [--authority <peer id>]... [--bundle <token>]...
       nitro token revoke --key <seed hex> <token | token id hex>`;

const repeated = new Set(['grant', 'role', 'authority', 'bundle']);
const known = new Set(['key', 'subject', 'grant', 'role', 'ttl-ms', 'not-before-ms', 'expires-ms', 'parent', 'authority', 'bundle']);

interface Parsed { opts: Map<string, string[]>; args: string[] }

function parse(argv: string[]): Parsed {
  const opts = new Map<string, string[]>();
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) { args.push(arg); continue; }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    if (!known.has(name)) throw new NitroError('INVALID_ARGUMENT', `unknown option --${name}`);
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new NitroError('INVALID_ARGUMENT', `--${name} needs a value`);
    if (!repeated.has(name) && opts.has(name)) throw new NitroError('INVALID_ARGUMENT', `--${name} given twice`);
    opts.set(name, [...(opts.get(name) ?? []), value]);
  }
  return { opts, args };
}

function one(p: Parsed, name: string): string | undefined { return p.opts.get(name)?.[0]; }
function need(p: Parsed, name: string): string {
  const v = one(p, name);
  if (v === undefined) throw new NitroError('INVALID_ARGUMENT', `missing --${name}`);
  return v;
}
function num(p: Parsed, name: string): number | undefined {
  const v = one(p, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new NitroError('INVALID_ARGUMENT', `--${name} must be a non-negative integer`);
  return n;
}

function seedOf(hex: string): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new NitroError('INVALID_ARGUMENT', '--key must be 64 hex digits (a 32-byte seed)');
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}
const encode = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
function decode(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(text)) throw new NitroError('INVALID_ARGUMENT', 'a token is base64url text');
  return Uint8Array.from(Buffer.from(text, 'base64url'));
}

function grants(p: Parsed): TokenGrant[] {
  const list = p.opts.get('grant') ?? [];
  if (list.length === 0) throw new NitroError('INVALID_ARGUMENT', 'at least one --grant <op>:<pattern>');
  return list.map((g) => {
    const colon = g.indexOf(':');
    if (colon <= 0) throw new NitroError('INVALID_ARGUMENT', `--grant ${g}: expected <op>:<pattern>`);
    return { op: g.slice(0, colon) as AuthOp, resource: g.slice(colon + 1) };
  });
}

function issueOptions(p: Parsed) {
  return {
    subject: need(p, 'subject'), grants: grants(p), roles: p.opts.get('role') ?? [],
    ttlMs: num(p, 'ttl-ms'), notBeforeMs: num(p, 'not-before-ms'), expiresMs: num(p, 'expires-ms'),
  };
}

function run(op: string, p: Parsed): number {
  switch (op) {
    case 'keygen': {
      const id = Identity.generate();
      try {
        console.log(JSON.stringify({ seed: Buffer.from(id.exportSeed()).toString('hex'), peerId: id.peerId }));
      } finally {
        id.dispose();
      }
      return 0;
    }
    case 'issue':
      console.log(encode(issueToken(seedOf(need(p, 'key')), issueOptions(p))));
      return 0;
    case 'delegate':
      console.log(encode(delegateToken(seedOf(need(p, 'key')), decode(need(p, 'parent')), issueOptions(p))));
      return 0;
    case 'inspect': {
      if (p.args.length !== 1) throw new NitroError('INVALID_ARGUMENT', 'inspect takes one token');
      const token = decode(p.args[0]!);
      const info: Record<string, unknown> = { ...inspectToken(token) };
      const authorities = p.opts.get('authority') ?? [];
      if (authorities.length === 0) {
        console.log(JSON.stringify(info));
        return 0;
      }
      const verdict = verifyToken(token, { authorities, bundle: (p.opts.get('bundle') ?? []).map(decode) });
      console.log(JSON.stringify({ ...info, verified: verdict }));
      return verdict.ok ? 0 : 1;
    }
    case 'revoke': {
      if (p.args.length !== 1) throw new NitroError('INVALID_ARGUMENT', 'revoke takes one token or token id');
      const target = /^[0-9a-f]{64}$/.test(p.args[0]!) ? p.args[0]! : decode(p.args[0]!);
      console.log(encode(revocationRecord(seedOf(need(p, 'key')), target)));
      return 0;
    }
    default:
      console.error(usage);
      return 2;
  }
}

export async function tokenCommand(argv: string[]): Promise<number> {
  const [op, ...rest] = argv;
  try {
    return run(op ?? '', parse(rest));
  } catch (e) {
    if (!(e instanceof NitroError)) throw e;
    console.error(`nitro token: ${e.code}: ${e.message}`);
    return 2;
  }
}
