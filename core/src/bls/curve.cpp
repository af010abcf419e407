// Internal blst helpers: every point decoded from outside goes through decode_point.
#include "bls/curve.h"

#include <sodium.h>

#include <cassert>
#include <cstring>
#include <string>

namespace nitro::bls::detail {
namespace {

const char* group_name(Group g) { return g == Group::kG1 ? "G1" : "G2"; }

Status blst_status(BLST_ERROR err, Group g) {
  std::string where = std::string(group_name(g)) + " point: ";
  switch (err) {
    case BLST_SUCCESS: return Status::ok_status();
    case BLST_BAD_ENCODING: return decode_error(where + "bad encoding");
    case BLST_POINT_NOT_ON_CURVE: return decode_error(where + "not on the curve");
    case BLST_POINT_NOT_IN_GROUP: return decode_error(where + "not in the subgroup");
    default: return decode_error(where + "invalid");
  }
}

}  // namespace

Result<Point> decode_point(Group g, ByteSpan bytes, bool allow_identity) {
  if (bytes.size() != point_bytes(g)) {
    return decode_error(std::string(group_name(g)) + " point: expected " + std::to_string(point_bytes(g)) +
                        " bytes, got " + std::to_string(bytes.size()));
  }
  // Compressed form only: the top bit must be set (uncompressed input would need 2x the bytes).
  if ((bytes[0] & 0x80) == 0) return decode_error(std::string(group_name(g)) + " point: not compressed");
  Point p;
  p.group = g;
  BLST_ERROR err;
  bool in_group;
  if (g == Group::kG1) {
    err = blst_p1_uncompress(&p.p1, bytes.data());
    in_group = err == BLST_SUCCESS && blst_p1_affine_in_g1(&p.p1);
  } else {
    err = blst_p2_uncompress(&p.p2, bytes.data());
    in_group = err == BLST_SUCCESS && blst_p2_affine_in_g2(&p.p2);
  }
  NITRO_TRY(blst_status(err, g));
  if (!in_group) return blst_status(BLST_POINT_NOT_IN_GROUP, g);
  if (!allow_identity && point_is_identity(p)) {
    return decode_error(std::string(group_name(g)) + " point: identity not allowed here");
  }
  return p;
}

bool point_is_identity(const Point& p) {
  return p.group == Group::kG1 ? blst_p1_affine_is_inf(&p.p1) : blst_p2_affine_is_inf(&p.p2);
}

Bytes encode_point(const Point& p) {
  Bytes out(point_bytes(p.group));
  if (p.group == Group::kG1) blst_p1_affine_compress(out.data(), &p.p1);
  else blst_p2_affine_compress(out.data(), &p.p2);
  return out;
}

Acc acc_zero(Group g) {
  Acc a;  // blst represents infinity as z = 0, which value-initialization gives
  a.group = g;
  return a;
}

Acc acc_from(const Point& p) {
  Acc a = acc_zero(p.group);
  if (p.group == Group::kG1) blst_p1_from_affine(&a.p1, &p.p1);
  else blst_p2_from_affine(&a.p2, &p.p2);
  return a;
}

void acc_add(Acc& acc, const Point& p) {
  assert(acc.group == p.group);
  if (acc.group == Group::kG1) blst_p1_add_or_double_affine(&acc.p1, &acc.p1, &p.p1);
  else blst_p2_add_or_double_affine(&acc.p2, &acc.p2, &p.p2);
}

void acc_add(Acc& acc, const Acc& other) {
  assert(acc.group == other.group);
  if (acc.group == Group::kG1) blst_p1_add_or_double(&acc.p1, &acc.p1, &other.p1);
  else blst_p2_add_or_double(&acc.p2, &acc.p2, &other.p2);
}

Acc acc_mul(const Acc& acc, const blst_scalar& k) {
  std::uint8_t le[32];
  blst_lendian_from_scalar(le, &k);
  Acc out = acc_zero(acc.group);
  if (acc.group == Group::kG1) blst_p1_mult(&out.p1, &acc.p1, le, 255);
  else blst_p2_mult(&out.p2, &acc.p2, le, 255);
  return out;
}

Acc acc_mul_small(const Acc& acc, std::uint64_t k) {
  std::uint8_t le[8];
  for (int i = 0; i < 8; ++i) le[i] = static_cast<std::uint8_t>(k >> (8 * i));
  Acc out = acc_zero(acc.group);
  if (acc.group == Group::kG1) blst_p1_mult(&out.p1, &acc.p1, le, 64);
  else blst_p2_mult(&out.p2, &acc.p2, le, 64);
  return out;
}

Point acc_affine(const Acc& acc) {
  Point p;
  p.group = acc.group;
  if (acc.group == Group::kG1) blst_p1_to_affine(&p.p1, &acc.p1);
  else blst_p2_to_affine(&p.p2, &acc.p2);
  return p;
}

Bytes acc_encode(const Acc& acc) {
  Bytes out(point_bytes(acc.group));
  if (acc.group == Group::kG1) blst_p1_compress(out.data(), &acc.p1);
  else blst_p2_compress(out.data(), &acc.p2);
  return out;
}

bool acc_equal(const Acc& a, const Acc& b) {
  if (a.group != b.group) return false;
  return a.group == Group::kG1 ? blst_p1_is_equal(&a.p1, &b.p1) : blst_p2_is_equal(&a.p2, &b.p2);
}

Acc generator_mul(Group g, const blst_scalar& sk) {
  Acc out = acc_zero(g);
  if (g == Group::kG1) blst_sk_to_pk_in_g1(&out.p1, &sk);
  else blst_sk_to_pk_in_g2(&out.p2, &sk);
  return out;
}

Acc hash_to(Group g, ByteSpan msg, std::string_view dst) {
  Acc out = acc_zero(g);
  const auto* d = reinterpret_cast<const std::uint8_t*>(dst.data());
  if (g == Group::kG1) blst_hash_to_g1(&out.p1, msg.data(), msg.size(), d, dst.size(), nullptr, 0);
  else blst_hash_to_g2(&out.p2, msg.data(), msg.size(), d, dst.size(), nullptr, 0);
  return out;
}

blst_fr fr_from_u64(std::uint64_t v) {
  const std::uint64_t limbs[4] = {v, 0, 0, 0};
  blst_fr f;
  blst_fr_from_uint64(&f, limbs);
  return f;
}

blst_fr fr_from_scalar(const blst_scalar& s) {
  blst_fr f;
  blst_fr_from_scalar(&f, &s);
  return f;
}

blst_scalar scalar_from_fr(const blst_fr& f) {
  blst_scalar s;
  blst_scalar_from_fr(&s, &f);
  return s;
}

blst_scalar scalar_from_seed(ByteSpan seed, std::string_view dst, std::uint32_t counter) {
  Bytes msg(seed.begin(), seed.end());
  for (int i = 3; i >= 0; --i) msg.push_back(static_cast<std::uint8_t>(counter >> (8 * i)));
  std::uint8_t wide[48];  // 384 bits reduced mod r: bias below 2^-128
  blst_expand_message_xmd(wide, sizeof wide, msg.data(), msg.size(),
                          reinterpret_cast<const std::uint8_t*>(dst.data()), dst.size());
  blst_scalar s;
  blst_scalar_from_be_bytes(&s, wide, sizeof wide);
  return s;
}

blst_scalar scalar_of(const SecretKey& sk) {
  blst_scalar s;
  blst_scalar_from_bendian(&s, sk.bytes().data());
  return s;
}

SecretKey secret_from_scalar(const blst_scalar& s) {
  std::uint8_t be[32];
  blst_bendian_from_scalar(be, &s);
  auto sk = SecretKey::from_bytes(ByteSpan(be, sizeof be));
  assert(sk.ok());
  return *sk;
}

std::array<std::uint8_t, kDigestBytes> sha256(std::initializer_list<ByteSpan> parts) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  for (const auto& p : parts) crypto_hash_sha256_update(&st, p.data(), p.size());
  std::array<std::uint8_t, kDigestBytes> out{};
  crypto_hash_sha256_final(&st, out.data());
  return out;
}

}  // namespace nitro::bls::detail
