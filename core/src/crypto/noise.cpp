#include "crypto/noise.h"

#include <sodium.h>

#include <cstring>

#include "crypto/sodium_init.h"

namespace nitro::crypto::noise {
namespace {

constexpr std::string_view kProtocolName = "Noise_XX_25519_ChaChaPoly_SHA256";

void hmac(const Key& key, std::span<const std::uint8_t> a, std::span<const std::uint8_t> b, Key& out) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, key.data(), key.size());
  crypto_auth_hmacsha256_update(&st, a.data(), a.size());
  crypto_auth_hmacsha256_update(&st, b.data(), b.size());
  crypto_auth_hmacsha256_final(&st, out.data());
  sodium_memzero(&st, sizeof st);
}

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

KeyPair KeyPair::from_secret(const Key& secret) {
  detail::ensure_sodium();
  KeyPair kp;
  kp.sec = secret;
  crypto_scalarmult_base(kp.pub.data(), kp.sec.data());
  return kp;
}

void nonce_bytes(std::uint64_t n, std::uint8_t out[12]) {
  std::memset(out, 0, 4);
  for (int i = 0; i < 8; ++i) out[4 + i] = static_cast<std::uint8_t>(n >> (8 * i));
}

void seal(const Key& k, std::uint64_t n, std::span<const std::uint8_t> ad, std::span<const std::uint8_t> pt,
          std::uint8_t* out) {
  std::uint8_t nonce[12];
  nonce_bytes(n, nonce);
  crypto_aead_chacha20poly1305_ietf_encrypt(out, nullptr, pt.data(), pt.size(), ad.data(), ad.size(), nullptr, nonce,
                                            k.data());
}

bool open(const Key& k, std::uint64_t n, std::span<const std::uint8_t> ad, std::span<const std::uint8_t> ct,
          std::uint8_t* out) {
  if (ct.size() < kTagBytes) return false;
  std::uint8_t nonce[12];
  nonce_bytes(n, nonce);
  return crypto_aead_chacha20poly1305_ietf_decrypt(out, nullptr, nullptr, ct.data(), ct.size(), ad.data(), ad.size(),
                                                   nonce, k.data()) == 0;
}

void rekey(Key& k) {
  const std::array<std::uint8_t, kKeyBytes> zeros{};
  std::array<std::uint8_t, kKeyBytes + kTagBytes> out{};
  seal(k, UINT64_MAX, {}, zeros, out.data());
  std::memcpy(k.data(), out.data(), kKeyBytes);
  sodium_memzero(out.data(), out.size());
}

void hkdf2(const Key& ck, std::span<const std::uint8_t> ikm, Key& out1, Key& out2) {
  Key temp{};
  hmac(ck, ikm, {}, temp);
  const std::uint8_t one = 1, two = 2;
  hmac(temp, std::span(&one, 1), {}, out1);
  hmac(temp, out1, std::span(&two, 1), out2);
  sodium_memzero(temp.data(), temp.size());
}

SymmetricState::SymmetricState(std::span<const std::uint8_t> protocol_name) {
  detail::ensure_sodium();
  if (protocol_name.size() <= h_.size()) {
    std::memcpy(h_.data(), protocol_name.data(), protocol_name.size());
  } else {
    crypto_hash_sha256(h_.data(), protocol_name.data(), protocol_name.size());
  }
  ck_ = h_;
}

void SymmetricState::mix_hash(std::span<const std::uint8_t> data) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, h_.data(), h_.size());
  crypto_hash_sha256_update(&st, data.data(), data.size());
  crypto_hash_sha256_final(&st, h_.data());
}

void SymmetricState::mix_key(std::span<const std::uint8_t> ikm) {
  Key new_ck{};
  hkdf2(ck_, ikm, new_ck, k_);  // HASHLEN 32 == key size: no truncation
  ck_ = new_ck;
  sodium_memzero(new_ck.data(), new_ck.size());
  has_key_ = true;
  n_ = 0;
}

void SymmetricState::encrypt_and_hash(std::span<const std::uint8_t> pt, Bytes& out) {
  const std::size_t start = out.size();
  if (!has_key_) {
    out.insert(out.end(), pt.begin(), pt.end());
  } else {
    out.resize(start + pt.size() + kTagBytes);
    seal(k_, n_++, h_, pt, out.data() + start);
  }
  mix_hash(std::span(out).subspan(start));
}

bool SymmetricState::decrypt_and_hash(std::span<const std::uint8_t> ct, std::uint8_t* out) {
  if (!has_key_) {
    if (!ct.empty()) std::memcpy(out, ct.data(), ct.size());
  } else if (!open(k_, n_++, h_, ct, out)) {
    return false;
  }
  mix_hash(ct);
  return true;
}

void SymmetricState::split(Key& k1, Key& k2) const { hkdf2(ck_, {}, k1, k2); }

void SymmetricState::wipe() {
  sodium_memzero(ck_.data(), ck_.size());
  sodium_memzero(k_.data(), k_.size());
  has_key_ = false;
}

XXHandshake::XXHandshake(bool initiator, const KeyPair& s, const KeyPair& e, std::span<const std::uint8_t> prologue)
    : initiator_(initiator), ss_(as_bytes(kProtocolName)), s_(s), e_(e) {
  ss_.mix_hash(prologue);
}

void XXHandshake::wipe() {
  ss_.wipe();
  sodium_memzero(s_.sec.data(), s_.sec.size());
  sodium_memzero(e_.sec.data(), e_.sec.size());
}

bool XXHandshake::dh(const Key& sec, const Key& pub, Key& out) const {
  // libsodium refuses (returns -1) when the result is all zero: a small-order public key.
  return crypto_scalarmult(out.data(), sec.data(), pub.data()) == 0;
}

Status XXHandshake::mix_dh(const Key& sec, const Key& pub) {
  Key shared{};
  bool ok = dh(sec, pub, shared);
  if (ok) ss_.mix_key(shared);
  sodium_memzero(shared.data(), shared.size());
  return ok ? Status{} : unauthenticated("handshake: low-order public key");
}

Status XXHandshake::read_payload(std::span<const std::uint8_t> ct, Bytes& payload) {
  assert(ct.size() >= kTagBytes);
  payload.assign(ct.size() - kTagBytes, 0);
  if (!ss_.decrypt_and_hash(ct, payload.data())) return unauthenticated("handshake: payload authentication failed");
  return {};
}

void XXHandshake::write_msg1(Bytes& out) {
  assert(initiator_);
  out.insert(out.end(), e_.pub.begin(), e_.pub.end());
  ss_.mix_hash(e_.pub);
  ss_.encrypt_and_hash({}, out);  // empty payload, still hashed
}

Status XXHandshake::read_msg1(std::span<const std::uint8_t> msg) {
  assert(!initiator_);
  if (msg.size() != kMsg1Bytes) return decode_error("handshake msg1: wrong length");
  std::memcpy(re_.data(), msg.data(), 32);
  ss_.mix_hash(re_);
  std::uint8_t none = 0;
  bool ok = ss_.decrypt_and_hash({}, &none);  // no key yet: hashes the empty payload
  assert(ok);
  (void)ok;
  return {};
}

Status XXHandshake::write_msg2(std::span<const std::uint8_t> payload, Bytes& out) {
  assert(!initiator_);
  out.insert(out.end(), e_.pub.begin(), e_.pub.end());
  ss_.mix_hash(e_.pub);
  NITRO_TRY(mix_dh(e_.sec, re_));  // fails for a low-order initiator ephemeral
  ss_.encrypt_and_hash(s_.pub, out);
  NITRO_TRY(mix_dh(s_.sec, re_));
  ss_.encrypt_and_hash(payload, out);
  return {};
}

Status XXHandshake::read_msg2(std::span<const std::uint8_t> msg, Bytes& payload) {
  assert(initiator_);
  if (msg.size() < kMsg2Bytes + kTagBytes) return decode_error("handshake msg2: too short");
  std::memcpy(re_.data(), msg.data(), 32);
  ss_.mix_hash(re_);
  NITRO_TRY(mix_dh(e_.sec, re_));
  if (!ss_.decrypt_and_hash(msg.subspan(32, 48), rs_.data())) return unauthenticated("handshake msg2: static key");
  NITRO_TRY(mix_dh(e_.sec, rs_));
  return read_payload(msg.subspan(kMsg2Bytes), payload);
}

void XXHandshake::write_msg3(std::span<const std::uint8_t> payload, Bytes& out) {
  assert(initiator_);
  ss_.encrypt_and_hash(s_.pub, out);
  Status se = mix_dh(s_.sec, re_);
  assert(se.ok());  // re_ passed mix_dh(e, re) in read_msg2
  (void)se;
  ss_.encrypt_and_hash(payload, out);
}

Status XXHandshake::read_msg3(std::span<const std::uint8_t> msg, Bytes& payload) {
  assert(!initiator_);
  if (msg.size() < kMsg3Bytes + kTagBytes) return decode_error("handshake msg3: too short");
  if (!ss_.decrypt_and_hash(msg.subspan(0, 48), rs_.data())) return unauthenticated("handshake msg3: static key");
  NITRO_TRY(mix_dh(e_.sec, rs_));
  return read_payload(msg.subspan(kMsg3Bytes), payload);
}

}  // namespace nitro::crypto::noise
