// Internal: thin typed helpers over blst for the bls module (decoding with full validation,
// scalar-field arithmetic for Shamir/Lagrange, hashing). Not a public header.
#pragma once

#include <blst.h>

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "nitro/bls.h"

namespace nitro::bls::detail {

// A point of either group, affine. Which member is meaningful is given by `group`.
struct Point {
  Group group = Group::kG1;
  blst_p1_affine p1{};
  blst_p2_affine p2{};
};

// Decodes a compressed point and checks curve + subgroup; identity only when allow_identity.
Result<Point> decode_point(Group g, ByteSpan bytes, bool allow_identity);
Bytes encode_point(const Point& p);
bool point_is_identity(const Point& p);

// Projective accumulators used for sums and scalar multiples.
struct Acc {
  Group group = Group::kG1;
  blst_p1 p1{};
  blst_p2 p2{};
};
Acc acc_zero(Group g);
Acc acc_from(const Point& p);
void acc_add(Acc& acc, const Point& p);
void acc_add(Acc& acc, const Acc& other);
Acc acc_mul(const Acc& acc, const blst_scalar& k);  // k * acc (scalar in [0, r))
Acc acc_mul_small(const Acc& acc, std::uint64_t k);
Point acc_affine(const Acc& acc);
Bytes acc_encode(const Acc& acc);
bool acc_equal(const Acc& a, const Acc& b);

// sk * generator of g.
Acc generator_mul(Group g, const blst_scalar& sk);
// hash_to_curve(msg) on g with the DST (RFC 9380 _RO_).
Acc hash_to(Group g, ByteSpan msg, std::string_view dst);

// Fr helpers.
blst_fr fr_from_u64(std::uint64_t v);
blst_fr fr_from_scalar(const blst_scalar& s);
blst_scalar scalar_from_fr(const blst_fr& f);
// Reduces 48 expanded bytes (expand_message_xmd of seed || counter) to a scalar mod r.
blst_scalar scalar_from_seed(ByteSpan seed, std::string_view dst, std::uint32_t counter);
blst_scalar scalar_of(const SecretKey& sk);
SecretKey secret_from_scalar(const blst_scalar& s);  // asserts 0 < s < r

// Pairing check with precomputed Miller-loop lines (blst_precompute_lines layout, 68 entries
// for the loop over |z| = 0xd201000000010000). Two pairs share one loop and one final
// exponentiation: checks e(P0, Q0) * e(P1, Q1) == 1.
struct Lines {
  blst_fp6 l[68];
};
void lines_of(const blst_p2_affine& q, Lines& out);
const Lines& neg_g2_lines();  // lines of -G2, computed once
bool pairing2_is_one(const Lines& q0, const blst_p1_affine& p0, const Lines& q1, const blst_p1_affine& p1);

// sha256 over the concatenation of parts.
std::array<std::uint8_t, kDigestBytes> sha256(std::initializer_list<ByteSpan> parts);

// Decoded public key state behind nitro::bls::PublicKey.
struct KeyState {
  Point point;
  Bytes bytes;
  Lines lines{};  // meaningful for keys on G2 only
};

}  // namespace nitro::bls::detail
