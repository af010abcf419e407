/* BLS12-381 base-field arithmetic for the wasm build of blst (C and C++; our own code).
 *
 * Contract: elements are 12 little-endian 32-bit limbs in blst's Montgomery form (R = 2^384),
 * byte-identical to blst's vec384 on any little-endian target. Inputs must be fully reduced
 * (< p) unless a function says otherwise; every output is fully reduced. Double-width ("x2")
 * values are 24 limbs in [0, p * 2^384), as blst's mul_382x / redc_mont_384 expect. Constant
 * time: no branch or memory index depends on the values.
 *
 * Why: without assembly blst multiplies with a generic CIOS loop (no_asm.h mul_mont_n) whose
 * inner step `x = m*a[i] + hi + t[i]; hi = x >> 32` is one serial carry chain. Wasm has a fast
 * 64-bit multiply but no carry flag, so here every 32x32-bit product is split into its two
 * halves, added into two independent 64-bit column sums (product scanning): no carry chain
 * inside a column, one carry per column. The Montgomery reduction is interleaved column by
 * column, two columns per step (one 64-bit multiply gives two digits of m). Squaring computes
 * each cross product once; Fp2 products are Karatsuba over unreduced 768-bit values with two
 * reductions; additions work on 64-bit words. blst_wasm.c routes blst's callers here.
 */
#ifndef NITRO_BLS_FP384_H
#define NITRO_BLS_FP384_H

#include <stdint.h>

#define NITRO_FP_LIMBS 12

/* Every loop here has a constant trip count; fully unrolled, the limb indices become constants
 * and the limbs stay in locals (registers) instead of memory. */
#if defined(__clang__)
#define NITRO_FP_UNROLL _Pragma("clang loop unroll(full)")
#elif defined(__GNUC__)
#define NITRO_FP_UNROLL _Pragma("GCC unroll 24")
#else
#define NITRO_FP_UNROLL
#endif

/* p, little-endian 32-bit limbs. */
static const uint32_t nitro_fp_p[NITRO_FP_LIMBS] = {0xffffaaabu, 0xb9feffffu, 0xb153ffffu, 0x1eabfffeu,
                                                    0xf6b0f624u, 0x6730d2a0u, 0xf38512bfu, 0x64774b84u,
                                                    0x434bacd7u, 0x4b1ba7b6u, 0x397fe69au, 0x1a0111eau};
#define NITRO_FP_N0_64 0x89f3fffcfffcfffdull /* -p^-1 mod 2^64 */

/* Adds the 64-bit product x into a column held as two sums of 32-bit halves. */
#define NITRO_FP_ACC(lo, hi, x) \
  do {                          \
    uint64_t x_ = (x);          \
    lo += (uint32_t)x_;         \
    hi += x_ >> 32;             \
  } while (0)

/* r = t - p if that does not borrow (t = top:t[0..11] < 2p), else t. Branch-free. */
static inline void nitro_fp_final_sub(uint32_t r[NITRO_FP_LIMBS], const uint32_t t[NITRO_FP_LIMBS],
                                      uint32_t top) {
  uint32_t d[NITRO_FP_LIMBS];
  uint64_t borrow = 0;
  NITRO_FP_UNROLL for (int i = 0; i < NITRO_FP_LIMBS; i++) {
    uint64_t x = (uint64_t)t[i] - nitro_fp_p[i] - borrow;
    d[i] = (uint32_t)x;
    borrow = (x >> 32) & 1;
  }
  /* keep t when the subtraction borrowed past the top word */
  uint32_t keep = (uint32_t)0 - (uint32_t)(borrow > top);
  NITRO_FP_UNROLL for (int i = 0; i < NITRO_FP_LIMBS; i++) r[i] = (t[i] & keep) | (d[i] & ~keep);
}

/* Columns k and k+1 (k even, k + 1 < 12) of a Montgomery reduction. On entry lo/hi hold column
 * k (its carry-in and products) and lo1/hi1 column k+1; on exit lo holds the carry into column
 * k+2. One 64-bit multiply by -p^-1 mod 2^64 yields both digits m[k], m[k+1] (the same ones two
 * 32-bit steps would pick, since T + m p = 0 mod 2^64 fixes m mod 2^64): the serial chain
 * column sum -> m -> m * p -> next column is walked once per two columns. */
#define NITRO_FP_REDUCE_LOW_PAIR(k, m, lo, hi, lo1, hi1)                    \
  do {                                                                      \
    NITRO_FP_UNROLL for (int i_ = 0; i_ < (k); i_++) {                      \
      NITRO_FP_ACC(lo, hi, (uint64_t)(m)[i_] * nitro_fp_p[(k)-i_]);         \
      NITRO_FP_ACC(lo1, hi1, (uint64_t)(m)[i_] * nitro_fp_p[(k) + 1 - i_]); \
    }                                                                       \
    uint64_t m64_ = (lo + ((hi + lo1) << 32)) * NITRO_FP_N0_64;             \
    (m)[k] = (uint32_t)m64_;                                                \
    (m)[(k) + 1] = (uint32_t)(m64_ >> 32);                                  \
    NITRO_FP_ACC(lo, hi, (uint64_t)(m)[k] * nitro_fp_p[0]);                 \
    NITRO_FP_ACC(lo1, hi1, (uint64_t)(m)[k] * nitro_fp_p[1]);               \
    NITRO_FP_ACC(lo1, hi1, (uint64_t)(m)[(k) + 1] * nitro_fp_p[0]);         \
    lo1 += (lo >> 32) + hi;                                                 \
    lo = (lo1 >> 32) + hi1;                                                 \
    hi = 0;                                                                 \
  } while (0)

/* Columns 12..22: the reduction's upper products, then the column's word goes to t. */
#define NITRO_FP_REDUCE_HIGH_COLUMN(k, m, t, lo, hi)                                     \
  do {                                                                                   \
    NITRO_FP_UNROLL for (int i_ = (k) - (NITRO_FP_LIMBS - 1); i_ < NITRO_FP_LIMBS; i_++) \
        NITRO_FP_ACC(lo, hi, (uint64_t)(m)[i_] * nitro_fp_p[(k)-i_]);                    \
    (t)[(k)-NITRO_FP_LIMBS] = (uint32_t)lo;                                              \
    lo = (lo >> 32) + hi;                                                                \
    hi = 0;                                                                              \
  } while (0)

/* r = a * b / R mod p. r may alias a or b. */
static inline void nitro_fp_mul(uint32_t r[NITRO_FP_LIMBS], const uint32_t a[NITRO_FP_LIMBS],
                                const uint32_t b[NITRO_FP_LIMBS]) {
  uint32_t m[NITRO_FP_LIMBS], t[NITRO_FP_LIMBS];
  uint64_t lo = 0, hi = 0;
  NITRO_FP_UNROLL for (int k = 0; k < NITRO_FP_LIMBS; k += 2) {
    uint64_t lo1 = 0, hi1 = 0;
    NITRO_FP_UNROLL for (int i = 0; i <= k; i++) NITRO_FP_ACC(lo, hi, (uint64_t)a[i] * b[k - i]);
    NITRO_FP_UNROLL for (int i = 0; i <= k + 1; i++) NITRO_FP_ACC(lo1, hi1, (uint64_t)a[i] * b[k + 1 - i]);
    NITRO_FP_REDUCE_LOW_PAIR(k, m, lo, hi, lo1, hi1);
  }
  NITRO_FP_UNROLL for (int k = NITRO_FP_LIMBS; k < 2 * NITRO_FP_LIMBS - 1; k++) {
    NITRO_FP_UNROLL for (int i = k - (NITRO_FP_LIMBS - 1); i < NITRO_FP_LIMBS; i++)
        NITRO_FP_ACC(lo, hi, (uint64_t)a[i] * b[k - i]);
    NITRO_FP_REDUCE_HIGH_COLUMN(k, m, t, lo, hi);
  }
  t[NITRO_FP_LIMBS - 1] = (uint32_t)lo;
  nitro_fp_final_sub(r, t, (uint32_t)(lo >> 32));
}

/* Adds column k of a^2 into lo/hi: the cross products once, doubled, plus the square term. */
#define NITRO_FP_SQR_COLUMN(k, a, lo, hi, i0, i1)                                  \
  do {                                                                             \
    uint64_t clo_ = 0, chi_ = 0;                                                   \
    NITRO_FP_UNROLL for (int i_ = (i0); i_ < (i1); i_++)                           \
        NITRO_FP_ACC(clo_, chi_, (uint64_t)(a)[i_] * (a)[(k)-i_]);                 \
    lo += clo_ << 1;                                                               \
    hi += chi_ << 1;                                                               \
    if (((k)&1) == 0) NITRO_FP_ACC(lo, hi, (uint64_t)(a)[(k) / 2] * (a)[(k) / 2]); \
  } while (0)

/* r = a^2 / R mod p. r may alias a. */
static inline void nitro_fp_sqr(uint32_t r[NITRO_FP_LIMBS], const uint32_t a[NITRO_FP_LIMBS]) {
  uint32_t m[NITRO_FP_LIMBS], t[NITRO_FP_LIMBS];
  uint64_t lo = 0, hi = 0;
  NITRO_FP_UNROLL for (int k = 0; k < NITRO_FP_LIMBS; k += 2) {
    uint64_t lo1 = 0, hi1 = 0;
    NITRO_FP_SQR_COLUMN(k, a, lo, hi, 0, (k + 1) / 2);
    NITRO_FP_SQR_COLUMN(k + 1, a, lo1, hi1, 0, (k + 2) / 2);
    NITRO_FP_REDUCE_LOW_PAIR(k, m, lo, hi, lo1, hi1);
  }
  NITRO_FP_UNROLL for (int k = NITRO_FP_LIMBS; k < 2 * NITRO_FP_LIMBS - 1; k++) {
    NITRO_FP_SQR_COLUMN(k, a, lo, hi, k - (NITRO_FP_LIMBS - 1), (k + 1) / 2);
    NITRO_FP_REDUCE_HIGH_COLUMN(k, m, t, lo, hi);
  }
  t[NITRO_FP_LIMBS - 1] = (uint32_t)lo;
  nitro_fp_final_sub(r, t, (uint32_t)(lo >> 32));
}

/* 64-bit word views of the limbs (wasm has 64-bit integer registers and loads). */
static inline uint64_t nitro_fp_ld64(const uint32_t* a, int i) {
  uint64_t x;
  __builtin_memcpy(&x, a + 2 * i, 8);
  return x;
}
static inline void nitro_fp_st64(uint32_t* r, int i, uint64_t x) { __builtin_memcpy(r + 2 * i, &x, 8); }

#define NITRO_FP_WORDS (NITRO_FP_LIMBS / 2)

/* r = s - p if that does not borrow, else s; s given in 64-bit words, s < 2p. */
static inline void nitro_fp_reduce_once64(uint32_t r[NITRO_FP_LIMBS], const uint64_t s[NITRO_FP_WORDS]) {
  uint64_t d[NITRO_FP_WORDS], borrow = 0;
  NITRO_FP_UNROLL for (int i = 0; i < NITRO_FP_WORDS; i++) {
    uint64_t p = nitro_fp_ld64(nitro_fp_p, i);
    uint64_t t = s[i] - p;
    uint64_t b1 = s[i] < p;
    d[i] = t - borrow;
    borrow = b1 | (t < borrow);
  }
  uint64_t keep = (uint64_t)0 - borrow;
  NITRO_FP_UNROLL for (int i = 0; i < NITRO_FP_WORDS; i++)
      nitro_fp_st64(r, i, (s[i] & keep) | (d[i] & ~keep));
}

/* r = a + b mod p. */
static inline void nitro_fp_add(uint32_t r[NITRO_FP_LIMBS], const uint32_t a[NITRO_FP_LIMBS],
                                const uint32_t b[NITRO_FP_LIMBS]) {
  uint64_t s[NITRO_FP_WORDS], carry = 0;
  NITRO_FP_UNROLL for (int i = 0; i < NITRO_FP_WORDS; i++) {
    uint64_t x = nitro_fp_ld64(a, i);
    uint64_t t = x + nitro_fp_ld64(b, i);
    uint64_t c1 = t < x;
    s[i] = t + carry;
    carry = c1 | (s[i] < t);
  }
  nitro_fp_reduce_once64(r, s); /* a + b < 2p < 2^384: no carry out of the top word */
}

/* r = a - b mod p. */
static inline void nitro_fp_sub(uint32_t r[NITRO_FP_LIMBS], const uint32_t a[NITRO_FP_LIMBS],
                                const uint32_t b[NITRO_FP_LIMBS]) {
  uint64_t d[NITRO_FP_WORDS], borrow = 0;
  NITRO_FP_UNROLL for (int i = 0; i < NITRO_FP_WORDS; i++) {
    uint64_t x = nitro_fp_ld64(a, i), y = nitro_fp_ld64(b, i);
    uint64_t t = x - y;
    uint64_t b1 = x < y;
    d[i] = t - borrow;
    borrow = b1 | (t < borrow);
  }
  uint64_t mask = (uint64_t)0 - borrow, carry = 0; /* add p back when a < b */
  NITRO_FP_UNROLL for (int i = 0; i < NITRO_FP_WORDS; i++) {
    uint64_t t = d[i] + (nitro_fp_ld64(nitro_fp_p, i) & mask);
    uint64_t c1 = t < d[i];
    uint64_t s = t + carry;
    carry = c1 | (s < t);
    nitro_fp_st64(r, i, s);
  }
}

/* T = a * b, 24 limbs, no reduction. */
static inline void nitro_fp_mul_wide(uint32_t T[2 * NITRO_FP_LIMBS], const uint32_t a[NITRO_FP_LIMBS],
                                     const uint32_t b[NITRO_FP_LIMBS]) {
  uint64_t lo = 0, hi = 0;
  NITRO_FP_UNROLL for (int k = 0; k < 2 * NITRO_FP_LIMBS - 1; k++) {
    int i0 = k < NITRO_FP_LIMBS ? 0 : k - (NITRO_FP_LIMBS - 1);
    int i1 = k < NITRO_FP_LIMBS ? k : NITRO_FP_LIMBS - 1;
    NITRO_FP_UNROLL for (int i = i0; i <= i1; i++) NITRO_FP_ACC(lo, hi, (uint64_t)a[i] * b[k - i]);
    T[k] = (uint32_t)lo;
    lo = (lo >> 32) + hi;
    hi = 0;
  }
  T[2 * NITRO_FP_LIMBS - 1] = (uint32_t)lo;
}

/* r = T / R mod p for T < p * R (Montgomery reduction). */
static inline void nitro_fp_redc(uint32_t r[NITRO_FP_LIMBS], const uint32_t T[2 * NITRO_FP_LIMBS]) {
  uint32_t m[NITRO_FP_LIMBS], t[NITRO_FP_LIMBS];
  uint64_t lo = 0, hi = 0;
  NITRO_FP_UNROLL for (int k = 0; k < NITRO_FP_LIMBS; k += 2) {
    uint64_t lo1 = T[k + 1], hi1 = 0;
    lo += T[k];
    NITRO_FP_REDUCE_LOW_PAIR(k, m, lo, hi, lo1, hi1);
  }
  NITRO_FP_UNROLL for (int k = NITRO_FP_LIMBS; k < 2 * NITRO_FP_LIMBS - 1; k++) {
    lo += T[k];
    NITRO_FP_REDUCE_HIGH_COLUMN(k, m, t, lo, hi);
  }
  lo += T[2 * NITRO_FP_LIMBS - 1];
  t[NITRO_FP_LIMBS - 1] = (uint32_t)lo;
  nitro_fp_final_sub(r, t, (uint32_t)(lo >> 32));
}

/* r = p - a if flag and a != 0, else a (conditional negation; a < p). */
static inline void nitro_fp_cneg(uint32_t r[NITRO_FP_LIMBS], const uint32_t a[NITRO_FP_LIMBS],
                                 uint64_t flag) {
  uint64_t d[NITRO_FP_WORDS], borrow = 0, any = 0;
  NITRO_FP_UNROLL for (int i = 0; i < NITRO_FP_WORDS; i++) {
    uint64_t x = nitro_fp_ld64(nitro_fp_p, i), y = nitro_fp_ld64(a, i);
    uint64_t t = x - y;
    uint64_t b1 = x < y;
    d[i] = t - borrow;
    borrow = b1 | (t < borrow);
    any |= y;
  }
  uint64_t mask = (uint64_t)0 - ((flag != 0) & (any != 0));
  NITRO_FP_UNROLL for (int i = 0; i < NITRO_FP_WORDS; i++)
      nitro_fp_st64(r, i, (d[i] & mask) | (nitro_fp_ld64(a, i) & ~mask));
}

/* Multi-word add/sub over `words` 64-bit words (wasm has no carry flag: carries are compares). */
static inline uint64_t nitro_fp_add_words(uint32_t* r, const uint32_t* a, const uint32_t* b, int words) {
  uint64_t carry = 0;
  NITRO_FP_UNROLL for (int i = 0; i < words; i++) {
    uint64_t x = nitro_fp_ld64(a, i);
    uint64_t t = x + nitro_fp_ld64(b, i);
    uint64_t c1 = t < x;
    uint64_t s = t + carry;
    carry = c1 | (s < t);
    nitro_fp_st64(r, i, s);
  }
  return carry;
}

static inline uint64_t nitro_fp_sub_words(uint32_t* r, const uint32_t* a, const uint32_t* b, int words) {
  uint64_t borrow = 0;
  NITRO_FP_UNROLL for (int i = 0; i < words; i++) {
    uint64_t x = nitro_fp_ld64(a, i), y = nitro_fp_ld64(b, i);
    uint64_t t = x - y;
    uint64_t b1 = x < y;
    nitro_fp_st64(r, i, t - borrow);
    borrow = b1 | (t < borrow);
  }
  return borrow;
}

/* r = a - b - c over `words` 64-bit words (the result must be >= 0); one pass, borrow 0..2. */
static inline void nitro_fp_sub2_words(uint32_t* r, const uint32_t* a, const uint32_t* b, const uint32_t* c,
                                       int words) {
  uint64_t borrow = 0;
  NITRO_FP_UNROLL for (int i = 0; i < words; i++) {
    uint64_t x = nitro_fp_ld64(a, i), y = nitro_fp_ld64(b, i), z = nitro_fp_ld64(c, i);
    uint64_t t1 = x - y;
    uint64_t b1 = x < y;
    uint64_t t2 = t1 - z;
    uint64_t b2 = t1 < z;
    nitro_fp_st64(r, i, t2 - borrow);
    borrow = b1 + b2 + (t2 < borrow);
  }
}

/* r += p when mask is all ones (r + p must fit in 384 bits, which holds for r < 2^383). */
static inline void nitro_fp_add_p_masked(uint32_t r[NITRO_FP_LIMBS], uint64_t mask) {
  uint64_t carry = 0;
  NITRO_FP_UNROLL for (int i = 0; i < NITRO_FP_WORDS; i++) {
    uint64_t x = nitro_fp_ld64(r, i);
    uint64_t t = x + (nitro_fp_ld64(nitro_fp_p, i) & mask);
    uint64_t c1 = t < x;
    uint64_t s = t + carry;
    carry = c1 | (s < t);
    nitro_fp_st64(r, i, s);
  }
}

/* r = a + b without reduction (a, b < p, so r < 2p < 2^382). */
static inline void nitro_fp_add_nored(uint32_t r[NITRO_FP_LIMBS], const uint32_t a[NITRO_FP_LIMBS],
                                      const uint32_t b[NITRO_FP_LIMBS]) {
  nitro_fp_add_words(r, a, b, NITRO_FP_WORDS);
}

/* Double-width ("x2") values: 768-bit T in [0, p * 2^384), reduced later by nitro_fp_redc. This
 * is the contract of blst's add/sub_mod_384x384, mul/sqr_382x and redc_mont_384. */

/* r = a + b, minus p * 2^384 if that does not borrow. */
static inline void nitro_fpx2_add(uint32_t r[2 * NITRO_FP_LIMBS], const uint32_t a[2 * NITRO_FP_LIMBS],
                                  const uint32_t b[2 * NITRO_FP_LIMBS]) {
  uint32_t d[NITRO_FP_LIMBS];
  nitro_fp_add_words(r, a, b, 2 * NITRO_FP_WORDS); /* < 2^766: no carry out */
  uint64_t keep = (uint64_t)0 - nitro_fp_sub_words(d, r + NITRO_FP_LIMBS, nitro_fp_p, NITRO_FP_WORDS);
  NITRO_FP_UNROLL for (int i = 0; i < NITRO_FP_WORDS; i++) {
    uint64_t hi = nitro_fp_ld64(r + NITRO_FP_LIMBS, i);
    nitro_fp_st64(r + NITRO_FP_LIMBS, i, (hi & keep) | (nitro_fp_ld64(d, i) & ~keep));
  }
}

/* r = a - b, plus p * 2^384 if that borrowed. */
static inline void nitro_fpx2_sub(uint32_t r[2 * NITRO_FP_LIMBS], const uint32_t a[2 * NITRO_FP_LIMBS],
                                  const uint32_t b[2 * NITRO_FP_LIMBS]) {
  uint64_t hi[NITRO_FP_WORDS], borrow = 0, carry = 0;
  NITRO_FP_UNROLL for (int i = 0; i < 2 * NITRO_FP_WORDS; i++) {
    uint64_t x = nitro_fp_ld64(a, i), y = nitro_fp_ld64(b, i);
    uint64_t t = x - y;
    uint64_t b1 = x < y;
    uint64_t d = t - borrow;
    borrow = b1 | (t < borrow);
    if (i < NITRO_FP_WORDS)
      nitro_fp_st64(r, i, d);
    else
      hi[i - NITRO_FP_WORDS] = d; /* the upper half stays in registers for the fix-up */
  }
  uint64_t mask = (uint64_t)0 - borrow;
  NITRO_FP_UNROLL for (int i = 0; i < NITRO_FP_WORDS; i++) {
    uint64_t t = hi[i] + (nitro_fp_ld64(nitro_fp_p, i) & mask);
    uint64_t c1 = t < hi[i];
    uint64_t s = t + carry;
    carry = c1 | (s < t);
    nitro_fp_st64(r + NITRO_FP_LIMBS, i, s);
  }
}

/* Fp2 = Fp[u]/(u^2+1), unreduced product (Karatsuba): T0 = a0 b0 - a1 b1 (+ p * 2^384 when
 * negative), T1 = (a0 + a1)(b0 + b1) - a0 b0 - a1 b1 = a0 b1 + a1 b0 < 2p^2. The sums are left
 * unreduced (< 2p), so (a0 + a1)(b0 + b1) < 4p^2 < 2^768. T may not alias a or b. */
static inline void nitro_fp2_mul_wide(uint32_t T[2][2 * NITRO_FP_LIMBS], const uint32_t a[2][NITRO_FP_LIMBS],
                                      const uint32_t b[2][NITRO_FP_LIMBS]) {
  uint32_t t1[2 * NITRO_FP_LIMBS], aa[NITRO_FP_LIMBS], bb[NITRO_FP_LIMBS];
  nitro_fp_add_nored(aa, a[0], a[1]);
  nitro_fp_add_nored(bb, b[0], b[1]);
  nitro_fp_mul_wide(T[0], a[0], b[0]);
  nitro_fp_mul_wide(t1, a[1], b[1]);
  nitro_fp_mul_wide(T[1], aa, bb);
  nitro_fp_sub2_words(T[1], T[1], T[0], t1, 2 * NITRO_FP_WORDS);
  nitro_fpx2_sub(T[0], T[0], t1);
}

/* Unreduced square: T0 = (a0 + a1)(a0 - a1 + p) < 4p^2 < p * 2^384, T1 = a0 (2 a1) < 2p^2. */
static inline void nitro_fp2_sqr_wide(uint32_t T[2][2 * NITRO_FP_LIMBS],
                                      const uint32_t a[2][NITRO_FP_LIMBS]) {
  uint32_t s[NITRO_FP_LIMBS], d[NITRO_FP_LIMBS];
  nitro_fp_add_nored(s, a[0], a[1]);
  nitro_fp_add_nored(d, a[0], nitro_fp_p);
  nitro_fp_sub_words(d, d, a[1], NITRO_FP_WORDS);
  nitro_fp_mul_wide(T[0], s, d);
  nitro_fp_add_nored(s, a[1], a[1]);
  nitro_fp_mul_wide(T[1], a[0], s);
}

/* r = a * b in Fp2 with two reductions instead of three Montgomery multiplications. r may alias. */
static inline void nitro_fp2_mul(uint32_t r[2][NITRO_FP_LIMBS], const uint32_t a[2][NITRO_FP_LIMBS],
                                 const uint32_t b[2][NITRO_FP_LIMBS]) {
  uint32_t T[2][2 * NITRO_FP_LIMBS];
  nitro_fp2_mul_wide(T, a, b);
  nitro_fp_redc(r[0], T[0]);
  nitro_fp_redc(r[1], T[1]);
}

/* Fp2 square: re = (a0 + a1)(a0 - a1 + p), im = 2 a0 a1. The factors of re are < 2p, which
 * nitro_fp_mul allows (their product is < 4p^2 < p * R). r may alias a. */
static inline void nitro_fp2_sqr(uint32_t r[2][NITRO_FP_LIMBS], const uint32_t a[2][NITRO_FP_LIMBS]) {
  uint32_t s[NITRO_FP_LIMBS], d[NITRO_FP_LIMBS], im[NITRO_FP_LIMBS];
  nitro_fp_add_nored(s, a[0], a[1]);
  nitro_fp_add_nored(d, a[0], nitro_fp_p);
  nitro_fp_sub_words(d, d, a[1], NITRO_FP_WORDS);
  nitro_fp_mul(im, a[0], a[1]);
  nitro_fp_add_nored(im, im, im);
  nitro_fp_final_sub(r[1], im, 0);
  nitro_fp_mul(r[0], s, d);
}

#endif /* NITRO_BLS_FP384_H */
