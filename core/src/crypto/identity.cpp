// Ed25519 identities and peer ids. See nitro/identity.h for the contract.
#include "nitro/identity.h"

#include <sodium.h>

#include <cstring>

#include "crypto/sodium_init.h"

namespace nitro::crypto {
namespace {

constexpr char kBase32Alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
static_assert(kPeerIdTextChars == (kPeerIdBytes * 8 + 4) / 5);

int base32_value(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

}  // namespace

Result<PeerId> PeerId::from_bytes(std::span<const std::uint8_t> bytes) {
  if (bytes.size() != kPeerIdBytes) return invalid_argument("peer id must be 32 bytes");
  std::array<std::uint8_t, kPeerIdBytes> key{};
  std::memcpy(key.data(), bytes.data(), kPeerIdBytes);
  return PeerId(key);
}

std::string PeerId::to_string() const {
  std::string out;
  out.reserve(kPeerIdTextChars);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::uint8_t byte : key_) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kBase32Alphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kBase32Alphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

std::string PeerId::short_string() const { return to_string().substr(0, 10); }

Result<PeerId> PeerId::parse(std::string_view text) {
  if (text.size() != kPeerIdTextChars) return invalid_argument("peer id text must be 52 base32 characters");
  std::array<std::uint8_t, kPeerIdBytes> key{};
  std::uint32_t buffer = 0;
  int bits = 0;
  std::size_t n = 0;
  for (char c : text) {
    int v = base32_value(c);
    if (v < 0) return invalid_argument("peer id text: not lowercase base32");
    buffer = (buffer << 5) | static_cast<std::uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      key[n++] = static_cast<std::uint8_t>(buffer >> (bits - 8));
      bits -= 8;
    }
  }
  // 52 chars carry 260 bits: the 4 unused low bits must be zero (one text per key).
  if (n != kPeerIdBytes || bits != 4 || (buffer & 15) != 0) return invalid_argument("peer id text: not canonical");
  return PeerId(key);
}

bool PeerId::verify(std::span<const std::uint8_t> message, std::span<const std::uint8_t> signature) const {
  detail::ensure_sodium();
  if (signature.size() != kSignatureBytes) return false;
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(), key_.data()) == 0;
}

Identity Identity::from_seed(const Seed& seed) {
  detail::ensure_sodium();
  Identity id;
  id.seed_ = seed;
  std::array<std::uint8_t, kPeerIdBytes> pk{};
  crypto_sign_seed_keypair(pk.data(), id.secret_key_.data(), seed.data());
  id.peer_id_ = PeerId(pk);
  // Cannot fail for a key produced by crypto_sign_seed_keypair.
  int rc = crypto_sign_ed25519_pk_to_curve25519(id.x25519_public_.data(), pk.data());
  assert(rc == 0);
  (void)rc;
  crypto_sign_ed25519_sk_to_curve25519(id.x25519_secret_.data(), id.secret_key_.data());
  return id;
}

Signature Identity::sign(std::span<const std::uint8_t> message) const {
  Signature sig{};
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), secret_key_.data());
  return sig;
}

Bytes Identity::export_seed() const { return Bytes(seed_.begin(), seed_.end()); }

Result<Identity> Identity::import_seed(std::span<const std::uint8_t> seed) {
  if (seed.size() != kSeedBytes) return invalid_argument("identity seed must be 32 bytes");
  Seed s{};
  std::memcpy(s.data(), seed.data(), kSeedBytes);
  Identity id = from_seed(s);
  sodium_memzero(s.data(), s.size());
  return id;
}

Identity::Identity(const Identity& other) = default;
Identity& Identity::operator=(const Identity& other) = default;

Identity::~Identity() {
  sodium_memzero(seed_.data(), seed_.size());
  sodium_memzero(secret_key_.data(), secret_key_.size());
  sodium_memzero(x25519_secret_.data(), x25519_secret_.size());
}

}  // namespace nitro::crypto
