// Verifying a 3-link capability chain (authority -> alice -> bob -> carol), offline, as a node does
// when a peer presents its tokens: Nitro's core in wasm (decode, canonical check, 3 Ed25519
// verifications, linkage and attenuation) next to a UCAN-style chain of three EdDSA JWTs verified
// in JavaScript with @noble/curves (base64url + JSON decode, 3 verifications, issuer/audience
// linkage, capability containment), and 3 bare Ed25519 verifications with libsodium-wrappers as
// the floor any such chain pays.
import { createRequire } from 'node:module';
import { ed25519 } from '@noble/curves/ed25519.js';
import * as nitro from '../js/dist/node.js';
import { performance } from 'node:perf_hooks';
import { median, table, formatNumber } from './lib.mjs';

const { init, Identity, issueToken, delegateToken, verifyToken } = nitro;
const sodium = createRequire(import.meta.url)('libsodium-wrappers');

function seedOf(fill) {
  return Uint8Array.from({ length: 32 }, (_, i) => (fill + i * 7) & 255);
}

function nitroChain() {
  const ids = [1, 2, 3, 4].map((n) => Identity.fromSeed(seedOf(n)));
  const hour = 3600_000;
  const t1 = issueToken(ids[0].exportSeed(), { subject: ids[1].peerId, ttlMs: hour,
    grants: [{ op: 'rpc', resource: 'Greeter.*' }, { op: 'publish', resource: 'orders.>' }] });
  const t2 = delegateToken(ids[1].exportSeed(), t1, { subject: ids[2].peerId, grants: [{ op: 'rpc', resource: 'Greeter.*' }] });
  const t3 = delegateToken(ids[2].exportSeed(), t2, { subject: ids[3].peerId, grants: [{ op: 'rpc', resource: 'Greeter.Hello' }] });
  const authority = ids[0].peerId;
  for (const id of ids) id.dispose();
  return { leaf: t3, bundle: [t1, t2], authorities: [authority] };
}

// ---- a UCAN-style chain: JWTs { iss, aud, att: [{ with, can }], exp, prf: [jwt] } signed EdDSA ----
const enc = new TextEncoder();
const dec = new TextDecoder();
const b64u = (bytes) => Buffer.from(bytes).toString('base64url');
const did = (pk) => 'did:key:z' + Buffer.from(pk).toString('base64url');
const pkOf = (d) => Uint8Array.from(Buffer.from(d.slice(9), 'base64url'));

function jwt(sk, payload) {
  const head = b64u(enc.encode(JSON.stringify({ alg: 'EdDSA', typ: 'JWT', ucv: '0.10.0' })));
  const body = b64u(enc.encode(JSON.stringify(payload)));
  const sig = ed25519.sign(enc.encode(`${head}.${body}`), sk);
  return `${head}.${body}.${b64u(sig)}`;
}

function ucanChain() {
  const sks = [1, 2, 3, 4].map((n) => seedOf(n));
  const dids = sks.map((sk) => did(ed25519.getPublicKey(sk)));
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const t1 = jwt(sks[0], { iss: dids[0], aud: dids[1], exp, att: [{ with: 'rpc:Greeter/*', can: 'rpc/call' }], prf: [] });
  const t2 = jwt(sks[1], { iss: dids[1], aud: dids[2], exp, att: [{ with: 'rpc:Greeter/*', can: 'rpc/call' }], prf: [t1] });
  const t3 = jwt(sks[2], { iss: dids[2], aud: dids[3], exp, att: [{ with: 'rpc:Greeter/Hello', can: 'rpc/call' }], prf: [t2] });
  return { leaf: t3, root: dids[0] };
}

const covers = (p, c) => p.can === c.can && (p.with === c.with || (p.with.endsWith('*') && c.with.startsWith(p.with.slice(0, -1))));

function ucanVerify(token, root, now) {
  const [head, body, sig] = token.split('.');
  const payload = JSON.parse(dec.decode(Buffer.from(body, 'base64url')));
  JSON.parse(dec.decode(Buffer.from(head, 'base64url')));
  if (!ed25519.verify(Buffer.from(sig, 'base64url'), enc.encode(`${head}.${body}`), pkOf(payload.iss))) return false;
  if (payload.exp * 1000 <= now) return false;
  if (payload.prf.length === 0) return payload.iss === root;
  return payload.prf.every((p) => {
    const parent = JSON.parse(dec.decode(Buffer.from(p.split('.')[1], 'base64url')));
    return parent.aud === payload.iss && payload.att.every((c) => parent.att.some((pa) => covers(pa, c))) && ucanVerify(p, root, now);
  });
}

// Median ms per chain over `samples` samples of ~sampleMs each: wall time, and CPU time of this
// process (process.cpuUsage), which a shared, loaded machine distorts far less than wall time.
// A warm-up first, so that timed samples run optimized code.
function perOp(fn, { samples = 9, sampleMs = 300, warmupMs = 300 } = {}) {
  const sample = (ms) => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < ms) {
      fn();
      n++;
    }
    const wall = performance.now() - t0;
    const c = process.cpuUsage(c0);
    return { wall: wall / n, cpu: (c.user + c.system) / 1000 / n };
  };
  sample(warmupMs);
  const runs = Array.from({ length: samples }, () => sample(sampleMs));
  return { wall: median(runs.map((r) => r.wall)), cpu: median(runs.map((r) => r.cpu)) };
}

export async function run() {
  await init();
  await sodium.ready;
  const n = nitroChain();
  const u = ucanChain();
  if (!verifyToken(n.leaf, { bundle: n.bundle, authorities: n.authorities }).ok) throw new Error('nitro chain does not verify');
  if (!ucanVerify(u.leaf, u.root, Date.now())) throw new Error('UCAN-style chain does not verify');
  const pk = ed25519.getPublicKey(seedOf(1));
  const msg = enc.encode('x'.repeat(200));
  const sig = ed25519.sign(msg, seedOf(1));
  const nitroT = perOp(() => verifyToken(n.leaf, { bundle: n.bundle, authorities: n.authorities }));
  const oneT = perOp(() => verifyToken(n.bundle[0], { authorities: n.authorities }));
  const ucanT = perOp(() => ucanVerify(u.leaf, u.root, Date.now()));
  const sodiumT = perOp(() => {
    for (let i = 0; i < 3; i++) sodium.crypto_sign_verify_detached(sig, msg, pk);
  });
  const row = (name, t) => [name, (t.cpu * 1000).toFixed(0), (t.wall * 1000).toFixed(0), formatNumber(1000 / t.cpu)];
  console.log(table(['3-link chain verify (median of 9 samples)', 'µs CPU / chain', 'µs wall / chain', 'chains/s (CPU)'], [
    row('Nitro core (wasm): verifyToken, msgpack tokens', nitroT),
    row('Nitro core (wasm): one root token (1 link), for the per-link cost', oneT),
    row('UCAN-style JWT chain, @noble/curves ed25519 (JS)', ucanT),
    row('3 × Ed25519 verify, libsodium-wrappers (wasm), floor', sodiumT),
  ]));
}
