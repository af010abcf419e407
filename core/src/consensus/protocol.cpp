// ConsensusProtocol: validation of the configuration and the Protocol seam (see nitro/consensus.h).
#include <algorithm>

#include "consensus/engine.h"

namespace nitro::consensus {

Bytes make_tx(const crypto::Identity& identity, std::uint64_t nonce, const std::string& op, const Value& args) {
  return encode_signed_tx(identity, nonce, op, args);
}

Bytes bls_pop(const bls::SecretKey& sk) { return bls::pop_prove(sk, bls::kMinSigPop.sig_group); }

Result<std::unique_ptr<ConsensusProtocol>> ConsensusProtocol::create(ConsensusConfig config, const PeerId& self) {
  auto& vs = config.validators;
  if (vs.size() < 4 || vs.size() > kValidatorsMax) return Status(invalid_argument("consensus: need 4..256 validators"));
  std::sort(vs.begin(), vs.end(), [](const Validator& a, const Validator& b) { return a.id < b.id; });
  for (std::size_t i = 1; i < vs.size(); ++i) {
    if (vs[i].id == vs[i - 1].id) return Status(invalid_argument("consensus: duplicate validator"));
  }
  std::vector<bls::PublicKey> pks;
  const auto pk_group = bls::kMinSigPop.pk_group();
  for (const auto& v : vs) {
    auto pk = bls::PublicKey::decode(pk_group, v.bls_pk);
    if (!pk.ok()) return Status(invalid_argument("consensus: bad BLS key for " + v.id.short_string()));
    auto pop = bls::pop_verify(bls::kMinSigPop.sig_group, v.bls_pk, v.bls_pop);
    if (!pop.ok() || !*pop) return Status(invalid_argument("consensus: bad proof of possession for " + v.id.short_string()));
    pks.push_back(*pk);
  }
  auto it = std::find_if(vs.begin(), vs.end(), [&](const Validator& v) { return v.id == self; });
  const auto self_index = static_cast<std::uint32_t>(it - vs.begin());
  if (it != vs.end()) {
    if (!config.bls_sk || bls::sk_to_pk(*config.bls_sk, pk_group) != it->bls_pk) {
      return Status(invalid_argument("consensus: the BLS secret key is not this validator's"));
    }
  }
  if (config.timeout_ms == 0 || config.timeout_ms_max < config.timeout_ms) {
    return Status(invalid_argument("consensus: bad timeouts"));
  }
  std::unique_ptr<ConsensusProtocol> p(new ConsensusProtocol());
  p->engine_ = std::make_unique<Engine>(std::move(config), self_index, std::move(pks));
  return p;
}

ConsensusProtocol::~ConsensusProtocol() = default;

void ConsensusProtocol::restore(StoredRecords records) { engine_->restore_records(std::move(records)); }
void ConsensusProtocol::attach(ProtocolContext& ctx) { engine_->attach(ctx); }
void ConsensusProtocol::on_message(const PeerId& from, std::span<const std::uint8_t> bytes, std::uint64_t now_ms) {
  engine_->on_message(from, bytes, now_ms);
}
void ConsensusProtocol::on_peer_up(const PeerId& peer, std::uint64_t now_ms) { engine_->on_peer_up(peer, now_ms); }
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
Bytes ConsensusProtocol::state_root() const { return engine_->state_root(); }
std::optional<std::string> ConsensusProtocol::halted() const { return engine_->halted(); }
const ConsensusStats& ConsensusProtocol::stats() const { return engine_->stats(); }

}  // namespace nitro::consensus
