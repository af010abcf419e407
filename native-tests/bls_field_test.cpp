// The wasm build's BLS12-381 field arithmetic (core/src/bls/fp384.h, compiled here natively) must
// agree exactly with blst's assembly (the native build's blst_fp*/blst_fp2* functions) on random
// values and on edge values where a carry or the final subtraction decides the result.
#include <blst.h>

#include <array>
#include <catch2/catch.hpp>

#include "test_util.h"
#include <cstdint>
#include <cstring>
#include <vector>

#include "bls/fp384.h"

namespace {

using Limbs = std::array<std::uint32_t, NITRO_FP_LIMBS>;

using Rng = nitro::test::SplitMix;

bool geq_p(const Limbs& x) {
  for (int i = NITRO_FP_LIMBS - 1; i >= 0; --i) {
    if (x[i] != nitro_fp_p[i]) return x[i] > nitro_fp_p[i];
  }
  return true;
}

Limbs minus_p(Limbs x) {
  nitro_fp_sub_words(x.data(), x.data(), nitro_fp_p, NITRO_FP_WORDS);
  return x;
}

Limbs reduce(Limbs x) {  // any 384-bit value mod p, by repeated subtraction (at most 9)
  while (geq_p(x)) x = minus_p(x);
  return x;
}

Limbs small(std::uint32_t v) {
  Limbs x{};
  x[0] = v;
  return x;
}

// Values where carries and the conditional subtraction are at their limits.
std::vector<Limbs> edge_values() {
  std::vector<Limbs> out = {small(0), small(1), small(2)};
  Limbs p;
  std::memcpy(p.data(), nitro_fp_p, sizeof p);
  for (std::uint32_t d : {1u, 2u, 3u}) {  // p - 1, p - 2, p - 3
    Limbs x = p;
    x[0] -= d;
    out.push_back(x);
  }
  Limbs ones;
  ones.fill(0xffffffffu);
  out.push_back(reduce(ones));  // 2^384 - 1 mod p
  Limbs top{};
  top[NITRO_FP_LIMBS - 1] = 0x10000000u;  // 2^380
  out.push_back(top);
  Limbs high = p;  // p with the low half cleared: every low limb 0
  for (int i = 0; i < NITRO_FP_LIMBS / 2; ++i) high[i] = 0;
  out.push_back(high);
  Limbs low_ones{};  // 2^192 - 1: all-ones low limbs
  for (int i = 0; i < NITRO_FP_LIMBS / 2; ++i) low_ones[i] = 0xffffffffu;
  out.push_back(low_ones);
  blst_fp one;  // R mod p, the Montgomery form of 1
  std::uint64_t one_u64 = 1;
  blst_fp_from_uint64(&one, &one_u64);
  Limbs r;
  std::memcpy(r.data(), &one, sizeof r);
  out.push_back(r);
  return out;
}

Limbs random_fp(Rng& rng) {
  Limbs x;
  for (int i = 0; i < NITRO_FP_LIMBS; i += 2) {
    std::uint64_t w = rng.next();
    x[i] = static_cast<std::uint32_t>(w);
    x[i + 1] = static_cast<std::uint32_t>(w >> 32);
  }
  x[NITRO_FP_LIMBS - 1] &= 0x1fffffffu;  // < 2^381 < 2p
  return reduce(x);
}

blst_fp to_blst(const Limbs& x) {
  blst_fp f;
  static_assert(sizeof f == sizeof x);
  std::memcpy(&f, x.data(), sizeof f);
  return f;
}

Limbs from_blst(const blst_fp& f) {
  Limbs x;
  std::memcpy(x.data(), &f, sizeof x);
  return x;
}

// All pairs of edge values, then random pairs (some with an edge value on one side).
std::vector<std::pair<Limbs, Limbs>> operand_pairs(int randoms) {
  auto edges = edge_values();
  std::vector<std::pair<Limbs, Limbs>> out;
  for (const auto& a : edges)
    for (const auto& b : edges) out.emplace_back(a, b);
  Rng rng{0x5eed};
  for (int i = 0; i < randoms; ++i) {
    Limbs a = random_fp(rng);
    Limbs b = (i % 8 == 0) ? edges[rng.next() % edges.size()] : random_fp(rng);
    out.emplace_back(a, b);
  }
  return out;
}

void check_fp(const std::pair<Limbs, Limbs>& ab) {
  const auto& [a, b] = ab;
  blst_fp fa = to_blst(a), fb = to_blst(b), want;
  Limbs got;

  blst_fp_mul(&want, &fa, &fb);
  nitro_fp_mul(got.data(), a.data(), b.data());
  REQUIRE(got == from_blst(want));
  // mul allows factors below 2p: a + p stands for a.
  Limbs a_plus_p;
  nitro_fp_add_nored(a_plus_p.data(), a.data(), nitro_fp_p);
  nitro_fp_mul(got.data(), a_plus_p.data(), b.data());
  REQUIRE(got == from_blst(want));
  // Wide product then reduction is the same multiplication.
  std::uint32_t wide[2 * NITRO_FP_LIMBS];
  nitro_fp_mul_wide(wide, a.data(), b.data());
  nitro_fp_redc(got.data(), wide);
  REQUIRE(got == from_blst(want));

  blst_fp_sqr(&want, &fa);
  nitro_fp_sqr(got.data(), a.data());
  REQUIRE(got == from_blst(want));

  blst_fp_add(&want, &fa, &fb);
  nitro_fp_add(got.data(), a.data(), b.data());
  REQUIRE(got == from_blst(want));

  blst_fp_sub(&want, &fa, &fb);
  nitro_fp_sub(got.data(), a.data(), b.data());
  REQUIRE(got == from_blst(want));

  for (bool flag : {false, true}) {
    blst_fp_cneg(&want, &fa, flag);
    nitro_fp_cneg(got.data(), a.data(), flag);
    REQUIRE(got == from_blst(want));
  }
}

// A double-width value must stay below p * 2^384 (its upper half below p).
void check_x2_range(const std::uint32_t* t) {
  Limbs hi;
  std::memcpy(hi.data(), t + NITRO_FP_LIMBS, sizeof hi);
  REQUIRE_FALSE(geq_p(hi));
}

// Double-width add/sub agree with Fp add/sub after reduction, and stay in range.
void check_x2_add_sub(const std::pair<Limbs, Limbs>& ab, const std::pair<Limbs, Limbs>& cd) {
  std::uint32_t x[2 * NITRO_FP_LIMBS], y[2 * NITRO_FP_LIMBS], s[2 * NITRO_FP_LIMBS];
  nitro_fp_mul_wide(x, ab.first.data(), ab.second.data());
  nitro_fp_mul_wide(y, cd.first.data(), cd.second.data());
  Limbs rx, ry, got, want;
  nitro_fp_redc(rx.data(), x);
  nitro_fp_redc(ry.data(), y);

  nitro_fpx2_add(s, x, y);
  check_x2_range(s);
  nitro_fp_redc(got.data(), s);
  nitro_fp_add(want.data(), rx.data(), ry.data());
  REQUIRE(got == want);

  nitro_fpx2_sub(s, x, y);
  check_x2_range(s);
  nitro_fp_redc(got.data(), s);
  nitro_fp_sub(want.data(), rx.data(), ry.data());
  REQUIRE(got == want);
}

void check_fp2(const std::pair<Limbs, Limbs>& re, const std::pair<Limbs, Limbs>& im) {
  blst_fp2 a{{to_blst(re.first), to_blst(im.first)}}, b{{to_blst(re.second), to_blst(im.second)}}, want;
  std::uint32_t x[2][NITRO_FP_LIMBS], y[2][NITRO_FP_LIMBS], got[2][NITRO_FP_LIMBS];
  std::memcpy(x, &a, sizeof x);
  std::memcpy(y, &b, sizeof y);

  blst_fp2_mul(&want, &a, &b);
  nitro_fp2_mul(got, x, y);
  REQUIRE(std::memcmp(got, &want, sizeof got) == 0);

  blst_fp2_sqr(&want, &a);
  nitro_fp2_sqr(got, x);
  REQUIRE(std::memcmp(got, &want, sizeof got) == 0);

  // The double-width path (blst's mul_382x / sqr_382x then redc_mont_384): T in [0, p * 2^384).
  std::uint32_t wide[2][2 * NITRO_FP_LIMBS];
  nitro_fp2_mul_wide(wide, x, y);
  check_x2_range(wide[0]);
  check_x2_range(wide[1]);
  nitro_fp_redc(got[0], wide[0]);
  nitro_fp_redc(got[1], wide[1]);
  blst_fp2_mul(&want, &a, &b);
  REQUIRE(std::memcmp(got, &want, sizeof got) == 0);
  nitro_fp2_sqr_wide(wide, x);
  check_x2_range(wide[0]);
  check_x2_range(wide[1]);
  nitro_fp_redc(got[0], wide[0]);
  nitro_fp_redc(got[1], wide[1]);
  blst_fp2_sqr(&want, &a);
  REQUIRE(std::memcmp(got, &want, sizeof got) == 0);

  nitro_fp2_mul(x, x, y);  // in place, as blst calls it
  blst_fp2_mul(&want, &a, &b);
  REQUIRE(std::memcmp(x, &want, sizeof x) == 0);
}

}  // namespace

TEST_CASE("bls: wasm field arithmetic (fp384.h) matches blst's assembly on Fp", "[bls]") {
  auto pairs = operand_pairs(20000);
  for (const auto& ab : pairs) check_fp(ab);
  SUCCEED(pairs.size() << " operand pairs");
}

TEST_CASE("bls: wasm field arithmetic (fp384.h) matches blst's assembly on Fp2", "[bls]") {
  auto pairs = operand_pairs(10000);
  for (std::size_t i = 0; i < pairs.size(); ++i) check_fp2(pairs[i], pairs[(i * 7 + 3) % pairs.size()]);
}

TEST_CASE("bls: wasm field arithmetic (fp384.h) double-width add/sub reduce like Fp add/sub", "[bls]") {
  auto pairs = operand_pairs(10000);
  for (std::size_t i = 0; i < pairs.size(); ++i)
    check_x2_add_sub(pairs[i], pairs[(i * 5 + 1) % pairs.size()]);
}

TEST_CASE("bls: wasm field arithmetic (fp384.h) chains agree with blst's", "[bls]") {
  // A long dependent chain: any wrong carry propagates and shows in the final value.
  Rng rng{42};
  Limbs x = random_fp(rng), y = random_fp(rng);
  blst_fp fx = to_blst(x), fy = to_blst(y);
  for (int i = 0; i < 5000; ++i) {
    nitro_fp_mul(x.data(), x.data(), y.data());
    nitro_fp_sqr(y.data(), y.data());
    nitro_fp_add(y.data(), y.data(), x.data());
    blst_fp_mul(&fx, &fx, &fy);
    blst_fp_sqr(&fy, &fy);
    blst_fp_add(&fy, &fy, &fx);
  }
  CHECK(x == from_blst(fx));
  CHECK(y == from_blst(fy));
}
