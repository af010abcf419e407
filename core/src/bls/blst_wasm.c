/* blst for wasm: blst's server.c unity build, with its hot portable field functions replaced by
 * ours (fp384.h). Compiled instead of server.c for EMSCRIPTEN only (cmake/deps.cmake); native
 * builds keep blst's assembly. blst's files are included unmodified, in server.c's order (keep
 * formatters from sorting the includes).
 *
 * How the replacement works: blst's callers (curve, tower, pairing, hash-to-curve code, and the
 * exported blst_fp* API) see the names in blst_wasm_redirect.h redirected by macros to the nitro_*
 * wrappers below, which have blst's signatures. The macros are lifted while vect.c (which
 * includes no_asm.h) is compiled, so blst's own portable definitions still exist under their own
 * names: a modulus other than BLS12-381's p, which blst never passes, falls back to them.
 * fp12_tower.c is compiled with its assembly-only merged-reduction formulas (__FP2x2__), whose
 * double-width helpers (mul_382x, sqr_382x, add/sub_mod_384x384, redc_mont_384) are ours too.
 */
#include "vect.h"
#include "consts.h"

#include "bls/fp384.h"

typedef uint32_t nitro_limbs[NITRO_FP_LIMBS];

_Static_assert(sizeof(limb_t) == 4 && sizeof(vec384) == sizeof(nitro_limbs), "32-bit limbs");

/* Wrappers with blst's signatures. The modulus is always BLS12-381's p; any other falls back. */
#define NITRO_IS_P(p) ((p) == BLS12_381_P)

/* The additions stay out of line: inlined into blst's many Fp2/Fp6/Fp12 call sites they doubled
 * the blst part of the module and ran ~3% slower (instruction cache). */
#define NITRO_OUT_OF_LINE __attribute__((noinline))

static void nitro_mul_mont_384(vec384 ret, const vec384 a, const vec384 b, const vec384 p, limb_t n0) {
  if (NITRO_IS_P(p))
    nitro_fp_mul(ret, a, b);
  else
    mul_mont_384(ret, a, b, p, n0);
}

static void nitro_sqr_mont_384(vec384 ret, const vec384 a, const vec384 p, limb_t n0) {
  if (NITRO_IS_P(p))
    nitro_fp_sqr(ret, a);
  else
    sqr_mont_384(ret, a, p, n0);
}

/* ret = a^(2^count) * b (blst uses it in addition chains: inversion, square roots). */
static void nitro_sqr_n_mul_mont_383(vec384 ret, const vec384 a, size_t count, const vec384 p, limb_t n0,
                                     const vec384 b) {
  if (!NITRO_IS_P(p)) {
    sqr_n_mul_mont_383(ret, a, count, p, n0, b);
    return;
  }
  nitro_fp_sqr(ret, a);
  for (size_t i = 1; i < count; i++) nitro_fp_sqr(ret, ret);
  nitro_fp_mul(ret, ret, b);
}

static void nitro_mul_mont_384x(vec384x ret, const vec384x a, const vec384x b, const vec384 p, limb_t n0) {
  if (NITRO_IS_P(p))
    nitro_fp2_mul(ret, a, b);
  else
    mul_mont_384x(ret, a, b, p, n0);
}

static void nitro_sqr_mont_384x(vec384x ret, const vec384x a, const vec384 p, limb_t n0) {
  if (NITRO_IS_P(p))
    nitro_fp2_sqr(ret, a);
  else
    sqr_mont_384x(ret, a, p, n0);
}

NITRO_OUT_OF_LINE static void nitro_add_mod_384(vec384 ret, const vec384 a, const vec384 b, const vec384 p) {
  if (NITRO_IS_P(p))
    nitro_fp_add(ret, a, b);
  else
    add_mod_384(ret, a, b, p);
}

NITRO_OUT_OF_LINE static void nitro_sub_mod_384(vec384 ret, const vec384 a, const vec384 b, const vec384 p) {
  if (NITRO_IS_P(p))
    nitro_fp_sub(ret, a, b);
  else
    sub_mod_384(ret, a, b, p);
}

NITRO_OUT_OF_LINE static void nitro_add_mod_384x(vec384x ret, const vec384x a, const vec384x b,
                                                 const vec384 p) {
  nitro_add_mod_384(ret[0], a[0], b[0], p);
  nitro_add_mod_384(ret[1], a[1], b[1], p);
}

NITRO_OUT_OF_LINE static void nitro_sub_mod_384x(vec384x ret, const vec384x a, const vec384x b,
                                                 const vec384 p) {
  nitro_sub_mod_384(ret[0], a[0], b[0], p);
  nitro_sub_mod_384(ret[1], a[1], b[1], p);
}

/* Small multiples and conditional negation (point doubling/addition formulas). */
NITRO_OUT_OF_LINE static void nitro_lshift_mod_384(vec384 ret, const vec384 a, size_t count, const vec384 p) {
  if (!NITRO_IS_P(p)) {
    lshift_mod_384(ret, a, count, p);
    return;
  }
  nitro_fp_add(ret, a, a);
  for (size_t i = 1; i < count; i++) nitro_fp_add(ret, ret, ret);
}

static void nitro_mul_by_8_mod_384(vec384 ret, const vec384 a, const vec384 p) {
  nitro_lshift_mod_384(ret, a, 3, p);
}

NITRO_OUT_OF_LINE static void nitro_mul_by_3_mod_384(vec384 ret, const vec384 a, const vec384 p) {
  vec384 t;
  nitro_add_mod_384(t, a, a, p);
  nitro_add_mod_384(ret, t, a, p);
}

static void nitro_mul_by_3_mod_384x(vec384x ret, const vec384x a, const vec384 p) {
  nitro_mul_by_3_mod_384(ret[0], a[0], p);
  nitro_mul_by_3_mod_384(ret[1], a[1], p);
}

static void nitro_mul_by_8_mod_384x(vec384x ret, const vec384x a, const vec384 p) {
  nitro_lshift_mod_384(ret[0], a[0], 3, p);
  nitro_lshift_mod_384(ret[1], a[1], 3, p);
}

NITRO_OUT_OF_LINE static void nitro_cneg_mod_384(vec384 ret, const vec384 a, bool_t flag, const vec384 p) {
  if (NITRO_IS_P(p))
    nitro_fp_cneg(ret, a, flag);
  else
    cneg_mod_384(ret, a, flag, p);
}

/* ret = a * (1 + u) = (a0 - a1) + (a0 + a1) u; ret may alias a. */
NITRO_OUT_OF_LINE static void nitro_mul_by_1_plus_i_mod_384x(vec384x ret, const vec384x a, const vec384 p) {
  vec384 t;
  nitro_add_mod_384(t, a[0], a[1], p);
  nitro_sub_mod_384(ret[0], a[0], a[1], p);
  vec_copy(ret[1], t, sizeof(t));
}

/* The double-width ("x2") interface that blst's Fp12 tower uses to merge reductions when built
 * with assembly (fp12_tower.c's __FP2x2__ path); its only callers pass BLS12_381_P. */
static void nitro_mul_382x(vec768 ret[2], const vec384x a, const vec384x b, const vec384 p) {
  (void)p;
  nitro_fp2_mul_wide(ret, a, b);
}

static void nitro_sqr_382x(vec768 ret[2], const vec384x a, const vec384 p) {
  (void)p;
  nitro_fp2_sqr_wide(ret, a);
}

NITRO_OUT_OF_LINE static void nitro_add_mod_384x384(vec768 ret, const vec768 a, const vec768 b,
                                                    const vec384 p) {
  (void)p;
  nitro_fpx2_add(ret, a, b);
}

NITRO_OUT_OF_LINE static void nitro_sub_mod_384x384(vec768 ret, const vec768 a, const vec768 b,
                                                    const vec384 p) {
  (void)p;
  nitro_fpx2_sub(ret, a, b);
}

static void nitro_redc_mont_384(vec384 ret, const vec768 a, const vec384 p, limb_t n0) {
  if (NITRO_IS_P(p))
    nitro_fp_redc(ret, a);
  else
    redc_mont_384(ret, a, p, n0);
}

#include "bls/blst_wasm_redirect.h"

#include "keygen.c"
#include "hash_to_field.c"
#include "e1.c"
#include "map_to_g1.c"
#include "e2.c"
#include "map_to_g2.c"
/* blst enables its merged-reduction Fp6/Fp12 formulas only with assembly; the x2 functions above
 * provide what they need. */
#undef __BLST_NO_ASM__
#include "fp12_tower.c"
#define __BLST_NO_ASM__
#include "pairing.c"
#include "aggregate.c"
#include "exp.c"
#include "sqrt.c"
#include "recip.c"
#include "bulk_addition.c"
#include "multi_scalar.c"
#include "consts.c"

/* blst's own definitions (portable, no_asm.h) under their own names: the fallbacks. */
#include "bls/blst_wasm_unredirect.h"
#include "vect.c"
#include "bls/blst_wasm_unredirect.h"

#include "bls/blst_wasm_redirect.h"
#include "exports.c"
#include "rb_tree.c"
