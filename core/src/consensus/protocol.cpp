// ConsensusProtocol: validation of the configuration and the Protocol seam (see nitro/consensus.h).
#include <algorithm>
#include <map>

#include "consensus/engine.h"
#include "consensus/proof.h"
#include "consensus/validators.h"
#include "nitro/codec.h"

namespace nitro::consensus {
namespace {

// Decoding a key and checking its proof of possession are pure and costly (pairings): validators
// created in one process (the simulator, restarts) share the work. Bounded.
thread_local std::map<std::pair<Bytes, Bytes>, bls::PublicKey> checked_keys;

Result<bls::PublicKey> checked_key(const Validator& v) {
  auto key = std::make_pair(v.bls_pk, v.bls_pop);
  if (auto it = checked_keys.find(key); it != checked_keys.end()) return it->second;
  auto pk = bls::PublicKey::decode(bls::kMinSigPop.pk_group(), v.bls_pk);
  if (!pk.ok()) return Status(invalid_argument("consensus: bad BLS key for " + v.id.short_string()));
  auto pop = bls::pop_verify(bls::kMinSigPop.sig_group, v.bls_pk, v.bls_pop);
  if (!pop.ok() || !*pop) return Status(invalid_argument("consensus: bad proof of possession for " + v.id.short_string()));
  if (checked_keys.size() >= 1024) checked_keys.clear();
  checked_keys.emplace(std::move(key), *pk);
  return *pk;
}

}  // namespace

Bytes make_tx(const crypto::Identity& identity, std::uint64_t nonce, const std::string& op, const Value& args) {
  return encode_signed_tx(identity, nonce, op, args);
}

Bytes bls_pop(const bls::SecretKey& sk) { return bls::pop_prove(sk, bls::kMinSigPop.sig_group); }

Result<VerifiedRead> verify_read(const std::string& chain_id, std::vector<Validator> validators,
                                 std::span<const std::uint8_t> proof, std::uint64_t epoch) {
  std::sort(validators.begin(), validators.end(), [](const Validator& a, const Validator& b) { return a.id < b.id; });
  const std::size_t n = validators.size();
  if (n < 4 || n > kValidatorsMax) return Status(invalid_argument("consensus: need 4..256 validators"));
  auto v = codec::decode(proof);
  if (!v.ok()) return v.status();
  if (!v->is<Array>() || v->as<Array>().size() != 4 || !v->as<Array>()[2].is<std::string>()) {
    return Status(decode_error("proof: malformed"));
  }
  const auto& a = v->as<Array>();
  // Parse the header's fields through the block decoder (with an empty tx list in place of the
  // tx root), but hash the header exactly as given.
  if (!a[0].is<Array>() || a[0].as<Array>().size() != 9 || !a[0].as<Array>()[8].is<Bytes>()) {
    return Status(decode_error("proof: malformed header"));
  }
  Value fields = a[0];
  fields.as<Array>()[8] = Value(Array{});
  auto header = block_from(fields, n);
  if (!header.ok()) return header.status();
  const Hash hash = sha256(codec::encode(a[0]));
  auto qc = qc_from(a[1], n);
  if (!qc.ok()) return qc.status();
  if (qc->hash != hash || qc->view != (*header)->view) return Status(unauthenticated("proof: the QC is for another header"));
  std::size_t signers = 0;
  std::vector<Bytes> pks;
  for (std::size_t i = 0; i < n; ++i) {
    if (!bit(qc->bitmap, i)) continue;
    auto pk = checked_key(validators[i]);
    if (!pk.ok()) return pk.status();
    pks.push_back(validators[i].bls_pk);
    ++signers;
  }
  if (signers < n - (n - 1) / 3 || qc->bitmap.size() > (n + 7) / 8) return Status(unauthenticated("proof: QC below quorum"));
  ValidatorSet set;
  set.epoch = epoch;
  set.members = validators;
  const std::string domain = signing_domain(chain_id, epoch, set.hash());
  auto ok = bls::fast_aggregate_verify(bls::kMinSigPop, pks, vote_message(domain, qc->view, qc->hash), qc->sig);
  if (!ok.ok() || !*ok) return Status(unauthenticated("proof: QC signature does not verify"));
  auto read = verify_state_proof(a[3], a[2].as<std::string>(), (*header)->exec_root);
  if (!read.ok()) return read.status();
  return VerifiedRead{(*header)->exec_height, a[2].as<std::string>(), std::move(*read)};
}

Result<std::unique_ptr<ConsensusProtocol>> ConsensusProtocol::create(ConsensusConfig config, const PeerId& self) {
  auto& vs = config.validators;
  if (vs.size() < 4 || vs.size() > kValidatorsMax) return Status(invalid_argument("consensus: need 4..256 validators"));
  std::sort(vs.begin(), vs.end(), [](const Validator& a, const Validator& b) { return a.id < b.id; });
  for (std::size_t i = 1; i < vs.size(); ++i) {
    if (vs[i].id == vs[i - 1].id) return Status(invalid_argument("consensus: duplicate validator"));
  }
  const auto pk_group = bls::kMinSigPop.pk_group();
  for (const auto& v : vs) {
    auto pk = checked_key(v);
    if (!pk.ok()) return pk.status();
  }
  // A node outside the genesis set may hold a key already: it votes once a change adds it.
  auto it = std::find_if(vs.begin(), vs.end(), [&](const Validator& v) { return v.id == self; });
  if (it != vs.end()) {
    if (!config.bls_sk || bls::sk_to_pk(*config.bls_sk, pk_group) != it->bls_pk) {
      return Status(invalid_argument("consensus: the BLS secret key is not this validator's"));
    }
  }
  if (config.timeout_ms == 0 || config.timeout_ms_max < config.timeout_ms) {
    return Status(invalid_argument("consensus: bad timeouts"));
  }
  // A replica that installs the newest snapshot must be left within block sync's reach.
  if (config.snapshot_interval == 0 || config.snapshot_interval > kSyncGapMax - kFetchCountMax) {
    return Status(invalid_argument("consensus: snapshot_interval must be 1..128"));
  }
  std::unique_ptr<ConsensusProtocol> p(new ConsensusProtocol());
  p->engine_ = std::make_unique<Engine>(std::move(config), self);
  return p;
}

ConsensusProtocol::~ConsensusProtocol() = default;

void ConsensusProtocol::restore(StoredRecords records) { engine_->restore_records(std::move(records)); }
void ConsensusProtocol::attach(ProtocolContext& ctx) { engine_->attach(ctx); }
void ConsensusProtocol::on_message(const PeerId& from, std::span<const std::uint8_t> bytes, std::uint64_t now_ms) {
  engine_->on_message(from, bytes, now_ms);
}
void ConsensusProtocol::on_peer_up(const PeerId& peer, std::uint64_t now_ms) { engine_->on_peer_up(peer, now_ms); }
void ConsensusProtocol::on_broadcast(const std::string& topic, const PeerId& origin, std::uint64_t,
                                     std::span<const std::uint8_t> payload, std::uint64_t now_ms) {
  engine_->on_broadcast(topic, origin, payload, now_ms);
}
void ConsensusProtocol::tick(std::uint64_t now_ms) { engine_->tick(now_ms); }
std::optional<std::uint64_t> ConsensusProtocol::next_deadline() const { return engine_->next_deadline(); }
Status ConsensusProtocol::register_module(const std::string& prefix, std::shared_ptr<chain::BuiltinModule> module) {
  return engine_->register_module(prefix, std::move(module));
}
Result<Bytes> ConsensusProtocol::submit(Bytes tx, std::uint64_t now_ms) { return engine_->submit(std::move(tx), now_ms); }
Result<Bytes> ConsensusProtocol::submit(const std::string& op, const Value& args, std::uint64_t now_ms) {
  return engine_->submit(op, args, now_ms);
}
std::uint64_t ConsensusProtocol::view() const { return engine_->view(); }
std::uint64_t ConsensusProtocol::committed_height() const { return engine_->committed_height(); }
std::optional<CommittedBlock> ConsensusProtocol::committed(std::uint64_t height) const { return engine_->committed(height); }
const chain::KvEntry* ConsensusProtocol::get(const std::string& key) const { return engine_->get(key); }
Result<Bytes> ConsensusProtocol::read_proof(const std::string& key) const { return engine_->read_proof(key); }
Bytes ConsensusProtocol::state_root() const { return engine_->state_root(); }
std::optional<std::string> ConsensusProtocol::halted() const { return engine_->halted(); }
const ConsensusStats& ConsensusProtocol::stats() const { return engine_->stats(); }
std::uint64_t ConsensusProtocol::epoch() const { return engine_->epoch(); }
std::vector<Validator> ConsensusProtocol::validators() const { return engine_->validators(); }

}  // namespace nitro::consensus
