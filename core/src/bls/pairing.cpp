// A two-pair Miller loop over precomputed lines sharing the accumulator's squarings, then one
// final exponentiation. This is blst's miller_loop_lines schedule (pairing.c) run over two
// line tables at once; blst exposes the pieces (lines, sparse multiplication) but not the
// multi-pair loop over precomputed lines, which is what makes a verify against a fixed key fast.
#include <cstring>

#include "bls/curve.h"

namespace nitro::bls::detail {
namespace {

// Doubled coordinates of P used by the line evaluation: (-2x, 2y).
struct Px2 {
  blst_fp x, y;
};

Px2 px2_of(const blst_p1_affine& p) {
  Px2 out;
  blst_fp_add(&out.x, &p.x, &p.x);
  blst_fp_cneg(&out.x, &out.x, true);
  blst_fp_add(&out.y, &p.y, &p.y);
  return out;
}

// Evaluates a precomputed line at P: the "b01" part scales by -2x, "b11" by 2y.
void line_at(blst_fp6& out, const blst_fp6& in, const Px2& p) {
  out.fp2[0] = in.fp2[0];
  blst_fp_mul(&out.fp2[1].fp[0], &in.fp2[1].fp[0], &p.x);
  blst_fp_mul(&out.fp2[1].fp[1], &in.fp2[1].fp[1], &p.x);
  blst_fp_mul(&out.fp2[2].fp[0], &in.fp2[2].fp[0], &p.y);
  blst_fp_mul(&out.fp2[2].fp[1], &in.fp2[2].fp[1], &p.y);
}

// Segments of |z|: each starts with an addition line then `doublings` doubling lines.
constexpr int kSegmentStart[5] = {1, 4, 8, 18, 51};
constexpr int kSegmentDoublings[5] = {2, 3, 9, 32, 16};
static_assert(kSegmentStart[4] + kSegmentDoublings[4] + 1 == 68);

}  // namespace

void lines_of(const blst_p2_affine& q, Lines& out) { blst_precompute_lines(out.l, &q); }

const Lines& neg_g2_lines() {
  static const Lines lines = [] {
    blst_p2 g;
    blst_p2_from_affine(&g, blst_p2_affine_generator());
    blst_p2_cneg(&g, true);
    blst_p2_affine ga;
    blst_p2_to_affine(&ga, &g);
    Lines l;
    lines_of(ga, l);
    return l;
  }();
  return lines;
}

bool pairing2_is_one(const Lines& q0, const blst_p1_affine& p0, const Lines& q1, const blst_p1_affine& p1) {
  const Lines* q[2] = {&q0, &q1};
  const Px2 px[2] = {px2_of(p0), px2_of(p1)};
  blst_fp6 line;
  blst_fp12 f;
  // The first step is f = 1^2 * line0, written directly in sparse form.
  line_at(line, q0.l[0], px[0]);
  std::memset(&f, 0, sizeof f);
  f.fp6[0].fp2[0] = line.fp2[0];
  f.fp6[0].fp2[1] = line.fp2[1];
  f.fp6[1].fp2[1] = line.fp2[2];
  line_at(line, q1.l[0], px[1]);
  blst_fp12_mul_by_xy00z0(&f, &f, &line);
  for (int s = 0; s < 5; ++s) {
    const int k = kSegmentStart[s];
    for (int i = 0; i < 2; ++i) {
      line_at(line, q[i]->l[k], px[i]);
      blst_fp12_mul_by_xy00z0(&f, &f, &line);
    }
    for (int d = 1; d <= kSegmentDoublings[s]; ++d) {
      blst_fp12_sqr(&f, &f);
      for (int i = 0; i < 2; ++i) {
        line_at(line, q[i]->l[k + d], px[i]);
        blst_fp12_mul_by_xy00z0(&f, &f, &line);
      }
    }
  }
  blst_fp12_conjugate(&f);  // z is negative
  blst_fp12 gt;
  blst_final_exp(&gt, &f);
  return blst_fp12_is_one(&gt);
}

}  // namespace nitro::bls::detail
