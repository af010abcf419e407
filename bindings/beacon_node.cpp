// Embind glue for the threshold beacon on a node (nitro::beacon::BeaconProtocol): attach it to a
// NodeCore under a channel, and close it. Conversion only; the logic is in core/src/beacon. Peer
// ids are base32 text, bytes Uint8Array, times JS numbers of node-clock milliseconds; errors are
// values (bytes.h error_to_js). Events arrive through the node as kProtocol msgpack maps.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "convert.h"
#include "node_core.h"
#include "nitro/beacon_protocol.h"

namespace nitro::bind {
namespace {

namespace th = nitro::bls::threshold;

Status number_field(const val& opts, const char* key, std::uint64_t& out, bool required) {
  const val x = opts[key];
  if (x.isUndefined() && !required) return Status::ok_status();
  auto n = safe_u64(x);
  if (!n) return invalid_argument(std::string("beacon: ") + key + " must be a non-negative safe integer");
  out = *n;
  return Status::ok_status();
}

// opts: { group: string[], threshold, scheme, genesisMs, periodMs,
//         dealer?: { commitments: Uint8Array[], share: { index, secretKey } },
//         dkgStartMs?, dkgPhaseMs? }
Result<beacon::BeaconNodeConfig> config_from_js(const val& opts) {
  beacon::BeaconNodeConfig c;
  const val group = opts["group"];
  if (!group.isArray()) return Status(invalid_argument("beacon: group must be an array of peer ids"));
  const auto n = group["length"].as<std::size_t>();
  if (n > beacon::kMembersMax) return Status(invalid_argument("beacon: group too large"));
  for (std::size_t i = 0; i < n; ++i) {
    if (!group[i].isString()) return Status(invalid_argument("beacon: group entries must be peer id strings"));
    auto id = PeerId::parse(group[i].as<std::string>());
    if (!id.ok()) return id.status();
    c.group.push_back(*id);
  }
  std::uint64_t t = 0;
  NITRO_TRY(number_field(opts, "threshold", t, true));
  c.threshold = static_cast<std::uint32_t>(std::min<std::uint64_t>(t, beacon::kMembersMax + 1));
  NITRO_TRY(number_field(opts, "genesisMs", c.genesis_ms, true));
  NITRO_TRY(number_field(opts, "periodMs", c.period_ms, true));
  NITRO_TRY(number_field(opts, "dkgStartMs", c.dkg_start_ms, false));
  NITRO_TRY(number_field(opts, "dkgPhaseMs", c.dkg_phase_ms, false));
  if (!opts["scheme"].isString()) return Status(invalid_argument("beacon: scheme must be a string"));
  auto scheme = bls::parse_scheme(opts["scheme"].as<std::string>());
  if (!scheme.ok()) return scheme.status();
  c.scheme = *scheme;
  const val dealer = opts["dealer"];
  if (dealer.isUndefined() || dealer.isNull()) return c;
  const val commitments = dealer["commitments"];
  const val share = dealer["share"];
  if (!commitments.isArray() || share.isUndefined()) {
    return Status(invalid_argument("beacon: dealer needs commitments and share"));
  }
  th::PublicPoly poly{bls::scheme_suite(c.scheme).pk_group(), {}};
  const auto k = commitments["length"].as<std::size_t>();
  if (k > beacon::kMembersMax) return Status(invalid_argument("beacon: too many commitments"));
  for (std::size_t i = 0; i < k; ++i) poly.commitments.push_back(bytes_from_js(commitments[i]));
  NITRO_TRY(th::validate(poly));
  std::uint64_t index = 0;
  NITRO_TRY(number_field(share, "index", index, true));
  auto key = bls::SecretKey::from_bytes(bytes_from_js(share["secretKey"]));
  if (!key.ok()) return key.status();
  c.poly = std::move(poly);
  c.share = th::Share{static_cast<th::Index>(std::min<std::uint64_t>(index, beacon::kMembersMax + 1)), *key};
  return c;
}

// Returns { index, topic } or an error value.
val beacon_attach(NodeCore& core, const std::string& channel, const val& opts) {
  auto config = config_from_js(opts);
  if (!config.ok()) return error_to_js(config.status());
  config->identity_seed = core.node().config().identity_seed;  // signs this member's DKG deal
  auto p = beacon::BeaconProtocol::create(std::move(*config), core.node().id());
  if (!p.ok()) return error_to_js(p.status());
  const auto index = (*p)->self_index();
  const std::string topic = (*p)->topic();
  Status s = core.node().add_protocol(channel, std::move(*p));
  if (!s.ok()) return error_to_js(s);
  val out = val::object();
  out.set("index", index);
  out.set("topic", topic);
  return out;
}

// The local member index a group gives this node (0 if not a member), for picking a dealer share.
int beacon_member_index(NodeCore& core, const val& group) {
  beacon::BeaconNodeConfig c;
  if (!group.isArray()) return 0;
  const auto n = group["length"].as<std::size_t>();
  for (std::size_t i = 0; i < n && i <= beacon::kMembersMax; ++i) {
    if (!group[i].isString()) return 0;
    auto id = PeerId::parse(group[i].as<std::string>());
    if (!id.ok()) return 0;
    c.group.push_back(*id);
  }
  std::sort(c.group.begin(), c.group.end());
  auto it = std::find(c.group.begin(), c.group.end(), core.node().id());
  return it == c.group.end() ? 0 : static_cast<int>(it - c.group.begin() + 1);
}

bool beacon_close(NodeCore& core, const std::string& channel) {
  auto* p = dynamic_cast<beacon::BeaconProtocol*>(core.node().protocol(channel));
  if (!p) return false;
  p->close();
  return true;
}

}  // namespace

EMSCRIPTEN_BINDINGS(nitro_beacon_node) {
  emscripten::function("beaconAttach", &beacon_attach);
  emscripten::function("beaconMemberIndex", &beacon_member_index);
  emscripten::function("beaconClose", &beacon_close);
}

}  // namespace nitro::bind
