// Signed updates. An envelope is 0x11 || public key (32) || Ed25519 signature (64) || a
// plain update; the signature covers a domain tag and the plain update. All items in a signed
// update must belong to the client derived from the key, so an item's author is its client.
#include <sodium.h>

#include <cstring>

#include "crdt/auth.h"
#include "crdt/wire.h"

namespace nitro::crdt {

namespace {
constexpr char kDomain[] = "nitro-crdt-v1";
constexpr std::size_t kDomainLen = sizeof(kDomain) - 1;

// Natively sodium_init() picks the fastest implementations; in wasm it is skipped (its
// randombytes stir looks for a JS RNG, and signing/verifying/hashing need none).
void ensure_sodium() {
#ifndef __EMSCRIPTEN__
  static const int ready = sodium_init();
  (void)ready;
#endif
}

Bytes signed_message(std::span<const std::uint8_t> body) {
  Bytes msg(kDomain, kDomain + kDomainLen);
  msg.insert(msg.end(), body.begin(), body.end());
  return msg;
}
}  // namespace

ClientId client_id_from_public_key(std::span<const std::uint8_t, 32> public_key) {
  ensure_sodium();
  std::uint8_t h[8];
  crypto_generichash(h, sizeof h, public_key.data(), public_key.size(), nullptr, 0);
  std::uint64_t id = 0;
  for (int i = 7; i >= 0; --i) id = (id << 8) | h[i];
  return id & kClientIdMax;
}

namespace detail {

Bytes sign_envelope(const DocState& d, const Bytes& body) {
  ensure_sodium();
  Bytes out{header(Frame::kSigned)};
  const auto& pk = d.signer->peer_id().bytes();
  out.insert(out.end(), pk.begin(), pk.end());
  const crypto::Signature sig = d.signer->sign(signed_message(body));
  out.insert(out.end(), sig.begin(), sig.end());
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Result<Opened> open_envelope(std::span<const std::uint8_t> bytes) {
  ensure_sodium();
  constexpr std::size_t kHeader = 1 + crypto_sign_PUBLICKEYBYTES + crypto_sign_BYTES;
  if (bytes.size() < kHeader + 1 || bytes[0] != header(Frame::kSigned)) {
    return decode_error("crdt: malformed signed update");
  }
  Opened o;
  std::memcpy(o.public_key.data(), bytes.data() + 1, 32);
  o.body = bytes.subspan(kHeader);
  Bytes msg = signed_message(o.body);
  if (crypto_sign_verify_detached(bytes.data() + 1 + 32, msg.data(), msg.size(), o.public_key.data()) != 0) {
    return unauthenticated("crdt: bad signature on update");
  }
  o.client = client_id_from_public_key(o.public_key);
  return o;
}

bool writer_allowed(const DocState& d, std::span<const std::uint8_t, 32> public_key) {
  if (d.writers.empty()) return true;
  for (const auto& w : d.writers) {
    if (std::equal(w.begin(), w.end(), public_key.begin())) return true;
  }
  return false;
}

Status local_write_allowed(const DocState& d) {
  if (d.writers.empty()) return {};
  if (!d.signer) return permission_denied("crdt: this document accepts only signed writes");
  if (!writer_allowed(d, d.signer->peer_id().bytes())) {
    return permission_denied("crdt: the signer is not an allowed writer of this document");
  }
  return {};
}

}  // namespace detail
}  // namespace nitro::crdt
