// Shamir sharing over the BLS12-381 scalar field, Feldman commitments, Lagrange recovery.
#include "nitro/bls_threshold.h"

#include <cassert>
#include <set>
#include <string>

#include "bls/curve.h"

namespace nitro::bls::threshold {
namespace {

constexpr std::string_view kPolyDst = "NITRO-TBLS-POLY-V1";

Status check_params(std::uint32_t threshold, std::uint32_t n) {
  if (threshold == 0) return invalid_argument("threshold must be at least 1");
  if (n > kMembersMax) return invalid_argument("more than 1024 members");
  if (threshold > n) return invalid_argument("threshold larger than the group");
  return Status::ok_status();
}

// Lagrange coefficient at 0 of x_i over the set xs (all distinct, non-zero).
blst_fr lagrange_at_zero(std::span<const Index> xs, std::size_t i) {
  blst_fr num = detail::fr_from_u64(1), den = detail::fr_from_u64(1);
  const blst_fr xi = detail::fr_from_u64(xs[i]);
  for (std::size_t j = 0; j < xs.size(); ++j) {
    if (j == i) continue;
    const blst_fr xj = detail::fr_from_u64(xs[j]);
    blst_fr diff;
    blst_fr_sub(&diff, &xj, &xi);
    blst_fr_mul(&num, &num, &xj);
    blst_fr_mul(&den, &den, &diff);
  }
  blst_fr inv, out;
  blst_fr_inverse(&inv, &den);
  blst_fr_mul(&out, &num, &inv);
  return out;
}

Result<std::vector<Index>> first_indices(std::span<const Index> all, std::uint32_t threshold) {
  if (threshold == 0) return invalid_argument("threshold must be at least 1");
  if (all.size() < threshold) {
    return failed_precondition("need " + std::to_string(threshold) + " partials, have " + std::to_string(all.size()));
  }
  std::vector<Index> xs(all.begin(), all.begin() + threshold);
  std::set<Index> seen;
  for (Index x : xs) {
    if (x == 0 || x > kMembersMax) return invalid_argument("share index out of range");
    if (!seen.insert(x).second) return invalid_argument("duplicate share index");
  }
  return xs;
}

}  // namespace

Status validate(const PublicPoly& poly) {
  if (poly.commitments.empty() || poly.commitments.size() > kMembersMax) {
    return invalid_argument("public polynomial: bad number of commitments");
  }
  for (std::size_t k = 0; k < poly.commitments.size(); ++k) {
    NITRO_TRY(point_validate(poly.group, poly.commitments[k], k != 0));
  }
  return Status::ok_status();
}

Result<Bytes> public_share(const PublicPoly& poly, Index index) {
  if (index == 0 || index > kMembersMax) return invalid_argument("share index out of range");
  if (poly.commitments.empty()) return invalid_argument("public polynomial: no commitments");
  auto acc = detail::acc_zero(poly.group);
  for (std::size_t k = poly.commitments.size(); k-- > 0;) {  // Horner: acc = acc * x + C_k
    auto c = detail::decode_point(poly.group, poly.commitments[k], true);
    if (!c.ok()) return c.status();
    acc = detail::acc_mul_small(acc, index);
    detail::acc_add(acc, *c);
  }
  return detail::acc_encode(acc);
}

Result<SecretPoly> SecretPoly::from_seed(std::uint32_t threshold, ByteSpan seed) {
  NITRO_TRY(check_params(threshold, threshold));
  if (seed.size() < 32) return invalid_argument("polynomial seed must be at least 32 bytes");
  SecretPoly poly;
  std::uint32_t counter = 0;
  while (poly.coeffs_.size() < threshold) {
    auto s = detail::scalar_from_seed(seed, kPolyDst, counter++);
    if (!blst_sk_check(&s)) continue;  // zero: probability 2^-255, skip it
    poly.coeffs_.push_back(detail::secret_from_scalar(s));
  }
  return poly;
}

SecretKey SecretPoly::eval(Index index) const {
  assert(index != 0 && index <= kMembersMax);
  const blst_fr x = detail::fr_from_u64(index);
  blst_fr acc = detail::fr_from_u64(0);
  for (std::size_t k = coeffs_.size(); k-- > 0;) {
    blst_fr c = detail::fr_from_scalar(detail::scalar_of(coeffs_[k]));
    blst_fr_mul(&acc, &acc, &x);
    blst_fr_add(&acc, &acc, &c);
  }
  return detail::secret_from_scalar(detail::scalar_from_fr(acc));
}

PublicPoly SecretPoly::commit(Group pk_group) const {
  PublicPoly out;
  out.group = pk_group;
  for (const auto& c : coeffs_) out.commitments.push_back(sk_to_pk(c, pk_group));
  return out;
}

Result<Dealing> deal(Group pk_group, std::uint32_t threshold, std::uint32_t n, ByteSpan seed) {
  NITRO_TRY(check_params(threshold, n));
  auto poly = SecretPoly::from_seed(threshold, seed);
  if (!poly.ok()) return poly.status();
  Dealing out;
  out.poly = poly->commit(pk_group);
  for (Index i = 1; i <= n; ++i) out.shares.push_back(Share{i, poly->eval(i)});
  return out;
}

Result<bool> share_matches(const PublicPoly& poly, const Share& share) {
  auto expected = public_share(poly, share.index);
  if (!expected.ok()) return expected.status();
  return sk_to_pk(share.key, poly.group) == *expected;
}

Partial partial_sign(const Share& share, const Suite& suite, ByteSpan msg) {
  return Partial{share.index, sign(share.key, suite, msg)};
}

Result<bool> partial_verify(const Suite& suite, const PublicPoly& poly, const Partial& partial, ByteSpan msg) {
  if (poly.group != suite.pk_group()) return invalid_argument("public polynomial in the wrong group");
  auto pk = public_share(poly, partial.index);
  if (!pk.ok()) return pk.status();
  return verify(suite, *pk, msg, partial.sig);
}

Result<bool> partial_verify(const Suite& suite, const PublicKey& share_pk, const Partial& partial, ByteSpan msg) {
  return verify(suite, share_pk, msg, partial.sig);
}

Result<Bytes> recover(Group sig_group, std::span<const Partial> partials, std::uint32_t threshold) {
  std::vector<Index> all;
  for (const auto& p : partials) all.push_back(p.index);
  auto xs = first_indices(all, threshold);
  if (!xs.ok()) return xs.status();
  auto acc = detail::acc_zero(sig_group);
  for (std::size_t i = 0; i < xs->size(); ++i) {
    auto point = detail::decode_point(sig_group, partials[i].sig, true);
    if (!point.ok()) return point.status();
    auto lambda = detail::scalar_from_fr(lagrange_at_zero(*xs, i));
    detail::acc_add(acc, detail::acc_mul(detail::acc_from(*point), lambda));
  }
  return detail::acc_encode(acc);
}

Result<SecretKey> recover_secret(std::span<const Share> shares, std::uint32_t threshold) {
  std::vector<Index> all;
  for (const auto& s : shares) all.push_back(s.index);
  auto xs = first_indices(all, threshold);
  if (!xs.ok()) return xs.status();
  blst_fr acc = detail::fr_from_u64(0);
  for (std::size_t i = 0; i < xs->size(); ++i) {
    blst_fr term, lambda = lagrange_at_zero(*xs, i);
    blst_fr y = detail::fr_from_scalar(detail::scalar_of(shares[i].key));
    blst_fr_mul(&term, &lambda, &y);
    blst_fr_add(&acc, &acc, &term);
  }
  auto s = detail::scalar_from_fr(acc);
  if (!blst_sk_check(&s)) return invalid_argument("shares interpolate to zero");
  return detail::secret_from_scalar(s);
}

}  // namespace nitro::bls::threshold
