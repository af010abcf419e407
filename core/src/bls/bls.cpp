// BLS signatures (draft-irtf-cfrg-bls-signature): keys, sign, verify, aggregate, PoP.
#include "nitro/bls.h"

#include <algorithm>
#include <cassert>
#include <set>
#include <string>

#include "bls/curve.h"

namespace nitro::bls {
namespace {

using detail::Point;

const std::uint8_t* dst_ptr(std::string_view dst) { return reinterpret_cast<const std::uint8_t*>(dst.data()); }

Status check_message(ByteSpan msg) {
  if (msg.size() > kMessageBytesMax) return invalid_argument("message longer than 1 MiB");
  return Status::ok_status();
}

// CoreVerify over validated points: e(pk, H(m)) == e(g, sig), checked as one two-pair pairing
// product e(pk, H(m)) * e(-g, sig) == 1. `pk_lines` are the key's lines when it is on G2.
bool core_verify(const Suite& suite, const Point& pk, const detail::Lines* pk_lines, ByteSpan msg,
                 const Point& sig) {
  if (detail::point_is_identity(sig)) return false;  // never a valid signature for a valid key
  auto h = detail::acc_affine(detail::hash_to(suite.sig_group, msg, suite.dst));
  if (suite.sig_group == Group::kG1) {
    detail::Lines own;
    if (pk_lines == nullptr) {
      detail::lines_of(pk.p2, own);
      pk_lines = &own;
    }
    return detail::pairing2_is_one(*pk_lines, h.p1, detail::neg_g2_lines(), sig.p1);
  }
  static const blst_p1_affine neg_g1 = [] {
    blst_p1 g;
    blst_p1_from_affine(&g, blst_p1_affine_generator());
    blst_p1_cneg(&g, true);
    blst_p1_affine a;
    blst_p1_to_affine(&a, &g);
    return a;
  }();
  detail::Lines h_lines, sig_lines;
  detail::lines_of(h.p2, h_lines);
  detail::lines_of(sig.p2, sig_lines);
  return detail::pairing2_is_one(h_lines, pk.p1, sig_lines, neg_g1);
}

Result<std::vector<Point>> decode_keys(Group pk_group, std::span<const Bytes> pks) {
  if (pks.empty()) return invalid_argument("no public keys");
  if (pks.size() > kAggregateCountMax) return invalid_argument("too many public keys");
  std::vector<Point> out;
  out.reserve(pks.size());
  for (const auto& pk : pks) {
    auto p = detail::decode_point(pk_group, pk, false);
    if (!p.ok()) return p.status();
    out.push_back(*p);
  }
  return out;
}

}  // namespace

Result<SecretKey> SecretKey::from_bytes(ByteSpan bytes) {
  if (bytes.size() != kSecretKeyBytes) return decode_error("secret key: expected 32 bytes");
  blst_scalar s;
  blst_scalar_from_bendian(&s, bytes.data());
  if (!blst_sk_check(&s)) return decode_error("secret key: not in [1, r)");
  SecretKey sk;
  std::copy(bytes.begin(), bytes.end(), sk.be_.begin());
  return sk;
}

Result<SecretKey> key_gen(ByteSpan ikm, ByteSpan key_info) {
  if (ikm.size() < 32) return invalid_argument("key_gen: IKM must be at least 32 bytes");
  if (key_info.size() > 1024) return invalid_argument("key_gen: key_info longer than 1024 bytes");
  blst_scalar s;
  blst_keygen(&s, ikm.data(), ikm.size(), key_info.data(), key_info.size());
  return detail::secret_from_scalar(s);
}

Bytes sk_to_pk(const SecretKey& sk, Group pk_group) {
  return detail::acc_encode(detail::generator_mul(pk_group, detail::scalar_of(sk)));
}

Status key_validate(Group pk_group, ByteSpan pk) { return detail::decode_point(pk_group, pk, false).status(); }

Status point_validate(Group g, ByteSpan point, bool allow_identity) {
  return detail::decode_point(g, point, allow_identity).status();
}

Bytes sign(const SecretKey& sk, const Suite& suite, ByteSpan msg) {
  assert(msg.size() <= kMessageBytesMax);
  auto h = detail::hash_to(suite.sig_group, msg, suite.dst);
  return detail::acc_encode(detail::acc_mul(h, detail::scalar_of(sk)));
}

Result<bool> verify(const Suite& suite, ByteSpan pk, ByteSpan msg, ByteSpan sig) {
  NITRO_TRY(check_message(msg));
  auto p = detail::decode_point(suite.pk_group(), pk, false);
  if (!p.ok()) return p.status();
  auto s = detail::decode_point(suite.sig_group, sig, true);
  if (!s.ok()) return s.status();
  return core_verify(suite, *p, nullptr, msg, *s);
}

Result<bool> verify(const Suite& suite, const PublicKey& pk, ByteSpan msg, ByteSpan sig) {
  if (pk.group() != suite.pk_group()) return invalid_argument("verify: public key in the wrong group");
  NITRO_TRY(check_message(msg));
  auto s = detail::decode_point(suite.sig_group, sig, true);
  if (!s.ok()) return s.status();
  const auto& st = pk.state();
  return core_verify(suite, st.point, st.point.group == Group::kG2 ? &st.lines : nullptr, msg, *s);
}

Result<PublicKey> PublicKey::decode(Group g, ByteSpan bytes) {
  auto p = detail::decode_point(g, bytes, false);
  if (!p.ok()) return p.status();
  auto st = std::make_shared<detail::KeyState>();
  st->point = *p;
  st->bytes.assign(bytes.begin(), bytes.end());
  if (g == Group::kG2) detail::lines_of(p->p2, st->lines);
  PublicKey key;
  key.state_ = std::move(st);
  return key;
}

Group PublicKey::group() const { return state_->point.group; }
const Bytes& PublicKey::bytes() const { return state_->bytes; }

Result<PublicKey> KeyCache::get(Group g, ByteSpan bytes) {
  auto id = std::make_pair(g, Bytes(bytes.begin(), bytes.end()));
  auto it = entries_.find(id);
  if (it != entries_.end()) {
    it->second.used = ++clock_;
    return it->second.key;
  }
  auto key = PublicKey::decode(g, bytes);
  if (!key.ok()) return key.status();
  if (entries_.size() >= kEntriesMax) {
    auto oldest = entries_.begin();
    for (auto e = entries_.begin(); e != entries_.end(); ++e) {
      if (e->second.used < oldest->second.used) oldest = e;
    }
    entries_.erase(oldest);
  }
  entries_.emplace(std::move(id), Entry{*key, ++clock_});
  return key;
}

Result<Bytes> aggregate(Group g, std::span<const Bytes> points) {
  if (points.empty()) return invalid_argument("aggregate: no inputs");
  if (points.size() > kAggregateCountMax) return invalid_argument("aggregate: too many inputs");
  auto acc = detail::acc_zero(g);
  for (const auto& bytes : points) {
    auto p = detail::decode_point(g, bytes, true);
    if (!p.ok()) return p.status();
    detail::acc_add(acc, *p);
  }
  return detail::acc_encode(acc);
}

Result<bool> aggregate_verify(const Suite& suite, std::span<const Bytes> pks, std::span<const Bytes> msgs,
                              ByteSpan sig) {
  if (pks.size() != msgs.size()) return invalid_argument("aggregate_verify: keys and messages differ in count");
  auto keys = decode_keys(suite.pk_group(), pks);
  if (!keys.ok()) return keys.status();
  for (const auto& m : msgs) NITRO_TRY(check_message(m));
  auto s = detail::decode_point(suite.sig_group, sig, true);
  if (!s.ok()) return s.status();
  if (suite.dst == kDstG1Basic || suite.dst == kDstG2Basic) {
    std::set<Bytes> distinct(msgs.begin(), msgs.end());
    if (distinct.size() != msgs.size()) return false;
  }
  std::vector<std::uint64_t> ctx_mem((blst_pairing_sizeof() + 7) / 8);
  auto* ctx = reinterpret_cast<blst_pairing*>(ctx_mem.data());
  blst_pairing_init(ctx, true, dst_ptr(suite.dst), suite.dst.size());
  for (std::size_t i = 0; i < keys->size(); ++i) {
    const auto& k = (*keys)[i];
    BLST_ERROR err;
    if (suite.sig_group == Group::kG2) {
      err = blst_pairing_aggregate_pk_in_g1(ctx, &k.p1, i == 0 ? &s->p2 : nullptr, msgs[i].data(),
                                            msgs[i].size(), nullptr, 0);
    } else {
      err = blst_pairing_aggregate_pk_in_g2(ctx, &k.p2, i == 0 ? &s->p1 : nullptr, msgs[i].data(),
                                            msgs[i].size(), nullptr, 0);
    }
    if (err != BLST_SUCCESS) return false;
  }
  blst_pairing_commit(ctx);
  return static_cast<bool>(blst_pairing_finalverify(ctx, nullptr));
}

Result<bool> fast_aggregate_verify(const Suite& suite, std::span<const Bytes> pks, ByteSpan msg, ByteSpan sig) {
  auto keys = decode_keys(suite.pk_group(), pks);
  if (!keys.ok()) return keys.status();
  NITRO_TRY(check_message(msg));
  auto s = detail::decode_point(suite.sig_group, sig, true);
  if (!s.ok()) return s.status();
  auto acc = detail::acc_zero(suite.pk_group());
  for (const auto& k : *keys) detail::acc_add(acc, k);
  return core_verify(suite, detail::acc_affine(acc), nullptr, msg, *s);
}

Bytes pop_prove(const SecretKey& sk, Group sig_group) {
  Bytes pk = sk_to_pk(sk, other_group(sig_group));
  Suite pop{sig_group, sig_group == Group::kG2 ? kDstG2PopProof : kDstG1PopProof};
  return sign(sk, pop, pk);
}

Result<bool> pop_verify(Group sig_group, ByteSpan pk, ByteSpan proof) {
  Suite pop{sig_group, sig_group == Group::kG2 ? kDstG2PopProof : kDstG1PopProof};
  return verify(pop, pk, pk, proof);
}

}  // namespace nitro::bls
