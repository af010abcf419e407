// Joint-Feldman DKG with complaints (Pedersen 1991; the "Pedersen/Feldman VSS" drand's DKG
// follows): every member deals a random polynomial, broadcasts its signed commitments and sends
// each peer its share privately; bad or missing shares draw a signed public complaint, which the
// dealer must answer by revealing that share. Deals, complaints and answers are relayed with
// signature chains (Dolev-Strong), so that every honest member decides on the same evidence. The
// stages, the fault model and the argument are in nitro/bls_beacon.h.
#include <algorithm>
#include <string>

#include "bls/curve.h"
#include "bls/wire.h"
#include "nitro/assert.h"
#include "nitro/bls_beacon.h"

namespace nitro::bls {
namespace {

Bytes sha256_bytes(ByteSpan data) {
  const auto d = beacon_randomness(data);  // sha256
  return Bytes(d.begin(), d.end());
}

Bytes commitments_digest(const threshold::PublicPoly& poly) {
  Bytes all;  // points have a fixed size, so the concatenation is unambiguous
  for (const auto& c : poly.commitments) all.insert(all.end(), c.begin(), c.end());
  return sha256_bytes(all);
}

// What relayers sign: the item's frame without its chain.
template <typename Item>
Bytes item_digest(Item item) {
  item.chain.clear();
  return sha256_bytes(wire::encode(item));
}

// A domain tag and its NUL, then length-prefixed or fixed-size fields: unambiguous across kinds.
class Tagged {
 public:
  explicit Tagged(const char* tag) : m_(tag, tag + std::char_traits<char>::length(tag) + 1) {}
  Tagged& u32(std::uint64_t v) {
    for (int k = 3; k >= 0; --k) m_.push_back(static_cast<std::uint8_t>(v >> (8 * k)));
    return *this;
  }
  Tagged& raw(ByteSpan b) {
    m_.insert(m_.end(), b.begin(), b.end());
    return *this;
  }
  Tagged& prefixed(ByteSpan b) { return u32(b.size()).raw(b); }
  Bytes take() { return std::move(m_); }

 private:
  Bytes m_;
};

}  // namespace

Bytes dkg_deal_message(ByteSpan session, Index dealer, ByteSpan commitments_digest) {
  return Tagged("nitro/dkg-deal/v1").prefixed(session).u32(dealer).raw(commitments_digest).take();
}

Bytes dkg_complaint_message(ByteSpan session, Index complainer, Index dealer) {
  return Tagged("nitro/dkg-complaint/v1").prefixed(session).u32(complainer).u32(dealer).take();
}

Bytes dkg_relay_message(ByteSpan session, ByteSpan item_digest) {
  return Tagged("nitro/dkg-relay/v1").prefixed(session).raw(item_digest).take();
}

std::uint32_t dkg_relay_rounds(std::uint32_t n, std::uint32_t threshold) {
  NITRO_ASSERT(threshold >= 1 && threshold <= n);
  return std::min(threshold - 1, n - threshold) + 1;
}

Result<Dkg> Dkg::create(const DkgConfig& config, ByteSpan seed) {
  if (config.n == 0 || config.n > threshold::kMembersMax) return invalid_argument("dkg: bad group size");
  if (config.threshold == 0 || config.threshold > config.n) return invalid_argument("dkg: bad threshold");
  if (config.self == 0 || config.self > config.n) return invalid_argument("dkg: self not in the group");
  if (config.phase_ms == 0) return invalid_argument("dkg: phase_ms must be positive");
  if (!config.sign || !config.verify) return invalid_argument("dkg: deals must be signed (sign and verify)");
  auto poly = threshold::SecretPoly::from_seed(config.threshold, seed);
  if (!poly.ok()) return poly.status();
  Dkg dkg;
  dkg.config_ = config;
  dkg.poly_ = *poly;
  for (Index i = 1; i <= config.n; ++i) dkg.dealers_[i] = Dealer{};
  return dkg;
}

void Dkg::start(std::uint64_t now_ms) {
  if (phase_ != Phase::kIdle) return;
  phase_ = Phase::kDeal;
  start_ms_ = now_ms;
  deadline_ms_ = now_ms + stage_ms();
  auto commitments = poly_->commit(config_.pk_group);
  Deal mine{commitments, commitments_digest(commitments), {}};
  mine.sig = config_.sign(dkg_deal_message(config_.session, config_.self, mine.digest));
  out_.push_back(Outgoing{std::nullopt, wire::encode(wire::DkgDeal{commitments.commitments, mine.sig})});
  auto& me = dealers_[config_.self];
  me.deals.push_back(std::move(mine));
  me.share = poly_->eval(config_.self);
  for (Index j = 1; j <= config_.n; ++j) {
    if (j == config_.self) continue;
    const auto s = poly_->eval(j).bytes();
    out_.push_back(Outgoing{j, wire::encode(wire::DkgShare{Bytes(s.begin(), s.end())})});
  }
}

std::uint64_t Dkg::stage_ms() const {
  return config_.phase_ms * dkg_relay_rounds(config_.n, config_.threshold);
}

Status Dkg::handle(Index from, ByteSpan bytes, std::uint64_t now_ms) {
  tick(now_ms);
  if (from == 0 || from > config_.n) return permission_denied("dkg: sender not in the group");
  if (from == config_.self) return invalid_argument("dkg: message from self");
  auto msg = wire::decode(bytes);
  if (!msg.ok()) return msg.status();
  if (auto* d = std::get_if<wire::DkgDeal>(&*msg)) return on_deal(wire::DkgForward{from, *d, {}}, now_ms);
  if (auto* f = std::get_if<wire::DkgForward>(&*msg)) return on_deal(*f, now_ms);
  if (auto* s = std::get_if<wire::DkgShare>(&*msg)) return on_share(from, s->share);
  if (auto* c = std::get_if<wire::DkgComplaint>(&*msg)) return on_complaint(*c, now_ms);
  if (auto* j = std::get_if<wire::DkgJustification>(&*msg)) return on_justification(*j, now_ms);
  return invalid_argument("dkg: not a DKG message");
}

// Dolev-Strong's rule: an item of a stage that starts at stage_ms, arriving at now_ms, is
// accepted with k distinct valid signers (its author's signature and relayers') if
// now_ms < stage_ms + k * phase_ms (items arriving before the stage need one). Claimed signers are
// counted before the item itself (`item_valid`: its author's signature, or a revealed share) or any
// relay signature is checked, and checking stops at the k needed. Returns the chain to relay it
// with: the valid relay signatures it needed, then ours.
Result<wire::Chain> Dkg::accept_chain(ByteSpan digest, std::optional<Index> author,
                                      const std::function<bool()>& item_valid, const wire::Chain& chain,
                                      std::uint64_t stage_ms, std::uint64_t now_ms) {
  const std::size_t needed = now_ms < stage_ms ? 1 : (now_ms - stage_ms) / config_.phase_ms + 1;
  std::set<Index> signers;
  if (author) signers.insert(*author);
  for (const auto& r : chain) signers.insert(r.signer);
  if (signers.size() < needed) return failed_precondition("dkg: too few signatures for the time it arrived");
  if (!item_valid()) return permission_denied("dkg: item not signed by its author, or a wrong share");
  signers.clear();
  if (author) signers.insert(*author);
  const Bytes msg = dkg_relay_message(config_.session, digest);
  wire::Chain relay;
  for (const auto& r : chain) {
    if (signers.size() >= needed) break;
    if (r.signer > config_.n || signers.count(r.signer) || !config_.verify(r.signer, msg, r.sig)) continue;
    signers.insert(r.signer);
    relay.push_back(r);
  }
  if (signers.size() < needed) return permission_denied("dkg: relay signatures do not verify");
  if (!signers.count(config_.self)) relay.push_back(wire::RelaySig{config_.self, config_.sign(msg)});
  return relay;
}

// A signed deal, from its dealer or relayed. Cheap checks first: with every member relaying
// every deal, most arrivals are duplicates, answered before any signature or point check.
Status Dkg::on_deal(const wire::DkgForward& f, std::uint64_t now_ms) {
  if (phase_ != Phase::kDeal) return failed_precondition("dkg: deal outside the deal stage");
  if (f.dealer > config_.n) return invalid_argument("dkg: forwarded deal of a non-dealer");
  threshold::PublicPoly poly{config_.pk_group, f.deal.commitments};
  if (poly.threshold() != config_.threshold) return invalid_argument("dkg: commitments of the wrong degree");
  auto& d = dealers_[f.dealer];
  const Bytes digest = commitments_digest(poly);
  for (const auto& seen : d.deals) {
    if (seen.digest == digest) return Status(Code::kAlreadyExists, "dkg: a deal already seen");
  }
  if (d.deals.size() >= 2) return Status(Code::kAlreadyExists, "dkg: this dealer's equivocation is already proven");
  const auto signed_by_dealer = [&] {
    return config_.verify(f.dealer, dkg_deal_message(config_.session, f.dealer, digest), f.deal.sig);
  };
  auto relay = accept_chain(item_digest(f), f.dealer, signed_by_dealer, f.chain, start_ms_, now_ms);
  if (!relay.ok()) return relay.status();
  NITRO_TRY(threshold::validate(poly));
  d.deals.push_back(Deal{std::move(poly), digest, f.deal.sig});
  out_.push_back(Outgoing{std::nullopt, wire::encode(wire::DkgForward{f.dealer, f.deal, std::move(*relay)})});
  return Status::ok_status();
}

Status Dkg::on_share(Index from, ByteSpan share) {
  if (phase_ != Phase::kDeal) return failed_precondition("dkg: share after the deal stage");
  auto& d = dealers_[from];
  if (d.share) return Status(Code::kAlreadyExists, "dkg: duplicate message from this dealer");
  auto sk = SecretKey::from_bytes(share);
  if (!sk.ok()) return sk.status();  // an invalid share draws a complaint at the deadline
  d.share = *sk;
  return Status::ok_status();
}

// A complaint counts only against a dealer with exactly one deal (the others are out anyway);
// the deals are agreed by the time complaints are accepted. A dealer answers at once.
Status Dkg::on_complaint(const wire::DkgComplaint& c, std::uint64_t now_ms) {
  if (phase_ != Phase::kComplaint) return failed_precondition("dkg: complaint outside the complaint stage");
  if (c.complainer > config_.n || c.dealer > config_.n || c.dealer == c.complainer) {
    return invalid_argument("dkg: complaint about a non-dealer");
  }
  if (!sole_deal(c.dealer)) return failed_precondition("dkg: complaint about a dealer already out");
  auto& d = dealers_[c.dealer];
  if (d.complaints.count(c.complainer)) return Status(Code::kAlreadyExists, "dkg: duplicate complaint");
  const auto signed_by_complainer = [&] {
    return config_.verify(c.complainer, dkg_complaint_message(config_.session, c.complainer, c.dealer), c.sig);
  };
  auto relay = accept_chain(item_digest(c), c.complainer, signed_by_complainer, c.chain,
                            start_ms_ + stage_ms(), now_ms);
  if (!relay.ok()) return relay.status();
  d.complaints.insert(c.complainer);
  if (c.complainer != config_.self) {
    out_.push_back(Outgoing{std::nullopt, wire::encode(wire::DkgComplaint{c.complainer, c.dealer, c.sig, std::move(*relay)})});
  }
  if (c.dealer == config_.self) justify(c.complainer);
  return Status::ok_status();
}

// A justification is evidence on its own (the share checks against the dealer's one deal), so it
// needs no author; the dealer's answer carries the dealer's relay signature.
Status Dkg::on_justification(const wire::DkgJustification& j, std::uint64_t now_ms) {
  if (phase_ != Phase::kComplaint && phase_ != Phase::kJustify) {
    return failed_precondition("dkg: justification outside the justification stage");
  }
  if (j.dealer > config_.n || j.complainer > config_.n) return invalid_argument("dkg: justification of a non-member");
  if (!sole_deal(j.dealer)) return failed_precondition("dkg: justification by a dealer already out");
  auto& d = dealers_[j.dealer];
  if (d.justified.count(j.complainer)) return Status(Code::kAlreadyExists, "dkg: duplicate justification");
  auto sk = SecretKey::from_bytes(j.share);
  if (!sk.ok()) return sk.status();
  const auto matches = [&] { return share_valid(j.dealer, j.complainer, *sk); };
  auto relay = accept_chain(item_digest(j), std::nullopt, matches, j.chain, start_ms_ + 2 * stage_ms(), now_ms);
  if (!relay.ok()) return relay.status();
  d.justified.emplace(j.complainer, *sk);
  out_.push_back(Outgoing{std::nullopt, wire::encode(wire::DkgJustification{j.dealer, j.complainer, j.share, std::move(*relay)})});
  return Status::ok_status();
}

const Dkg::Deal* Dkg::sole_deal(Index dealer) const {
  const auto& d = dealers_.at(dealer);
  return d.deals.size() == 1 ? &d.deals.front() : nullptr;
}

bool Dkg::share_valid(Index dealer, Index member, const SecretKey& share) const {
  const auto* deal = sole_deal(dealer);
  if (!deal) return false;
  auto ok = threshold::share_matches(deal->poly, threshold::Share{member, share});
  return ok.ok() && *ok;
}

void Dkg::tick(std::uint64_t now_ms) {
  // Stages advance one deadline at a time; a late tick runs the missed transitions in order.
  while (phase_ != Phase::kIdle && phase_ != Phase::kDone && now_ms >= deadline_ms_) {
    if (phase_ == Phase::kDeal) {
      phase_ = Phase::kComplaint;
      send_complaints();
    } else if (phase_ == Phase::kComplaint) {
      phase_ = Phase::kJustify;
    } else {
      finish();
      phase_ = Phase::kDone;
      return;
    }
    deadline_ms_ += stage_ms();
  }
}

void Dkg::send_complaints() {
  for (auto& [i, d] : dealers_) {
    if (i == config_.self || !sole_deal(i)) continue;  // no deal, or convicted: out anyway
    if (d.share && share_valid(i, config_.self, *d.share)) continue;
    d.share.reset();
    d.complaints.insert(config_.self);
    const Bytes sig = config_.sign(dkg_complaint_message(config_.session, config_.self, i));
    out_.push_back(Outgoing{std::nullopt, wire::encode(wire::DkgComplaint{config_.self, i, sig, {}})});
  }
}

void Dkg::justify(Index complainer) {
  const auto s = poly_->eval(complainer);
  const auto bytes = s.bytes();
  wire::DkgJustification j{config_.self, complainer, Bytes(bytes.begin(), bytes.end()), {}};
  const Bytes msg = dkg_relay_message(config_.session, item_digest(j));
  j.chain.push_back(wire::RelaySig{config_.self, config_.sign(msg)});
  dealers_[config_.self].justified.emplace(complainer, s);
  out_.push_back(Outgoing{std::nullopt, wire::encode(j)});
}

// A qualified dealer has one deal and answered every complaint. Our share from it is the one it
// sent, or, if that was missing or wrong, the one it revealed answering our complaint.
void Dkg::finish() {
  std::vector<Index> qual;
  for (auto& [i, d] : dealers_) {
    if (!sole_deal(i)) continue;
    const auto& justified = d.justified;
    const bool answered = std::all_of(d.complaints.begin(), d.complaints.end(),
                                      [&justified](Index c) { return justified.count(c) != 0; });
    if (!answered) continue;
    if (!d.share) d.share = d.justified.at(config_.self);  // we complained, so it answered us
    qual.push_back(i);
  }
  if (qual.size() < config_.threshold) {
    events_.push_back(DkgFailed{failed_precondition("dkg: only " + std::to_string(qual.size()) +
                                                    " qualified dealers, threshold " +
                                                    std::to_string(config_.threshold))});
    return;
  }
  blst_fr share = detail::fr_from_u64(0);
  std::vector<detail::Acc> sum(config_.threshold, detail::acc_zero(config_.pk_group));
  for (Index i : qual) {
    const auto& d = dealers_[i];
    blst_fr s = detail::fr_from_scalar(detail::scalar_of(*d.share));
    blst_fr_add(&share, &share, &s);
    for (std::uint32_t k = 0; k < config_.threshold; ++k) {
      auto c = detail::decode_point(config_.pk_group, d.deals.front().poly.commitments[k], true);
      NITRO_ASSERT(c.ok());  // validated on receipt
      detail::acc_add(sum[k], *c);
    }
  }
  DkgFinished done;
  done.share = threshold::Share{config_.self, detail::secret_from_scalar(detail::scalar_from_fr(share))};
  done.poly.group = config_.pk_group;
  for (const auto& a : sum) done.poly.commitments.push_back(detail::acc_encode(a));
  done.qualified = qual;
  events_.push_back(std::move(done));
}

std::optional<Outgoing> Dkg::poll_transmit() {
  if (out_.empty()) return std::nullopt;
  auto o = std::move(out_.front());
  out_.pop_front();
  return o;
}

std::optional<DkgEvent> Dkg::poll_event() {
  if (events_.empty()) return std::nullopt;
  auto e = std::move(events_.front());
  events_.pop_front();
  return e;
}

std::optional<std::uint64_t> Dkg::next_deadline() const {
  if (phase_ == Phase::kIdle || phase_ == Phase::kDone) return std::nullopt;
  return deadline_ms_;
}

}  // namespace nitro::bls
