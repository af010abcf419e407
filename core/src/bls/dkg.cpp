// Joint-Feldman DKG with complaints (Pedersen 1991; the "Pedersen/Feldman VSS" drand's DKG
// follows): every member deals a random polynomial, broadcasts its signed commitments and sends
// each peer its share privately; members relay the signed deals (so all adopt the same ones and
// two different signed deals convict their dealer); bad or missing shares draw a public
// complaint, which the dealer must answer by revealing that share; an unanswered or wrong answer
// disqualifies the dealer. The phases and the fault model are in nitro/bls_beacon.h.
#include <cassert>
#include <string>

#include "bls/curve.h"
#include "bls/wire.h"
#include "nitro/bls_beacon.h"

namespace nitro::bls {
namespace {

Bytes commitments_digest(const threshold::PublicPoly& poly) {
  Bytes all;
  for (const auto& c : poly.commitments) all.insert(all.end(), c.begin(), c.end());
  const auto d = beacon_randomness(all);  // sha256; points have a fixed size, so unambiguous
  return Bytes(d.begin(), d.end());
}

}  // namespace

Bytes dkg_deal_message(ByteSpan session, Index dealer, ByteSpan commitments_digest) {
  static constexpr char kTag[] = "nitro/dkg-deal/v1";
  Bytes m(kTag, kTag + sizeof(kTag));  // the tag and its NUL
  const auto put_u32 = [&m](std::uint64_t v) {
    for (int k = 3; k >= 0; --k) m.push_back(static_cast<std::uint8_t>(v >> (8 * k)));
  };
  put_u32(session.size());
  m.insert(m.end(), session.begin(), session.end());
  put_u32(dealer);
  m.insert(m.end(), commitments_digest.begin(), commitments_digest.end());
  return m;
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
  deadline_ms_ = now_ms + config_.phase_ms;
  auto commitments = poly_->commit(config_.pk_group);
  Deal mine{commitments, commitments_digest(commitments), {}};
  mine.sig = config_.sign(dkg_deal_message(config_.session, config_.self, mine.digest));
  out_.push_back(Outgoing{std::nullopt, wire::encode(wire::DkgDeal{commitments.commitments, mine.sig})});
  auto& me = dealers_[config_.self];
  me.deal = std::move(mine);
  me.share = poly_->eval(config_.self);
  for (Index j = 1; j <= config_.n; ++j) {
    if (j == config_.self) continue;
    const auto s = poly_->eval(j).bytes();
    out_.push_back(Outgoing{j, wire::encode(wire::DkgShare{Bytes(s.begin(), s.end())})});
  }
}

Status Dkg::handle(Index from, ByteSpan bytes, std::uint64_t now_ms) {
  tick(now_ms);
  if (from == 0 || from > config_.n) return permission_denied("dkg: sender not in the group");
  if (from == config_.self) return invalid_argument("dkg: message from self");
  auto msg = wire::decode(bytes);
  if (!msg.ok()) return msg.status();
  if (auto* d = std::get_if<wire::DkgDeal>(&*msg)) return on_deal(from, d->commitments, d->sig);
  if (auto* f = std::get_if<wire::DkgForward>(&*msg)) {
    if (f->dealer > config_.n) return invalid_argument("dkg: forwarded deal of a non-dealer");
    return on_deal(f->dealer, f->deal.commitments, f->deal.sig);
  }
  if (auto* s = std::get_if<wire::DkgShare>(&*msg)) return on_share(from, s->share);
  if (auto* c = std::get_if<wire::DkgComplaint>(&*msg)) return on_complaint(from, c->dealer);
  if (auto* j = std::get_if<wire::DkgJustification>(&*msg)) return on_justification(from, j->complainer, j->share);
  return invalid_argument("dkg: not a DKG message");
}

// A signed deal, from its dealer or relayed. Cheap checks first: with every member relaying
// every deal, most arrivals are duplicates, answered before any signature or point check.
Status Dkg::on_deal(Index dealer, const std::vector<Bytes>& commitments, const Bytes& sig) {
  if (phase_ == Phase::kIdle || phase_ == Phase::kDone) return failed_precondition("dkg: deal outside the DKG");
  threshold::PublicPoly poly{config_.pk_group, commitments};
  if (poly.threshold() != config_.threshold) return invalid_argument("dkg: commitments of the wrong degree");
  auto& d = dealers_[dealer];
  const Bytes digest = commitments_digest(poly);
  if ((d.deal && d.deal->digest == digest) || (d.conflict && d.conflict->digest == digest)) {
    return Status(Code::kAlreadyExists, "dkg: a deal already seen");
  }
  if (d.conflict) return Status(Code::kAlreadyExists, "dkg: this dealer's equivocation is already proven");
  if (!d.deal && phase_ > Phase::kForward) return failed_precondition("dkg: a first deal after the forward phase");
  if (!config_.verify(dealer, dkg_deal_message(config_.session, dealer, digest), sig)) {
    return permission_denied("dkg: deal not signed by its dealer");
  }
  NITRO_TRY(threshold::validate(poly));
  Deal deal{std::move(poly), digest, sig};
  auto& slot = d.deal ? d.conflict : d.deal;  // a second deal: the proof, relayed to everyone
  slot = std::move(deal);
  if (phase_ != Phase::kDeal && dealer != config_.self) forward(dealer, *slot);
  return Status::ok_status();
}

void Dkg::forward(Index dealer, const Deal& deal) {
  out_.push_back(Outgoing{std::nullopt, wire::encode(wire::DkgForward{dealer, {deal.poly.commitments, deal.sig}})});
}

// Our own deal goes out again too: the broadcast at the start is sent once, and if it reached
// nobody (lost, or our links were not up yet) an honest dealer would be left out of every honest
// member's qualified set.
void Dkg::forward_all() {
  for (const auto& [i, d] : dealers_) {
    if (d.deal) forward(i, *d.deal);
    if (d.conflict) forward(i, *d.conflict);
  }
}

Status Dkg::on_share(Index from, ByteSpan share) {
  if (phase_ != Phase::kDeal && phase_ != Phase::kForward) return failed_precondition("dkg: share after the forward phase");
  auto& d = dealers_[from];
  if (d.share) return Status(Code::kAlreadyExists, "dkg: duplicate message from this dealer");
  auto sk = SecretKey::from_bytes(share);
  if (!sk.ok()) return sk.status();  // an invalid share draws a complaint at the deadline
  d.share = *sk;
  return Status::ok_status();
}

// Complaints count until the end of the complaint phase. A dealer answers a complaint about it
// whenever it sees one, even late: a complaint that reached another member just before the
// deadline is answered in time for that member too.
Status Dkg::on_complaint(Index from, Index dealer) {
  if (phase_ == Phase::kIdle || phase_ == Phase::kDone) return failed_precondition("dkg: complaint outside the DKG");
  if (dealer > config_.n || dealer == from) return invalid_argument("dkg: complaint about a non-dealer");
  auto& d = dealers_[dealer];
  if (phase_ == Phase::kJustify) {
    if (dealer == config_.self && d.complaints.insert(from).second) {
      d.justified.insert(from);
      justify(from);
    }
    return failed_precondition("dkg: complaint after the complaint phase");
  }
  if (!d.complaints.insert(from).second) return Status(Code::kAlreadyExists, "dkg: duplicate complaint");
  return Status::ok_status();
}

Status Dkg::on_justification(Index from, Index complainer, ByteSpan share) {
  if (phase_ != Phase::kJustify && phase_ != Phase::kComplaint) {
    return failed_precondition("dkg: justification outside the justification phase");
  }
  auto& d = dealers_[from];
  if (complainer > config_.n || !d.complaints.count(complainer)) return invalid_argument("dkg: no such complaint");
  if (d.justified.count(complainer)) return Status(Code::kAlreadyExists, "dkg: duplicate justification");
  auto sk = SecretKey::from_bytes(share);
  if (!sk.ok() || !share_valid(from, complainer, *sk)) {
    d.disqualified = true;  // a public, wrong answer: every honest member sees the same
    return invalid_argument("dkg: justification does not match the commitments");
  }
  d.justified.insert(complainer);
  if (complainer == config_.self) d.share = *sk;
  return Status::ok_status();
}

bool Dkg::share_valid(Index dealer, Index member, const SecretKey& share) const {
  const auto& d = dealers_.at(dealer);
  if (!d.deal) return false;
  auto ok = threshold::share_matches(d.deal->poly, threshold::Share{member, share});
  return ok.ok() && *ok;
}

void Dkg::tick(std::uint64_t now_ms) {
  // Phases advance one deadline at a time; a late tick runs the missed transitions in order.
  while (phase_ != Phase::kIdle && phase_ != Phase::kDone && now_ms >= deadline_ms_) {
    if (phase_ == Phase::kDeal) {
      forward_all();
      phase_ = Phase::kForward;
    } else if (phase_ == Phase::kForward) {
      send_complaints();
      phase_ = Phase::kComplaint;
    } else if (phase_ == Phase::kComplaint) {
      auto& me = dealers_[config_.self];
      for (Index complainer : me.complaints) justify(complainer);
      me.justified = me.complaints;
      phase_ = Phase::kJustify;
    } else {
      finish();
      phase_ = Phase::kDone;
      return;
    }
    deadline_ms_ += config_.phase_ms;
  }
}

void Dkg::send_complaints() {
  for (auto& [i, d] : dealers_) {
    if (i == config_.self || !d.deal || d.conflict) continue;  // no deal, or convicted: excluded anyway
    if (d.share && share_valid(i, config_.self, *d.share)) continue;
    d.share.reset();
    d.complaints.insert(config_.self);
    out_.push_back(Outgoing{std::nullopt, wire::encode(wire::DkgComplaint{i})});
  }
}

void Dkg::justify(Index complainer) {
  const auto s = poly_->eval(complainer).bytes();
  out_.push_back(Outgoing{std::nullopt, wire::encode(wire::DkgJustification{complainer, Bytes(s.begin(), s.end())})});
}

void Dkg::finish() {
  std::vector<Index> qual;
  for (auto& [i, d] : dealers_) {
    if (!d.deal || d.conflict || d.disqualified) continue;
    if (d.justified.size() != d.complaints.size()) continue;  // an unanswered complaint
    if (!d.share || !share_valid(i, config_.self, *d.share)) continue;  // not for honest dealers
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
      auto c = detail::decode_point(config_.pk_group, d.deal->poly.commitments[k], true);
      assert(c.ok());  // validated on receipt
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
