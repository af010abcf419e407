// BeaconProtocol: the threshold beacon on a nitro::Node (see nitro/beacon_protocol.h).
#include "nitro/beacon_protocol.h"

#include <algorithm>

#include "nitro/codec.h"

namespace nitro::beacon {
namespace {

std::string hex(std::span<const std::uint8_t> bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s;
  for (auto b : bytes) {
    s.push_back(kDigits[b >> 4]);
    s.push_back(kDigits[b & 15]);
  }
  return s;
}

Bytes to_bytes(std::span<const std::uint8_t> s) { return Bytes(s.begin(), s.end()); }

}  // namespace

std::string topic_for(const std::vector<PeerId>& sorted_members) {
  Bytes all;
  for (const auto& m : sorted_members) all.insert(all.end(), m.bytes().begin(), m.bytes().end());
  const auto digest = bls::beacon_randomness(all);  // sha256
  return "nitro-beacon/" + hex(std::span(digest).first(8));
}

BeaconProtocol::BeaconProtocol(BeaconNodeConfig config, std::vector<PeerId> members, bls::Index self)
    : config_(std::move(config)), members_(std::move(members)), self_(self), topic_(topic_for(members_)) {}

Result<std::unique_ptr<BeaconProtocol>> BeaconProtocol::create(BeaconNodeConfig config, const PeerId& self) {
  std::vector<PeerId> members = config.group;
  std::sort(members.begin(), members.end());
  if (members.empty() || members.size() > kMembersMax) return Status(invalid_argument("beacon: bad group size"));
  if (std::adjacent_find(members.begin(), members.end()) != members.end()) {
    return Status(invalid_argument("beacon: duplicate group member"));
  }
  auto it = std::find(members.begin(), members.end(), self);
  if (it == members.end()) return Status(invalid_argument("beacon: this node is not a group member"));
  const auto self_index = static_cast<bls::Index>(it - members.begin() + 1);
  if (config.threshold == 0 || config.threshold > members.size()) {
    return Status(invalid_argument("beacon: threshold must be in 1..group size"));
  }
  if (config.period_ms == 0) return Status(invalid_argument("beacon: period_ms must be positive"));
  if (config.poly.has_value() != config.share.has_value()) {
    return Status(invalid_argument("beacon: dealer mode needs both the polynomial and the share"));
  }
  if (config.share && config.share->index != self_index) {
    return Status(invalid_argument("beacon: the dealer share's index is not this member's index"));
  }
  if (config.poly && config.poly->threshold() != config.threshold) {
    return Status(invalid_argument("beacon: the polynomial's threshold differs from the configured one"));
  }
  if (!config.poly && (!config.identity_seed || !(crypto::Identity::from_seed(*config.identity_seed).peer_id() == self))) {
    return Status(invalid_argument("beacon: DKG mode needs this node's identity seed to sign its deal"));
  }
  std::unique_ptr<BeaconProtocol> p(new BeaconProtocol(std::move(config), std::move(members), self_index));
  if (p->config_.poly) {
    Status s = p->start_engine(*p->config_.poly, *p->config_.share);
    if (!s.ok()) return s;
  }
  return p;
}

Status BeaconProtocol::start_engine(bls::threshold::PublicPoly poly, bls::threshold::Share share) {
  bls::BeaconConfig c;
  c.scheme = config_.scheme;
  c.genesis_seed = config_.genesis_seed;
  if (c.genesis_seed.empty()) {
    const auto d = bls::beacon_randomness(poly.group_key());
    c.genesis_seed = Bytes(d.begin(), d.end());
  }
  c.poly = std::move(poly);
  c.share = std::move(share);
  c.n = static_cast<std::uint32_t>(members_.size());
  c.genesis_ms = config_.genesis_ms;
  c.period_ms = config_.period_ms;
  c.history_rounds_max = config_.history_rounds_max;
  auto engine = bls::BeaconEngine::create(std::move(c));
  if (!engine.ok()) return engine.status();
  engine_.emplace(std::move(*engine));
  return Status::ok_status();
}

void BeaconProtocol::attach(ProtocolContext& ctx) {
  ctx_ = &ctx;
  (void)ctx.subscribe(topic_);
  if (engine_) {
    const auto& key = engine_->config().poly.group_key();
    ctx.emit(codec::encode(Value{Map{{Value{"type"}, Value{"ready"}}, {Value{"group_key"}, Value{key}},
                                     {Value{"index"}, Value{std::uint64_t{self_}}}}}));
    engine_->tick(ctx.now_ms());
    drain();
    return;
  }
  bls::DkgConfig dc;
  dc.pk_group = bls::scheme_suite(config_.scheme).pk_group();
  dc.n = static_cast<std::uint32_t>(members_.size());
  dc.threshold = config_.threshold;
  dc.self = self_;
  dc.phase_ms = config_.dkg_phase_ms;
  dc.session = dkg_session();
  const auto identity = crypto::Identity::from_seed(*config_.identity_seed);
  dc.sign = [identity](bls::ByteSpan m) {
    const auto sig = identity.sign(m);
    return Bytes(sig.begin(), sig.end());
  };
  dc.verify = [this](bls::Index i, bls::ByteSpan m, bls::ByteSpan sig) {
    return i >= 1 && i <= members_.size() && members_[i - 1].verify(m, sig);
  };
  Bytes seed(32);
  ctx.random_bytes(seed);
  auto dkg = bls::Dkg::create(dc, seed);
  if (!dkg.ok()) {
    dkg_failed_ = true;
    ctx.emit(codec::encode(Value{Map{{Value{"type"}, Value{"dkg_failed"}},
                                     {Value{"reason"}, Value{dkg.status().message()}}}}));
    return;
  }
  dkg_.emplace(std::move(*dkg));
  if (config_.dkg_start_ms == 0) config_.dkg_start_ms = ctx.now_ms();
  maybe_start_dkg(ctx.now_ms());
}

// What the deal signatures are bound to: the group (its topic), the threshold, the scheme and
// the caller's session value.
Bytes BeaconProtocol::dkg_session() const {
  Bytes s(topic_.begin(), topic_.end());
  s.push_back(0);
  for (int k = 3; k >= 0; --k) s.push_back(static_cast<std::uint8_t>(config_.threshold >> (8 * k)));
  s.push_back(static_cast<std::uint8_t>(config_.scheme));
  s.insert(s.end(), config_.dkg_session.begin(), config_.dkg_session.end());
  return s;
}

void BeaconProtocol::close() {
  if (closed_) return;
  closed_ = true;
  if (ctx_) (void)ctx_->unsubscribe(topic_);
  engine_.reset();
  dkg_.reset();
  early_.clear();
}

std::optional<Bytes> BeaconProtocol::group_key() const {
  if (!engine_) return std::nullopt;
  return engine_->config().poly.group_key();
}

std::optional<bls::Index> BeaconProtocol::index_of(const PeerId& peer) const {
  auto it = std::lower_bound(members_.begin(), members_.end(), peer);
  if (it == members_.end() || !(*it == peer)) return std::nullopt;
  return static_cast<bls::Index>(it - members_.begin() + 1);
}

void BeaconProtocol::on_message(const PeerId& from, std::span<const std::uint8_t> bytes, std::uint64_t now_ms) {
  if (closed_) return;
  auto index = index_of(from);
  if (!index || *index == self_) {
    stats_.foreign++;
    return;
  }
  on_frame(*index, bytes, now_ms);
}

void BeaconProtocol::on_broadcast(const std::string& topic, const PeerId& origin, std::uint64_t seq,
                                  std::span<const std::uint8_t> payload, std::uint64_t now_ms) {
  (void)seq;
  if (topic != topic_) return;
  on_message(origin, payload, now_ms);
}

void BeaconProtocol::on_frame(bls::Index from, std::span<const std::uint8_t> bytes, std::uint64_t now_ms) {
  stats_.frames_in++;
  if (engine_) {
    (void)engine_->handle(from, bytes, now_ms);  // rejections surface as events
  } else if (dkg_ && dkg_started_) {
    (void)dkg_->handle(from, bytes, now_ms);
  } else if (dkg_ && early_.size() < kEarlyFramesMax) {
    early_.emplace_back(from, to_bytes(bytes));
  }
  drain();
}

void BeaconProtocol::maybe_start_dkg(std::uint64_t now_ms) {
  if (!dkg_ || dkg_started_ || now_ms < config_.dkg_start_ms) return;
  dkg_started_ = true;
  dkg_->start(now_ms);
  while (!early_.empty()) {
    auto [from, bytes] = std::move(early_.front());
    early_.pop_front();
    (void)dkg_->handle(from, bytes, now_ms);
  }
  drain();
}

void BeaconProtocol::tick(std::uint64_t now_ms) {
  if (engine_) {
    engine_->tick(now_ms);
  } else if (dkg_ && dkg_started_) {
    dkg_->tick(now_ms);
  } else {
    maybe_start_dkg(now_ms);
  }
  drain();
}

std::optional<std::uint64_t> BeaconProtocol::next_deadline() const {
  if (engine_) return engine_->next_deadline();
  if (!dkg_) return std::nullopt;
  if (!dkg_started_) return config_.dkg_start_ms;
  return dkg_->next_deadline();
}

void BeaconProtocol::transmit(const bls::Outgoing& out) {
  stats_.frames_out++;
  if (!out.to) {
    if (!ctx_->publish(topic_, out.bytes).ok()) stats_.send_failures++;
    return;
  }
  if (*out.to == 0 || *out.to > members_.size() || *out.to == self_) return;
  if (!ctx_->send(members_[*out.to - 1], out.bytes).ok()) stats_.send_failures++;
}

// Drains the engines' queues; a finished DKG starts the engine (whose own output is drained too).
void BeaconProtocol::drain() {
  if (!ctx_) return;
  if (dkg_) {
    while (auto out = dkg_->poll_transmit()) transmit(*out);
    while (auto ev = dkg_->poll_event()) {
      if (auto* done = std::get_if<bls::DkgFinished>(&*ev)) {
        qualified_ = done->qualified;
        Status s = start_engine(done->poly, done->share);
        if (s.ok()) {
          ctx_->emit(codec::encode(Value{Map{{Value{"type"}, Value{"ready"}},
                                             {Value{"group_key"}, Value{done->poly.group_key()}},
                                             {Value{"index"}, Value{std::uint64_t{self_}}}}}));
          engine_->tick(ctx_->now_ms());
          continue;
        }
        dkg_failed_ = true;
        ctx_->emit(codec::encode(Value{Map{{Value{"type"}, Value{"dkg_failed"}}, {Value{"reason"}, Value{s.message()}}}}));
      } else if (auto* failed = std::get_if<bls::DkgFailed>(&*ev)) {
        dkg_failed_ = true;
        ctx_->emit(codec::encode(Value{Map{{Value{"type"}, Value{"dkg_failed"}},
                                           {Value{"reason"}, Value{failed->reason.message()}}}}));
      }
    }
    if (engine_ || dkg_failed_) dkg_.reset();
  }
  if (!engine_) return;
  while (auto out = engine_->poll_transmit()) transmit(*out);
  while (auto ev = engine_->poll_event()) {
    if (auto* round = std::get_if<bls::RoundEvent>(&*ev)) emit_round(*round);
    if (auto* rejected = std::get_if<bls::RejectedEvent>(&*ev)) emit_rejected(*rejected);
  }
}

void BeaconProtocol::emit_round(const bls::RoundEvent& ev) {
  stats_.rounds++;
  ctx_->emit(codec::encode(Value{Map{{Value{"type"}, Value{"round"}},
                                     {Value{"round"}, Value{ev.round}},
                                     {Value{"signature"}, Value{ev.signature}},
                                     {Value{"previous_signature"}, Value{ev.previous_signature}},
                                     {Value{"randomness"}, Value{to_bytes(ev.randomness)}}}}));
}

void BeaconProtocol::emit_rejected(const bls::RejectedEvent& ev) {
  stats_.rejected++;
  std::string from;
  if (ev.from >= 1 && ev.from <= members_.size()) from = members_[ev.from - 1].to_string();
  ctx_->emit(codec::encode(Value{Map{{Value{"type"}, Value{"rejected"}},
                                     {Value{"from"}, Value{from}},
                                     {Value{"round"}, Value{ev.round}},
                                     {Value{"reason"}, Value{ev.reason.message()}}}}));
}

}  // namespace nitro::beacon
