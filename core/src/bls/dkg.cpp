// Joint-Feldman DKG with complaints (Pedersen 1991; the "Pedersen/Feldman VSS" drand's DKG
// follows): every member deals a random polynomial, broadcasts its commitments and sends each
// peer its share privately; bad or missing shares draw a public complaint, which the dealer must
// answer by revealing that share; an unanswered or wrong answer disqualifies the dealer.
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

Result<Dkg> Dkg::create(const DkgConfig& config, ByteSpan seed) {
  if (config.n == 0 || config.n > threshold::kMembersMax) return invalid_argument("dkg: bad group size");
  if (config.threshold == 0 || config.threshold > config.n) return invalid_argument("dkg: bad threshold");
  if (config.self == 0 || config.self > config.n) return invalid_argument("dkg: self not in the group");
  if (config.phase_ms == 0) return invalid_argument("dkg: phase_ms must be positive");
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
  out_.push_back(Outgoing{std::nullopt, wire::encode(wire::DkgDeal{commitments.commitments})});
  auto& me = dealers_[config_.self];
  me.digest = commitments_digest(commitments);
  me.poly = commitments;
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
  if (auto* d = std::get_if<wire::DkgDeal>(&*msg)) {
    return on_deal(from, threshold::PublicPoly{config_.pk_group, d->commitments});
  }
  if (auto* s = std::get_if<wire::DkgShare>(&*msg)) return on_share(from, s->share);
  if (auto* c = std::get_if<wire::DkgComplaint>(&*msg)) return on_complaint(from, c->dealer);
  if (auto* j = std::get_if<wire::DkgJustification>(&*msg)) return on_justification(from, j->complainer, j->share);
  if (auto* e = std::get_if<wire::DkgEcho>(&*msg)) {
    std::map<Index, std::vector<Bytes>> digests;
    for (auto& entry : e->entries) digests[entry.dealer] = std::move(entry.digests);
    return on_echo(from, std::move(digests));
  }
  return invalid_argument("dkg: not a DKG message");
}

Status Dkg::on_deal(Index from, const threshold::PublicPoly& poly) {
  if (phase_ != Phase::kDeal) return failed_precondition("dkg: deal outside the deal phase");
  if (poly.threshold() != config_.threshold) return invalid_argument("dkg: commitments of the wrong degree");
  NITRO_TRY(threshold::validate(poly));
  auto& d = dealers_[from];
  if (d.poly && d.poly->commitments == poly.commitments) {
    return Status(Code::kAlreadyExists, "dkg: duplicate message from this dealer");
  }
  if (d.poly) {  // kept as evidence: our echo carries both digests, so every member sees it
    if (d.second_digest.empty()) d.second_digest = commitments_digest(poly);
    return Status(Code::kAlreadyExists, "dkg: a second, different deal from this dealer (equivocation)");
  }
  d.digest = commitments_digest(poly);
  d.poly = poly;
  return Status::ok_status();
}

Status Dkg::on_echo(Index from, std::map<Index, std::vector<Bytes>> digests) {
  if (phase_ == Phase::kIdle || phase_ == Phase::kDone) return failed_precondition("dkg: echo outside the DKG");
  if (echoes_.count(from)) return Status(Code::kAlreadyExists, "dkg: duplicate echo from this member");
  if (!digests.empty() && digests.rbegin()->first > config_.n) return invalid_argument("dkg: echo names a non-dealer");
  echoes_[from] = std::move(digests);  // bounded: one per member, n entries of at most 2 digests
  return Status::ok_status();
}

// True when we hold exactly one deal from `dealer` and no other member's echo names a different
// one. A dealer's echo about itself proves nothing and is skipped; an echo lacking the dealer is
// no evidence either (its sender may have missed the deal), so one member cannot disqualify
// every dealer by echoing nothing.
bool Dkg::echoes_agree(Index dealer) const {
  const auto& d = dealers_.at(dealer);
  if (!d.poly || !d.second_digest.empty()) return false;
  for (const auto& [echoer, digests] : echoes_) {
    if (echoer == dealer) continue;
    auto it = digests.find(dealer);
    if (it != digests.end() && (it->second.size() != 1 || it->second[0] != d.digest)) return false;
  }
  return true;
}

void Dkg::send_echo() {
  wire::DkgEcho echo;
  for (const auto& [i, d] : dealers_) {  // ascending dealers, as the wire format requires
    if (!d.poly) continue;
    wire::EchoEntry entry{i, {d.digest}};
    if (!d.second_digest.empty()) entry.digests.push_back(d.second_digest);
    echo.entries.push_back(std::move(entry));
  }
  out_.push_back(Outgoing{std::nullopt, wire::encode(wire::Message{echo})});
}

Status Dkg::on_share(Index from, ByteSpan share) {
  if (phase_ != Phase::kDeal) return failed_precondition("dkg: share outside the deal phase");
  auto& d = dealers_[from];
  if (d.share) return Status(Code::kAlreadyExists, "dkg: duplicate message from this dealer");
  auto sk = SecretKey::from_bytes(share);
  if (!sk.ok()) return sk.status();  // an invalid share draws a complaint at the deadline
  d.share = *sk;
  return Status::ok_status();
}

Status Dkg::on_complaint(Index from, Index dealer) {
  if (phase_ != Phase::kComplaint && phase_ != Phase::kDeal) {
    return failed_precondition("dkg: complaint outside the complaint phase");
  }
  if (dealer > config_.n || dealer == from) return invalid_argument("dkg: complaint about a non-dealer");
  dealers_[dealer].complaints.insert(from);
  return Status::ok_status();
}

Status Dkg::on_justification(Index from, Index complainer, ByteSpan share) {
  if (phase_ != Phase::kJustify && phase_ != Phase::kComplaint) {
    return failed_precondition("dkg: justification outside the justification phase");
  }
  auto& d = dealers_[from];
  if (complainer > config_.n || !d.complaints.count(complainer)) return invalid_argument("dkg: no such complaint");
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
  if (!d.poly) return false;
  auto ok = threshold::share_matches(*d.poly, threshold::Share{member, share});
  return ok.ok() && *ok;
}

void Dkg::tick(std::uint64_t now_ms) {
  // Phases advance one deadline at a time; a late tick runs the missed transitions in order.
  while (phase_ != Phase::kIdle && phase_ != Phase::kDone && now_ms >= deadline_ms_) {
    if (phase_ == Phase::kDeal) {
      send_echo();
      send_complaints();
      phase_ = Phase::kComplaint;
    } else if (phase_ == Phase::kComplaint) {
      send_justifications();
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
    if (i == config_.self || !d.poly) continue;  // no commitments: excluded without complaint
    if (d.share && share_valid(i, config_.self, *d.share)) continue;
    d.share.reset();
    d.complaints.insert(config_.self);
    out_.push_back(Outgoing{std::nullopt, wire::encode(wire::DkgComplaint{i})});
  }
}

void Dkg::send_justifications() {
  for (Index complainer : dealers_[config_.self].complaints) {
    const auto s = poly_->eval(complainer).bytes();
    out_.push_back(Outgoing{std::nullopt, wire::encode(wire::DkgJustification{complainer, Bytes(s.begin(), s.end())})});
  }
  dealers_[config_.self].justified = dealers_[config_.self].complaints;
}

void Dkg::finish() {
  std::vector<Index> qual;
  for (auto& [i, d] : dealers_) {
    if (!d.poly || d.disqualified || !echoes_agree(i)) continue;
    if (d.justified.size() != d.complaints.size()) continue;  // an unanswered complaint
    if (!d.share) continue;  // cannot happen for honest dealers once complaints are answered
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
      auto c = detail::decode_point(config_.pk_group, d.poly->commitments[k], true);
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
