// BLS signatures on BLS12-381 (blst underneath), per the IETF BLS signature draft ciphersuites
// with RFC 9380 hash-to-curve, plus verification of drand beacons and beacon-derived tokens.
//
// Contract: pure functions, deterministic, no randomness inside (key generation takes injected
// IKM), no clock, no I/O. Points cross this API compressed (ZCash encoding: 48 bytes on G1,
// 96 on G2). Every point decoded from input is checked for length, encoding, curve membership
// and subgroup membership; a failure is a kDecodeError Status, never a crash. "Does not verify"
// is a value (false), distinct from "could not be decoded" (an error).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nitro/status.h"
#include "nitro/value.h"

namespace nitro::bls {

using ByteSpan = std::span<const std::uint8_t>;

inline constexpr std::size_t kSecretKeyBytes = 32;
inline constexpr std::size_t kG1Bytes = 48;  // compressed G1 point
inline constexpr std::size_t kG2Bytes = 96;  // compressed G2 point
inline constexpr std::size_t kDigestBytes = 32;
inline constexpr std::size_t kAggregateCountMax = 1u << 16;  // inputs to one aggregate call
inline constexpr std::size_t kMessageBytesMax = 1u << 20;    // one signed message

enum class Group : std::uint8_t { kG1 = 1, kG2 = 2 };
constexpr Group other_group(Group g) { return g == Group::kG1 ? Group::kG2 : Group::kG1; }
constexpr std::size_t point_bytes(Group g) { return g == Group::kG1 ? kG1Bytes : kG2Bytes; }

// Ciphersuite DSTs (draft-irtf-cfrg-bls-signature, section 4.2).
inline constexpr std::string_view kDstG2Basic = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_";
inline constexpr std::string_view kDstG2Pop = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
inline constexpr std::string_view kDstG2PopProof = "BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
inline constexpr std::string_view kDstG1Basic = "BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_";
inline constexpr std::string_view kDstG1Pop = "BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_POP_";
inline constexpr std::string_view kDstG1PopProof = "BLS_POP_BLS12381G1_XMD:SHA-256_SSWU_RO_POP_";

// A ciphersuite: the group signatures live in (public keys live in the other one) and the
// hash-to-curve domain separation tag.
struct Suite {
  Group sig_group;
  std::string_view dst;
  constexpr Group pk_group() const { return other_group(sig_group); }
};
inline constexpr Suite kMinPkBasic{Group::kG2, kDstG2Basic};   // drand chained/unchained default
inline constexpr Suite kMinPkPop{Group::kG2, kDstG2Pop};
inline constexpr Suite kMinSigBasic{Group::kG1, kDstG1Basic};  // drand quicknet
inline constexpr Suite kMinSigPop{Group::kG1, kDstG1Pop};

// A secret key: a scalar 0 < sk < r, big-endian. Copyable value; wipe is the holder's concern.
class SecretKey {
 public:
  // kDecodeError unless exactly 32 bytes encoding a scalar in [1, r).
  static Result<SecretKey> from_bytes(ByteSpan bytes);
  const std::array<std::uint8_t, kSecretKeyBytes>& bytes() const { return be_; }
  bool operator==(const SecretKey&) const = default;

 private:
  std::array<std::uint8_t, kSecretKeyBytes> be_{};
};

// KeyGen of the draft (HKDF-SHA256 based, salt "BLS-SIG-KEYGEN-SALT-"); IKM must be >= 32 bytes.
Result<SecretKey> key_gen(ByteSpan ikm, ByteSpan key_info = {});
Bytes sk_to_pk(const SecretKey& sk, Group pk_group);
// KeyValidate: decodes and checks a public key (not the identity, in the subgroup).
Status key_validate(Group pk_group, ByteSpan pk);
// Decodes and checks a compressed point; the identity is accepted only when allow_identity.
Status point_validate(Group g, ByteSpan point, bool allow_identity);

namespace detail {
struct KeyState;
}

// A public key decoded and validated once (KeyValidate), holding the pairing precomputation for
// keys on G2 so repeated verifications against it (a beacon chain's key) skip that work.
// Immutable; copies share the state.
class PublicKey {
 public:
  static Result<PublicKey> decode(Group g, ByteSpan bytes);
  Group group() const;
  const Bytes& bytes() const;
  const detail::KeyState& state() const { return *state_; }

 private:
  std::shared_ptr<const detail::KeyState> state_;
};

// A bounded cache of decoded keys (least recently used evicted). Deterministic, single-threaded.
class KeyCache {
 public:
  static constexpr std::size_t kEntriesMax = 8;
  Result<PublicKey> get(Group g, ByteSpan bytes);

 private:
  struct Entry {
    PublicKey key;
    std::uint64_t used = 0;
  };
  std::map<std::pair<Group, Bytes>, Entry> entries_;
  std::uint64_t clock_ = 0;
};

Bytes sign(const SecretKey& sk, const Suite& suite, ByteSpan msg);
Result<bool> verify(const Suite& suite, ByteSpan pk, ByteSpan msg, ByteSpan sig);
// kInvalidArgument when the key is not in suite.pk_group().
Result<bool> verify(const Suite& suite, const PublicKey& pk, ByteSpan msg, ByteSpan sig);

// Sums points of one group (signatures, or public keys); at least one input.
Result<Bytes> aggregate(Group g, std::span<const Bytes> points);
// Basic/PoP AggregateVerify over distinct-or-not messages: the basic suites return false when
// two messages repeat (the draft's rule); pks.size() must equal msgs.size().
Result<bool> aggregate_verify(const Suite& suite, std::span<const Bytes> pks, std::span<const Bytes> msgs,
                              ByteSpan sig);
// FastAggregateVerify (PoP suites): every key signed the same message. Only sound when each key
// came with a verified proof of possession.
Result<bool> fast_aggregate_verify(const Suite& suite, std::span<const Bytes> pks, ByteSpan msg, ByteSpan sig);

// Proof of possession (PopProve / PopVerify) for a key whose signatures live in sig_group.
Bytes pop_prove(const SecretKey& sk, Group sig_group);
Result<bool> pop_verify(Group sig_group, ByteSpan pk, ByteSpan proof);

// ---- drand beacons ----------------------------------------------------------------------------

enum class Scheme : std::uint8_t {
  kPedersenBlsChained,     // "pedersen-bls-chained": sig on G2, msg = sha256(prev_sig || round)
  kPedersenBlsUnchained,   // "pedersen-bls-unchained": sig on G2, msg = sha256(round)
  kBlsUnchainedOnG1,       // "bls-unchained-on-g1": sig on G1 but with the G2 DST (drand quirk)
  kBlsUnchainedG1Rfc9380,  // "bls-unchained-g1-rfc9380" (quicknet): sig on G1, G1 DST
};
// kInvalidArgument for an unknown id.
Result<Scheme> parse_scheme(std::string_view id);
std::string_view scheme_id(Scheme scheme);
Suite scheme_suite(Scheme scheme);
bool scheme_chained(Scheme scheme);

// The 32-byte digest a drand round signs: sha256(prev_sig || round_be8) when chained, else
// sha256(round_be8). prev_sig is ignored by unchained schemes.
std::array<std::uint8_t, kDigestBytes> beacon_message(Scheme scheme, std::uint64_t round, ByteSpan prev_sig);
// randomness = sha256(signature).
std::array<std::uint8_t, kDigestBytes> beacon_randomness(ByteSpan signature);

struct BeaconCheck {
  bool valid = false;
  std::array<std::uint8_t, kDigestBytes> randomness{};
};
// Errors: kDecodeError for a malformed public key or signature (wrong length, bad encoding, not
// on the curve, not in the subgroup); kInvalidArgument for a chained scheme without prev_sig.
Result<BeaconCheck> verify_beacon(Scheme scheme, ByteSpan pk, std::uint64_t round, ByteSpan sig,
                                  ByteSpan prev_sig = {});
Result<BeaconCheck> verify_beacon(Scheme scheme, const PublicKey& pk, std::uint64_t round, ByteSpan sig,
                                  ByteSpan prev_sig = {});

// A token for (round, label), derived from a verified round's randomness by HKDF-SHA256
// (RFC 5869): PRK = HMAC-SHA256("nitro-beacon-token-v1", randomness), token = first 32 bytes of
// HKDF-Expand(PRK, info = round_be8 || label). Unique per (round, label) (HKDF output collisions
// are negligible), unpredictable until the round's threshold signature exists (the randomness is
// a hash of a BLS signature no coalition below the threshold can compute), and verifiable by
// anyone holding the beacon: verify it, then recompute. kInvalidArgument unless randomness is 32
// bytes and the label at most 1024 bytes.
inline constexpr std::size_t kTokenLabelBytesMax = 1024;
Result<std::array<std::uint8_t, kDigestBytes>> token(ByteSpan randomness, std::uint64_t round, std::string_view label);

}  // namespace nitro::bls
