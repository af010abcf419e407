// Passphrase-sealed identity export: argon2id (crypto_pwhash) + XChaCha20-Poly1305.
// Layout: "NSK1" | ops u32 LE | mem_kib u32 LE | salt[16] | nonce[24] | sealed seed[48].
#include <sodium.h>

#include <cstring>

#include "crypto/sodium_init.h"
#include "nitro/identity.h"

namespace nitro::crypto {
namespace {

constexpr std::uint8_t kMagic[4] = {'N', 'S', 'K', '1'};
constexpr std::size_t kSaltBytes = crypto_pwhash_SALTBYTES;
constexpr std::size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kHeaderBytes = 4 + 4 + 4 + kSaltBytes + kNonceBytes;
constexpr std::size_t kSealedBytes = kHeaderBytes + kSeedBytes + crypto_aead_xchacha20poly1305_ietf_ABYTES;
static_assert(kSealedBytes == 100);
static_assert(kSaltBytes == 16 && kNonceBytes == 24);
constexpr std::size_t kPassphraseBytesMax = 4096;

void put_u32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
std::uint32_t get_u32(const std::uint8_t* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(p[i]) << (8 * i);
  return v;
}

Status check_params(const PwhashParams& p) {
  if (p.ops < crypto_pwhash_argon2id_OPSLIMIT_MIN || p.mem_kib * 1024ull < crypto_pwhash_argon2id_MEMLIMIT_MIN) {
    return invalid_argument("pwhash parameters below argon2id minimums");
  }
  if (p.ops > kPwhashParamsMax.ops || p.mem_kib > kPwhashParamsMax.mem_kib) {
    return resource_exhausted("pwhash parameters above the accepted maximum");
  }
  return {};
}

// The 32-byte key from passphrase and salt; false if argon2id could not run (out of memory).
bool derive_key(std::uint8_t key[32], std::string_view passphrase, const std::uint8_t* salt, const PwhashParams& p) {
  return crypto_pwhash(key, 32, passphrase.data(), passphrase.size(), salt, p.ops,
                       static_cast<std::size_t>(p.mem_kib) * 1024u, crypto_pwhash_ALG_ARGON2ID13) == 0;
}

}  // namespace

Result<Bytes> Identity::export_sealed(std::string_view passphrase, const Seed& entropy,
                                      const PwhashParams& params) const {
  detail::ensure_sodium();
  NITRO_TRY(check_params(params));
  if (passphrase.size() > kPassphraseBytesMax) return invalid_argument("passphrase too long");
  Bytes out(kSealedBytes);
  std::memcpy(out.data(), kMagic, 4);
  put_u32(out.data() + 4, params.ops);
  put_u32(out.data() + 8, params.mem_kib);
  // Salt and nonce from the injected entropy, domain-separated by a BLAKE2b key.
  static constexpr char kDomain[] = "nitro-seal-salt+nonce";
  crypto_generichash(out.data() + 12, kSaltBytes + kNonceBytes, entropy.data(), entropy.size(),
                     reinterpret_cast<const std::uint8_t*>(kDomain), sizeof kDomain - 1);
  std::uint8_t key[32];
  if (!derive_key(key, passphrase, out.data() + 12, params)) return resource_exhausted("argon2id failed (memory)");
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + kHeaderBytes, nullptr, seed_.data(), seed_.size(),
                                             out.data(), kHeaderBytes, nullptr, out.data() + 12 + kSaltBytes, key);
  sodium_memzero(key, sizeof key);
  return out;
}

Result<Identity> Identity::import_sealed(std::span<const std::uint8_t> sealed, std::string_view passphrase) {
  detail::ensure_sodium();
  if (sealed.size() != kSealedBytes) return decode_error("sealed identity must be 100 bytes");
  if (std::memcmp(sealed.data(), kMagic, 4) != 0) return decode_error("sealed identity: bad magic");
  if (passphrase.size() > kPassphraseBytesMax) return invalid_argument("passphrase too long");
  PwhashParams params{get_u32(sealed.data() + 4), get_u32(sealed.data() + 8)};
  Status ps = check_params(params);
  if (!ps.ok()) return ps.code() == Code::kInvalidArgument ? decode_error(ps.message()) : ps;
  std::uint8_t key[32];
  if (!derive_key(key, passphrase, sealed.data() + 12, params)) return resource_exhausted("argon2id failed (memory)");
  Seed seed{};
  int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(seed.data(), nullptr, nullptr, sealed.data() + kHeaderBytes,
                                                      sealed.size() - kHeaderBytes, sealed.data(), kHeaderBytes,
                                                      sealed.data() + 12 + kSaltBytes, key);
  sodium_memzero(key, sizeof key);
  if (rc != 0) return unauthenticated("wrong passphrase or tampered sealed identity");
  Identity id = from_seed(seed);
  sodium_memzero(seed.data(), seed.size());
  return id;
}

}  // namespace nitro::crypto
