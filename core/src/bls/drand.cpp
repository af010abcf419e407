// drand beacon verification (schemes of drand's crypto/schemes.go) and beacon-derived tokens.
#include <sodium.h>

#include <cstring>
#include <string>

#include "bls/curve.h"
#include "nitro/bls.h"

namespace nitro::bls {
namespace {

struct SchemeInfo {
  Scheme scheme;
  std::string_view id;
  Suite suite;
  bool chained;
};

constexpr SchemeInfo kSchemes[] = {
    {Scheme::kPedersenBlsChained, "pedersen-bls-chained", kMinPkBasic, true},
    {Scheme::kPedersenBlsUnchained, "pedersen-bls-unchained", kMinPkBasic, false},
    {Scheme::kBlsUnchainedOnG1, "bls-unchained-on-g1", Suite{Group::kG1, kDstG2Basic}, false},
    {Scheme::kBlsUnchainedG1Rfc9380, "bls-unchained-g1-rfc9380", kMinSigBasic, false},
};

const SchemeInfo& info(Scheme s) {
  for (const auto& i : kSchemes) {
    if (i.scheme == s) return i;
  }
  return kSchemes[0];  // unreachable for valid enum values
}

std::array<std::uint8_t, 8> round_be8(std::uint64_t round) {
  std::array<std::uint8_t, 8> out{};
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(round >> (8 * (7 - i)));
  return out;
}

}  // namespace

Result<Scheme> parse_scheme(std::string_view id) {
  for (const auto& i : kSchemes) {
    if (i.id == id) return i.scheme;
  }
  return invalid_argument("unknown beacon scheme '" + std::string(id.substr(0, 64)) + "'");
}

std::string_view scheme_id(Scheme scheme) { return info(scheme).id; }
Suite scheme_suite(Scheme scheme) { return info(scheme).suite; }
bool scheme_chained(Scheme scheme) { return info(scheme).chained; }

std::array<std::uint8_t, kDigestBytes> beacon_message(Scheme scheme, std::uint64_t round, ByteSpan prev_sig) {
  auto r = round_be8(round);
  if (scheme_chained(scheme)) return detail::sha256({prev_sig, r});
  return detail::sha256({r});
}

std::array<std::uint8_t, kDigestBytes> beacon_randomness(ByteSpan signature) { return detail::sha256({signature}); }

Result<BeaconCheck> verify_beacon(Scheme scheme, ByteSpan pk, std::uint64_t round, ByteSpan sig, ByteSpan prev_sig) {
  auto key = PublicKey::decode(scheme_suite(scheme).pk_group(), pk);
  if (!key.ok()) return key.status();
  return verify_beacon(scheme, *key, round, sig, prev_sig);
}

Result<BeaconCheck> verify_beacon(Scheme scheme, const PublicKey& pk, std::uint64_t round, ByteSpan sig,
                                  ByteSpan prev_sig) {
  if (scheme_chained(scheme) && prev_sig.empty()) {
    return invalid_argument("scheme " + std::string(scheme_id(scheme)) + " needs the previous signature");
  }
  if (prev_sig.size() > kG2Bytes) return invalid_argument("previous signature longer than 96 bytes");
  auto msg = beacon_message(scheme, round, prev_sig);
  auto ok = verify(scheme_suite(scheme), pk, msg, sig);
  if (!ok.ok()) return ok.status();
  BeaconCheck out;
  out.valid = *ok;
  out.randomness = beacon_randomness(sig);
  return out;
}

Result<std::array<std::uint8_t, kDigestBytes>> token(ByteSpan randomness, std::uint64_t round, std::string_view label) {
  if (randomness.size() != kDigestBytes) return invalid_argument("token: randomness must be 32 bytes");
  if (label.size() > kTokenLabelBytesMax) return invalid_argument("token: label longer than 1024 bytes");
  static constexpr std::string_view kSalt = "nitro-beacon-token-v1";
  std::uint8_t prk[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;  // HKDF-Extract(salt, IKM = randomness)
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const std::uint8_t*>(kSalt.data()), kSalt.size());
  crypto_auth_hmacsha256_update(&st, randomness.data(), randomness.size());
  crypto_auth_hmacsha256_final(&st, prk);
  auto r = round_be8(round);  // HKDF-Expand(PRK, info = round_be8 || label), first block T(1)
  const std::uint8_t counter = 1;
  crypto_auth_hmacsha256_init(&st, prk, sizeof prk);
  crypto_auth_hmacsha256_update(&st, r.data(), r.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const std::uint8_t*>(label.data()), label.size());
  crypto_auth_hmacsha256_update(&st, &counter, 1);
  std::array<std::uint8_t, kDigestBytes> out{};
  crypto_auth_hmacsha256_final(&st, out.data());
  sodium_memzero(prk, sizeof prk);
  return out;
}

}  // namespace nitro::bls
