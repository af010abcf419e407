// Noise_XX_25519_ChaChaPoly_SHA256 handshake (Noise rev 34), the part of SecureLink that is pure
// cryptography: no framing, no queues. Internal to the crypto module; tests drive it directly.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "nitro/status.h"
#include "nitro/value.h"

namespace nitro::crypto::noise {

inline constexpr std::size_t kKeyBytes = 32;
inline constexpr std::size_t kTagBytes = 16;
using Key = std::array<std::uint8_t, kKeyBytes>;

struct KeyPair {
  Key pub{};
  Key sec{};
  static KeyPair from_secret(const Key& secret);  // X25519: pub = secret * G (clamped)
};

// One direction of a ChaCha20-Poly1305 (IETF) cipher with Noise's nonce: 32 zero bits then the
// 64-bit counter little-endian.
void nonce_bytes(std::uint64_t n, std::uint8_t out[12]);
// out must have room for pt.size() + 16.
void seal(const Key& k, std::uint64_t n, std::span<const std::uint8_t> ad, std::span<const std::uint8_t> pt,
          std::uint8_t* out);
// out must have room for ct.size() - 16; false if the tag does not verify (out then unspecified).
bool open(const Key& k, std::uint64_t n, std::span<const std::uint8_t> ad, std::span<const std::uint8_t> ct,
          std::uint8_t* out);

// Noise REKEY(k): the first 32 bytes of ENCRYPT(k, 2^64-1, "", 32 zero bytes). In place.
void rekey(Key& k);

class SymmetricState {
 public:
  explicit SymmetricState(std::span<const std::uint8_t> protocol_name);
  void mix_hash(std::span<const std::uint8_t> data);
  void mix_key(std::span<const std::uint8_t> ikm);
  void encrypt_and_hash(std::span<const std::uint8_t> pt, Bytes& out);  // appends
  bool decrypt_and_hash(std::span<const std::uint8_t> ct, std::uint8_t* out);
  void split(Key& k1, Key& k2) const;
  const Key& h() const { return h_; }
  void wipe();

 private:
  Key ck_{};
  Key h_{};
  Key k_{};
  bool has_key_ = false;
  std::uint64_t n_ = 0;
};

// HKDF per Noise section 4.3 with HMAC-SHA256, two outputs.
void hkdf2(const Key& ck, std::span<const std::uint8_t> ikm, Key& out1, Key& out2);

// The XX pattern for one side:  -> e   <- e, ee, s, es   -> s, se
class XXHandshake {
 public:
  static constexpr std::size_t kMsg1Bytes = 32;
  static constexpr std::size_t kMsg2Bytes = 32 + 48;  // plus payload + 16
  static constexpr std::size_t kMsg3Bytes = 48;       // plus payload + 16

  XXHandshake(bool initiator, const KeyPair& s, const KeyPair& e, std::span<const std::uint8_t> prologue);
  ~XXHandshake() { wipe(); }

  // Each write appends the Noise message (no framing) to out; payload is encrypted where a key exists.
  void write_msg1(Bytes& out);
  Status read_msg1(std::span<const std::uint8_t> msg);
  Status write_msg2(std::span<const std::uint8_t> payload, Bytes& out);
  Status read_msg2(std::span<const std::uint8_t> msg, Bytes& payload);
  void write_msg3(std::span<const std::uint8_t> payload, Bytes& out);
  Status read_msg3(std::span<const std::uint8_t> msg, Bytes& payload);

  const Key& remote_static() const { return rs_; }
  const Key& handshake_hash() const { return ss_.h(); }
  // Transport keys: (initiator->responder, responder->initiator).
  void split(Key& i2r, Key& r2i) const { ss_.split(i2r, r2i); }
  void wipe();

 private:
  bool dh(const Key& sec, const Key& pub, Key& out) const;
  Status mix_dh(const Key& sec, const Key& pub);
  Status read_payload(std::span<const std::uint8_t> ct, Bytes& payload);

  [[maybe_unused]] bool initiator_;  // checked by asserts
  SymmetricState ss_;
  KeyPair s_;
  KeyPair e_;
  Key re_{};
  Key rs_{};
};

}  // namespace nitro::crypto::noise
