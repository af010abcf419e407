// Embind glue for BLS signatures, drand beacon verification, tokens and threshold helpers.
// Glue only: argument conversion and errors-as-values; the logic is in core/src/bls.
#include <string>
#include <vector>

#include "bytes.h"
#include "nitro/bls.h"
#include "nitro/bls_threshold.h"

namespace nitro::bind {
namespace {

namespace th = nitro::bls::threshold;

bls::Group group_of(int g) { return g == 1 ? bls::Group::kG1 : bls::Group::kG2; }

bls::Suite suite_of(int sig_group, bool pop) {
  if (sig_group == 1) return pop ? bls::kMinSigPop : bls::kMinSigBasic;
  return pop ? bls::kMinPkPop : bls::kMinPkBasic;
}

std::vector<Bytes> bytes_list(const val& array) {
  std::vector<Bytes> out;
  const auto n = array["length"].as<std::size_t>();
  for (std::size_t i = 0; i < n; ++i) out.push_back(bytes_from_js(array[i]));
  return out;
}

val bytes_list_to_js(const std::vector<Bytes>& items) {
  val arr = val::array();
  for (std::size_t i = 0; i < items.size(); ++i) arr.set(i, bytes_to_js(items[i]));
  return arr;
}

template <typename T>
val result_bytes(const Result<T>& r) {
  if (!r.ok()) return error_to_js(r.status());
  return bytes_to_js(*r);
}

val result_bool(const Result<bool>& r) {
  if (!r.ok()) return error_to_js(r.status());
  return val(*r);
}

bls::KeyCache& key_cache() {
  static bls::KeyCache cache;  // decoded chain keys with their pairing precomputation
  return cache;
}

val beacon_verify(const std::string& scheme_id, const val& pk, double round, const val& sig, const val& prev) {
  auto scheme = bls::parse_scheme(scheme_id);
  if (!scheme.ok()) return error_to_js(scheme.status());
  auto key = key_cache().get(bls::scheme_suite(*scheme).pk_group(), bytes_from_js(pk));
  if (!key.ok()) return error_to_js(key.status());
  auto res = bls::verify_beacon(*scheme, *key, static_cast<std::uint64_t>(round), bytes_from_js(sig), bytes_from_js(prev));
  if (!res.ok()) return error_to_js(res.status());
  val out = val::object();
  out.set("valid", res->valid);
  out.set("randomness", bytes_to_js(res->randomness));
  return out;
}

val beacon_message(const std::string& scheme_id, double round, const val& prev) {
  auto scheme = bls::parse_scheme(scheme_id);
  if (!scheme.ok()) return error_to_js(scheme.status());
  return bytes_to_js(bls::beacon_message(*scheme, static_cast<std::uint64_t>(round), bytes_from_js(prev)));
}

val token(const val& randomness, double round, const std::string& label) {
  return result_bytes(bls::token(bytes_from_js(randomness), static_cast<std::uint64_t>(round), label));
}

val key_gen(const val& ikm, const val& info) {
  auto sk = bls::key_gen(bytes_from_js(ikm), bytes_from_js(info));
  if (!sk.ok()) return error_to_js(sk.status());
  return bytes_to_js(sk->bytes());
}

val sk_to_pk(const val& sk_bytes, int pk_group) {
  auto sk = bls::SecretKey::from_bytes(bytes_from_js(sk_bytes));
  if (!sk.ok()) return error_to_js(sk.status());
  return bytes_to_js(bls::sk_to_pk(*sk, group_of(pk_group)));
}

val sign(const val& sk_bytes, int sig_group, bool pop, const val& msg) {
  auto sk = bls::SecretKey::from_bytes(bytes_from_js(sk_bytes));
  if (!sk.ok()) return error_to_js(sk.status());
  Bytes m = bytes_from_js(msg);
  if (m.size() > bls::kMessageBytesMax) return error_to_js(invalid_argument("message longer than 1 MiB"));
  return bytes_to_js(bls::sign(*sk, suite_of(sig_group, pop), m));
}

val verify(int sig_group, bool pop, const val& pk, const val& msg, const val& sig) {
  return result_bool(bls::verify(suite_of(sig_group, pop), bytes_from_js(pk), bytes_from_js(msg), bytes_from_js(sig)));
}

val aggregate(int group, const val& points) { return result_bytes(bls::aggregate(group_of(group), bytes_list(points))); }

val aggregate_verify(int sig_group, bool pop, const val& pks, const val& msgs, const val& sig) {
  return result_bool(bls::aggregate_verify(suite_of(sig_group, pop), bytes_list(pks), bytes_list(msgs), bytes_from_js(sig)));
}

val fast_aggregate_verify(int sig_group, const val& pks, const val& msg, const val& sig) {
  return result_bool(
      bls::fast_aggregate_verify(suite_of(sig_group, true), bytes_list(pks), bytes_from_js(msg), bytes_from_js(sig)));
}

val pop_prove(const val& sk_bytes, int sig_group) {
  auto sk = bls::SecretKey::from_bytes(bytes_from_js(sk_bytes));
  if (!sk.ok()) return error_to_js(sk.status());
  return bytes_to_js(bls::pop_prove(*sk, group_of(sig_group)));
}

val pop_verify(int sig_group, const val& pk, const val& proof) {
  return result_bool(bls::pop_verify(group_of(sig_group), bytes_from_js(pk), bytes_from_js(proof)));
}

val deal(int pk_group, int threshold, int n, const val& seed) {
  if (threshold < 0 || n < 0) return error_to_js(invalid_argument("threshold and n must be positive"));
  auto d = th::deal(group_of(pk_group), static_cast<std::uint32_t>(threshold), static_cast<std::uint32_t>(n),
                    bytes_from_js(seed));
  if (!d.ok()) return error_to_js(d.status());
  val shares = val::array();
  for (std::size_t i = 0; i < d->shares.size(); ++i) {
    val s = val::object();
    s.set("index", d->shares[i].index);
    s.set("secretKey", bytes_to_js(d->shares[i].key.bytes()));
    shares.set(i, s);
  }
  val out = val::object();
  out.set("commitments", bytes_list_to_js(d->poly.commitments));
  out.set("groupPublicKey", bytes_to_js(d->poly.group_key()));
  out.set("shares", shares);
  return out;
}

val public_share(int pk_group, const val& commitments, int index) {
  th::PublicPoly poly{group_of(pk_group), bytes_list(commitments)};
  if (auto st = th::validate(poly); !st.ok()) return error_to_js(st);
  if (index <= 0) return error_to_js(invalid_argument("share index must be positive"));
  return result_bytes(th::public_share(poly, static_cast<th::Index>(index)));
}

val partial_verify(int sig_group, bool pop, const val& commitments, int index, const val& sig, const val& msg) {
  auto suite = suite_of(sig_group, pop);
  th::PublicPoly poly{suite.pk_group(), bytes_list(commitments)};
  if (auto st = th::validate(poly); !st.ok()) return error_to_js(st);
  if (index <= 0) return error_to_js(invalid_argument("share index must be positive"));
  th::Partial p{static_cast<th::Index>(index), bytes_from_js(sig)};
  return result_bool(th::partial_verify(suite, poly, p, bytes_from_js(msg)));
}

val recover(int sig_group, const val& partials, int threshold) {
  std::vector<th::Partial> ps;
  const auto n = partials["length"].as<std::size_t>();
  for (std::size_t i = 0; i < n; ++i) {
    const double index = partials[i]["index"].as<double>();
    if (!(index >= 1 && index <= th::kMembersMax)) return error_to_js(invalid_argument("share index out of range"));
    ps.push_back(th::Partial{static_cast<th::Index>(index), bytes_from_js(partials[i]["signature"])});
  }
  if (threshold <= 0) return error_to_js(invalid_argument("threshold must be positive"));
  return result_bytes(th::recover(group_of(sig_group), ps, static_cast<std::uint32_t>(threshold)));
}

}  // namespace
}  // namespace nitro::bind

EMSCRIPTEN_BINDINGS(nitro_bls) {
  using namespace nitro::bind;
  emscripten::function("blsBeaconVerify", &beacon_verify);
  emscripten::function("blsBeaconMessage", &beacon_message);
  emscripten::function("blsToken", &token);
  emscripten::function("blsKeyGen", &key_gen);
  emscripten::function("blsSkToPk", &sk_to_pk);
  emscripten::function("blsSign", &sign);
  emscripten::function("blsVerify", &verify);
  emscripten::function("blsAggregate", &aggregate);
  emscripten::function("blsAggregateVerify", &aggregate_verify);
  emscripten::function("blsFastAggregateVerify", &fast_aggregate_verify);
  emscripten::function("blsPopProve", &pop_prove);
  emscripten::function("blsPopVerify", &pop_verify);
  emscripten::function("blsDeal", &deal);
  emscripten::function("blsPublicShare", &public_share);
  emscripten::function("blsPartialVerify", &partial_verify);
  emscripten::function("blsRecover", &recover);
}
