// Crypto throughput: SecureLink handshakes/s and transport seal/open MB/s for Nitro's core in wasm
// (through embind) and natively (build/native/crypto_bench), next to libsodium-wrappers (its own
// wasm build of libsodium) doing the same primitive operations in the same Node process.
//
// What one Nitro handshake costs (Noise_XX_25519_ChaChaPoly_SHA256, both sides together):
//   2 X25519 ephemeral keygens, 6 X25519 DH (ee, es, se on each side), 2 Ed25519->X25519 public
//   key conversions (each side checks the peer's identity key against the proven static key; an
//   Identity converts its own keys once, at creation), 4 AEAD seals + 4 opens of <= 48 bytes,
//   plus SHA-256/HMAC transcript hashing (~30 SHA-256 compressions).
// libsodium-wrappers' standard build has no SHA-256/HMAC, so its row does every operation above
// except the transcript hashing. A second row shows a signature-based alternative
// (X25519 + Ed25519 sign/verify per side) for scale.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import * as nitro from '../js/dist/node.js';
import { median, opsPerSecond, table } from './lib.mjs';

const { init, Identity, SecureLink } = nitro;
// libsodium-wrappers' ESM entry points at a file its package does not ship; its CJS build works.
const sodium = createRequire(import.meta.url)('libsodium-wrappers');

const SAMPLES = 7;

/** Median items/second where each sample prepares `make()` untimed, then times `consume(items)`. */
function batchRate(make, consume) {
  const rates = [];
  for (let i = 0; i < SAMPLES + 1; i++) {
    const items = make();
    const start = performance.now();
    consume(items);
    if (i > 0) rates.push((items.length * 1000) / (performance.now() - start));  // first = warm-up
  }
  return median(rates);
}

function nativeResults() {
  const exe = new URL('../build/native/crypto_bench', import.meta.url).pathname;
  if (!existsSync(exe)) return null;
  return execFileSync(exe).toString().trim().split('\n').map((l) => JSON.parse(l));
}

function seedOf(fill) {
  return Uint8Array.from({ length: 32 }, (_, i) => (fill + i * 7) & 255);
}

function wasmHandshake(a, b, seeds) {
  let k = 0;
  return () => {
    const i = SecureLink.initiator(a, { ephemeralSeed: seeds[k++ & 255] });
    const r = SecureLink.responder(b, { ephemeralSeed: seeds[k++ & 255] });
    r.handle(i.pollTransmit());
    i.handle(r.pollTransmit());
    r.handle(i.pollTransmit());
    if (i.state !== 'established' || r.state !== 'established') throw new Error('handshake failed');
    i.dispose();
    r.dispose();
  };
}

// The primitive operations of one Nitro handshake, on libsodium-wrappers.
function sodiumNoiseOps() {
  const ka = sodium.crypto_sign_seed_keypair(seedOf(1));
  const kb = sodium.crypto_sign_seed_keypair(seedOf(2));
  const key = sodium.crypto_aead_chacha20poly1305_ietf_keygen();
  const nonce = new Uint8Array(12);
  const ad = new Uint8Array(32);
  const pt = new Uint8Array(32);
  const sa = sodium.crypto_sign_ed25519_sk_to_curve25519(ka.privateKey);  // once per identity
  const sb = sodium.crypto_sign_ed25519_sk_to_curve25519(kb.privateKey);
  const pa = sodium.crypto_sign_ed25519_pk_to_curve25519(ka.publicKey);
  const pb = sodium.crypto_sign_ed25519_pk_to_curve25519(kb.publicKey);
  return () => {
    const ea = sodium.crypto_box_keypair();  // X25519 keygen (random scalar + base mult)
    const eb = sodium.crypto_box_keypair();
    sodium.crypto_scalarmult(eb.privateKey, ea.publicKey);  // responder: ee, es
    sodium.crypto_scalarmult(sb, ea.publicKey);
    sodium.crypto_scalarmult(ea.privateKey, eb.publicKey);  // initiator: ee, es, se
    sodium.crypto_scalarmult(ea.privateKey, pb);
    sodium.crypto_scalarmult(sa, eb.publicKey);
    sodium.crypto_scalarmult(eb.privateKey, pa);  // responder: se
    sodium.crypto_sign_ed25519_pk_to_curve25519(ka.publicKey);  // each side checks the peer's identity
    sodium.crypto_sign_ed25519_pk_to_curve25519(kb.publicKey);
    for (let i = 0; i < 4; i++) {
      const ct = sodium.crypto_aead_chacha20poly1305_ietf_encrypt(pt, ad, null, nonce, key);
      sodium.crypto_aead_chacha20poly1305_ietf_decrypt(null, ct, ad, nonce, key);
    }
  };
}

// A signature-based handshake's primitives: X25519 ephemerals + Ed25519 sign/verify on each side.
function sodiumSignOps() {
  const ka = sodium.crypto_sign_seed_keypair(seedOf(1));
  const kb = sodium.crypto_sign_seed_keypair(seedOf(2));
  return () => {
    const ea = sodium.crypto_box_keypair();
    const eb = sodium.crypto_box_keypair();
    sodium.crypto_scalarmult(ea.privateKey, eb.publicKey);
    sodium.crypto_scalarmult(eb.privateKey, ea.publicKey);
    const transcript = new Uint8Array(64);
    transcript.set(ea.publicKey, 0);
    transcript.set(eb.publicKey, 32);
    const siga = sodium.crypto_sign_detached(transcript, ka.privateKey);
    const sigb = sodium.crypto_sign_detached(transcript, kb.privateKey);
    sodium.crypto_sign_verify_detached(siga, transcript, ka.publicKey);
    sodium.crypto_sign_verify_detached(sigb, transcript, kb.publicKey);
  };
}

function establishedPair(a, b) {
  const i = SecureLink.initiator(a, { ephemeralSeed: seedOf(10) });
  const r = SecureLink.responder(b, { ephemeralSeed: seedOf(20) });
  r.handle(i.pollTransmit());
  i.handle(r.pollTransmit());
  r.handle(i.pollTransmit());
  while (i.pollEvent());
  while (r.pollEvent());
  return { i, r };
}

function throughput(a, b, bytes) {
  const msg = new Uint8Array(bytes).fill(0x5a);
  const batch = bytes <= 1024 ? 20000 : 400;
  const { i, r } = establishedPair(a, b);
  const wasmSeal = opsPerSecond(() => { i.send(msg); i.pollTransmit(); });
  const wasmOpen = batchRate(
    () => Array.from({ length: batch }, () => { i.send(msg); return i.pollTransmit(); }),
    (frames) => { for (const f of frames) { r.handle(f); r.pollEvent(); } });
  i.dispose();
  r.dispose();

  const key = sodium.crypto_aead_chacha20poly1305_ietf_keygen();
  const header = new Uint8Array(9);
  const nonce = new Uint8Array(12);
  let counter = 0;
  const sodiumSeal = opsPerSecond(() => {
    new DataView(nonce.buffer).setUint32(4, counter++, true);
    sodium.crypto_aead_chacha20poly1305_ietf_encrypt(msg, header, null, nonce, key);
  });
  const sodiumOpen = batchRate(
    () => Array.from({ length: batch }, () => sodium.crypto_aead_chacha20poly1305_ietf_encrypt(msg, header, null, nonce, key)),
    (cts) => { for (const ct of cts) sodium.crypto_aead_chacha20poly1305_ietf_decrypt(null, ct, header, nonce, key); });
  const mb = (perS) => (perS * bytes) / 1e6;
  return { wasm: [mb(wasmSeal), mb(wasmOpen)], sodium: [mb(sodiumSeal), mb(sodiumOpen)] };
}

export async function run() {
  await init();
  await sodium.ready;
  const a = Identity.fromSeed(seedOf(1));
  const b = Identity.fromSeed(seedOf(2));
  const seeds = Array.from({ length: 256 }, (_, k) => seedOf(k));
  const native = nativeResults();

  const hs = [
    ['nitro wasm: SecureLink handshake (both sides, full state machine)', opsPerSecond(wasmHandshake(a, b, seeds))],
    ['libsodium-wrappers: same primitives as nitro\'s Noise XX (no SHA-256 hashing)', opsPerSecond(sodiumNoiseOps())],
    ['libsodium-wrappers: X25519 + Ed25519 sign/verify per side (for scale)', opsPerSecond(sodiumSignOps())],
  ];
  const nativeHs = native?.find((x) => x.op === 'handshake');
  if (nativeHs) hs.splice(1, 0, ['nitro native: SecureLink handshake (C++, same code)', nativeHs.per_s]);
  console.log(table(['implementation', 'handshakes/s'], hs));
  console.error('crypto: handshakes done');

  const rows = [];
  for (const bytes of [1024, 65536]) {
    const t = throughput(a, b, bytes);
    const label = bytes === 1024 ? '1 KiB' : '64 KiB';
    rows.push([label, 'nitro wasm: SecureLink.send / handle', ...t.wasm]);
    const ns = native?.find((x) => x.op === 'seal' && x.bytes === bytes);
    const no = native?.find((x) => x.op === 'open' && x.bytes === bytes);
    if (ns && no) rows.push([label, 'nitro native: SecureLink send / handle', ns.mb_per_s, no.mb_per_s]);
    rows.push([label, 'libsodium-wrappers: chacha20poly1305_ietf encrypt / decrypt', ...t.sodium]);
    console.error(`crypto: ${label} done`);
  }
  console.log('\n' + table(['message', 'implementation', 'sealed MB/s', 'opened MB/s'], rows));
  console.log(`\nMedians of ${SAMPLES} samples (~200 ms each, or one pre-sealed batch per sample for "opened").` +
    ' Nitro rows include framing, the replay window and copies across the wasm boundary;' +
    ' libsodium-wrappers rows are the bare AEAD call.' + (native ? '' : ' (build/native/crypto_bench not built: no native rows)'));
  a.dispose();
  b.dispose();
}

// Allow `node bench/crypto.mjs` directly.
if (import.meta.url === `file://${process.argv[1]}`) await run(process.argv.slice(2));
