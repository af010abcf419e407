// Node identity: an Ed25519 key pair (libsodium). A peer is named by its public key (PeerId).
//
// Contract: deterministic and sans-IO. The core never draws randomness: a key pair comes from a
// caller-supplied 32-byte seed (libsodium's randombytes in production, a seeded stream in
// simulation), and a sealed export takes its salt/nonce entropy as an argument too. Secret bytes
// are wiped (sodium_memzero) when an Identity is destroyed. No function throws; bad input comes
// back as a Status (kInvalidArgument, kDecodeError, kUnauthenticated for a wrong passphrase).
//
// Text form of a PeerId: 52 characters of RFC 4648 base32, lowercase, no padding; parse() accepts
// only that canonical form, so to_string(parse(s)) == s for every accepted s.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "nitro/status.h"
#include "nitro/value.h"

namespace nitro::crypto {

inline constexpr std::size_t kPeerIdBytes = 32;     // Ed25519 public key
inline constexpr std::size_t kSeedBytes = 32;       // Ed25519 seed / injected entropy
inline constexpr std::size_t kSignatureBytes = 64;  // Ed25519 signature
inline constexpr std::size_t kPeerIdTextChars = 52; // base32 of 32 bytes, unpadded

using Seed = std::array<std::uint8_t, kSeedBytes>;
using Signature = std::array<std::uint8_t, kSignatureBytes>;

class PeerId {
 public:
  PeerId() = default;  // all zero: not a valid key; never produced by an Identity
  explicit PeerId(const std::array<std::uint8_t, kPeerIdBytes>& key) : key_(key) {}

  // Exactly 32 bytes, else kInvalidArgument. (Curve validity is checked by verify().)
  static Result<PeerId> from_bytes(std::span<const std::uint8_t> bytes);
  // Canonical base32 text (see header comment), else kInvalidArgument.
  static Result<PeerId> parse(std::string_view text);

  const std::array<std::uint8_t, kPeerIdBytes>& bytes() const { return key_; }
  std::string to_string() const;        // 52 chars, stable
  std::string short_string() const;     // first 10 chars of to_string(), for logs and UIs

  // Ed25519 verification of `signature` over `message` by this key.
  bool verify(std::span<const std::uint8_t> message, std::span<const std::uint8_t> signature) const;

  // Byte-wise order (explicit: Emscripten 3.1.6's libc++ has no operator<=> for std::array).
  friend bool operator==(const PeerId& a, const PeerId& b) { return a.key_ == b.key_; }
  friend bool operator!=(const PeerId& a, const PeerId& b) { return a.key_ != b.key_; }
  friend bool operator<(const PeerId& a, const PeerId& b) { return a.key_ < b.key_; }
  friend bool operator>(const PeerId& a, const PeerId& b) { return b.key_ < a.key_; }
  friend bool operator<=(const PeerId& a, const PeerId& b) { return !(b.key_ < a.key_); }
  friend bool operator>=(const PeerId& a, const PeerId& b) { return !(a.key_ < b.key_); }

 private:
  std::array<std::uint8_t, kPeerIdBytes> key_{};
};

// Cost limits for the passphrase-sealed export (argon2id via crypto_pwhash).
struct PwhashParams {
  std::uint32_t ops = 2;                  // crypto_pwhash_OPSLIMIT_INTERACTIVE
  std::uint32_t mem_kib = 64u * 1024u;    // crypto_pwhash_MEMLIMIT_INTERACTIVE (64 MiB)
};
// import_sealed refuses blobs demanding more than this (a hostile blob cannot make us burn
// unbounded memory or time).
inline constexpr PwhashParams kPwhashParamsMax{4, 256u * 1024u};

class Identity {
 public:
  static Identity from_seed(const Seed& seed);

  const PeerId& peer_id() const { return peer_id_; }
  Signature sign(std::span<const std::uint8_t> message) const;

  // Raw export: the 32-byte seed (secret!). import_seed accepts exactly 32 bytes.
  Bytes export_seed() const;
  static Result<Identity> import_seed(std::span<const std::uint8_t> seed);

  // Passphrase-sealed export for storage: argon2id(passphrase, salt) -> key, then
  // XChaCha20-Poly1305 over the seed with the header as associated data. `entropy` (32 fresh random
  // bytes) derives the salt and nonce. Layout (100 bytes):
  //   "NSK1" | ops u32 LE | mem_kib u32 LE | salt[16] | nonce[24] | sealed seed[32 + 16 tag]
  Result<Bytes> export_sealed(std::string_view passphrase, const Seed& entropy,
                              const PwhashParams& params = {}) const;
  // kDecodeError for a malformed blob, kResourceExhausted for costs above kPwhashParamsMax,
  // kUnauthenticated for a wrong passphrase or a tampered blob.
  static Result<Identity> import_sealed(std::span<const std::uint8_t> sealed, std::string_view passphrase);

  // X25519 key pair derived from the Ed25519 one (crypto_sign_ed25519_*_to_curve25519); used by
  // SecureLink as the Noise static key. Computed once, in from_seed.
  const std::array<std::uint8_t, 32>& x25519_public() const { return x25519_public_; }
  const std::array<std::uint8_t, 32>& x25519_secret() const { return x25519_secret_; }

  Identity(const Identity& other);
  Identity& operator=(const Identity& other);
  ~Identity();

 private:
  Identity() = default;
  Seed seed_{};
  std::array<std::uint8_t, 64> secret_key_{};  // libsodium's seed||pk form
  std::array<std::uint8_t, 32> x25519_secret_{};
  std::array<std::uint8_t, 32> x25519_public_{};
  PeerId peer_id_;
};

}  // namespace nitro::crypto

namespace nitro {
using crypto::PeerId;  // the id every protocol uses to name a node
}  // namespace nitro
