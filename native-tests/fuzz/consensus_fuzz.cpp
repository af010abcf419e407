// Fuzz target: everything the chain decodes from outside must be total. The first byte picks
// the surface: a frame from a validator into a running ConsensusProtocol, a tx, a light-client
// read proof, a block (and header, and the state-sync record). Rejections are typed errors or
// ignored frames, never a crash.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>

#include "consensus/state.h"
#include "consensus/wire.h"
#include "nitro/codec.h"
#include "nitro/consensus.h"

namespace {

using namespace nitro;

class NullContext final : public ProtocolContext {
 public:
  explicit NullContext(PeerId id) : id_(id) {}
  const PeerId& local_id() const override { return id_; }
  Status send(const PeerId&, std::span<const std::uint8_t>) override { return Status::ok_status(); }
  Result<std::uint64_t> publish(const std::string&, std::span<const std::uint8_t>) override { return std::uint64_t{1}; }
  Status subscribe(const std::string&) override { return Status::ok_status(); }
  Status unsubscribe(const std::string&) override { return Status::ok_status(); }
  std::vector<PeerInfo> peers() const override { return {}; }
  std::vector<PeerId> neighbors() const override { return {}; }
  void emit(Bytes) override {}
  void random_bytes(std::span<std::uint8_t> out) override { std::fill(out.begin(), out.end(), 7); }
  std::uint64_t now_ms() const override { return 0; }
  void store_put(const std::string&, Bytes) override {}
  void store_delete(const std::string&) override {}
  StoredRecords take_restored() override { return {}; }

 private:
  PeerId id_;
};

struct Fixture {
  std::vector<consensus::Validator> validators;
  std::vector<bls::SecretKey> sks;
  Fixture() {
    for (std::uint8_t i = 0; i < 4; ++i) {
      crypto::Seed seed{};
      seed.fill(static_cast<std::uint8_t>(i + 1));
      sks.push_back(*bls::key_gen(Bytes(32, static_cast<std::uint8_t>(i + 1))));
      validators.push_back({crypto::Identity::from_seed(seed).peer_id(), bls::sk_to_pk(sks[i], bls::Group::kG2),
                            consensus::bls_pop(sks[i])});
    }
  }
};

const Fixture& fixture() {
  static const Fixture f;
  return f;
}

// Validator 0 of the fixture, as a freshly created protocol.
std::unique_ptr<consensus::ConsensusProtocol> make_validator() {
  const auto& f = fixture();
  consensus::ConsensusConfig c;
  c.validators = f.validators;
  c.bls_sk = f.sks[0];
  auto p = consensus::ConsensusProtocol::create(c, f.validators[0].id);
  if (!p.ok()) std::abort();
  return std::move(*p);
}

void check_frame(std::span<const std::uint8_t> in) {
  const auto& f = fixture();
  auto p = make_validator();
  NullContext ctx(f.validators[0].id);
  p->attach(ctx);
  p->tick(0);
  p->on_message(f.validators[1].id, in, 10);
  p->on_message(f.validators[2].id, in, 20);
  p->tick(5000);
}

// The record a state sync writes ("snap"), read back by a restarting validator.
void check_snapshot_record(std::span<const std::uint8_t> in) {
  const auto& f = fixture();
  auto p = make_validator();
  p->restore(StoredRecords{{"snap", Bytes(in.begin(), in.end())}});
  NullContext ctx(f.validators[0].id);
  p->attach(ctx);
  p->tick(5000);
}

void check_decoders(std::span<const std::uint8_t> in) {
  auto tx = consensus::decode_tx(in);
  if (!tx.ok() && tx.status().code() != Code::kDecodeError) std::abort();
  auto v = codec::decode(in);
  if (!v.ok()) return;
  auto b = consensus::block_from(*v, 4);
  if (b.ok()) {
    auto again = consensus::block_from(consensus::block_value(**b), 4);
    if (!again.ok() || (*again)->hash != (*b)->hash) std::abort();
  }
  auto h = consensus::header_from(*v, 4);
  if (h.ok() && h->second != consensus::sha256(codec::encode(*v))) std::abort();
  check_snapshot_record(in);
}

void check_read(std::span<const std::uint8_t> in) {
  auto r = consensus::verify_read("fuzz", fixture().validators, in);
  if (r.ok()) std::abort();  // nothing here was signed by the validators
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::span<const std::uint8_t> in(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0: check_frame(in); break;
    case 1: check_decoders(in); break;
    default: check_read(in); break;
  }
  return 0;
}
