// Threshold BLS over BLS12-381: Shamir shares of a group secret in the scalar field, public
// polynomials (Feldman commitments), partial signatures and Lagrange recovery at x = 0.
//
// Contract: pure and deterministic; entropy is an injected seed. A share index is the
// x-coordinate of the share (1..n, never 0). Any `threshold` valid partials on one message
// recover the same group signature, which verifies against the group public key (the constant
// term of the public polynomial) exactly like a single-key BLS signature.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "nitro/bls.h"
#include "nitro/status.h"

namespace nitro::bls::threshold {

using Index = std::uint32_t;
inline constexpr std::uint32_t kMembersMax = 1024;

struct Share {
  Index index = 0;
  SecretKey key;
};

// Commitments a_k * G (k = 0..t-1) to the secret polynomial's coefficients, compressed, in the
// public-key group. commitments[0] is the group public key.
struct PublicPoly {
  Group group = Group::kG1;
  std::vector<Bytes> commitments;
  std::uint32_t threshold() const { return static_cast<std::uint32_t>(commitments.size()); }
  const Bytes& group_key() const { return commitments.at(0); }
};

// Validates every commitment (on curve, in subgroup, the constant term not the identity).
Status validate(const PublicPoly& poly);
// The public key of share `index`: sum_k commitments[k] * index^k.
Result<Bytes> public_share(const PublicPoly& poly, Index index);

// A secret polynomial of degree threshold-1, kept by a dealer (or a DKG participant).
class SecretPoly {
 public:
  // Coefficients derived from the seed (>= 32 bytes) by expand_message_xmd; none is zero.
  static Result<SecretPoly> from_seed(std::uint32_t threshold, ByteSpan seed);
  std::uint32_t threshold() const { return static_cast<std::uint32_t>(coeffs_.size()); }
  // f(index); index must be in [1, kMembersMax].
  SecretKey eval(Index index) const;
  PublicPoly commit(Group pk_group) const;
  const std::vector<SecretKey>& coefficients() const { return coeffs_; }

 private:
  std::vector<SecretKey> coeffs_;
};

// Dealer mode (tests, trusted setups): one polynomial, shares 1..n.
struct Dealing {
  PublicPoly poly;
  std::vector<Share> shares;
};
Result<Dealing> deal(Group pk_group, std::uint32_t threshold, std::uint32_t n, ByteSpan seed);

// Checks share.key * G == public_share(poly, share.index).
Result<bool> share_matches(const PublicPoly& poly, const Share& share);

struct Partial {
  Index index = 0;
  Bytes sig;  // compressed, in the suite's signature group
};
Partial partial_sign(const Share& share, const Suite& suite, ByteSpan msg);
// Verifies a partial against the share's public key derived from the polynomial.
Result<bool> partial_verify(const Suite& suite, const PublicPoly& poly, const Partial& partial, ByteSpan msg);
// Same, with the share's public key already computed (and decoded once).
Result<bool> partial_verify(const Suite& suite, const PublicKey& share_pk, const Partial& partial, ByteSpan msg);

// Lagrange interpolation at 0 of the first `threshold` partials (in the order given; indices
// distinct and non-zero, else kInvalidArgument; fewer than threshold: kFailedPrecondition).
// Partials are not verified here: verify them first (or verify the result).
Result<Bytes> recover(Group sig_group, std::span<const Partial> partials, std::uint32_t threshold);

// Recovers a group secret from threshold shares (tests and DKG checks only).
Result<SecretKey> recover_secret(std::span<const Share> shares, std::uint32_t threshold);

}  // namespace nitro::bls::threshold
