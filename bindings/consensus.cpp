// Embind glue for the BFT chain (nitro::consensus::ConsensusProtocol) on a NodeCore. Conversion
// only; the logic is in core/src/consensus. Peer ids are base32 text, bytes Uint8Array, values
// plain JS values (bindings/codec.cpp), times node-clock milliseconds; errors are values.
// JS handlers are called synchronously during execution with a state handle valid only for that
// call; the JS wrapper (js/src/chain.ts) catches everything a handler throws and returns
// { ok, value } or { error: { code, message } }, so no JS exception unwinds through the core.
#include <cmath>
#include <memory>
#include <string>

#include "bytes.h"
#include "node_core.h"
#include "nitro/consensus.h"

namespace nitro::bind {
namespace {

using consensus::ConsensusProtocol;

// The state as a JS handler sees it: get/put/delete, valid during one apply() call.
class StateHandle {
 public:
  explicit StateHandle(chain::KvState* s) : s_(s) {}
  // Keys starting with NUL belong to the built-in modules (locks, fencing tokens): a JS handler
  // neither sees nor writes them, as kv ops do not.
  val get(const std::string& key) const {
    const auto* e = s_ && !reserved(key) ? s_->get(key) : nullptr;
    return e ? value_to_js(e->value) : val::undefined();
  }
  val put(const std::string& key, const val& v) {
    if (!s_) return error_to_js(failed_precondition("chain: state used outside its handler"));
    if (reserved(key)) return error_to_js(invalid_argument("chain: keys starting with NUL are reserved"));
    auto value = value_from_js(v);
    if (!value.ok()) return error_to_js(value.status());
    Status st = s_->put(key, std::move(*value));
    return st.ok() ? val::undefined() : error_to_js(st);
  }
  bool remove(const std::string& key) { return s_ && !reserved(key) && s_->erase(key); }
  void detach() { s_ = nullptr; }

 private:
  static bool reserved(const std::string& key) { return !key.empty() && key[0] == '\0'; }
  chain::KvState* s_;
};

Code code_from(const std::string& name) {
  for (int c = 0; c <= 16; ++c) {
    if (name == code_name(static_cast<Code>(c))) return static_cast<Code>(c);
  }
  return Code::kAborted;
}

class JsModule final : public chain::BuiltinModule {
 public:
  explicit JsModule(val fn) : fn_(std::move(fn)) {}
  Result<Value> apply(chain::KvState& state, const std::string& op, const Value& args, const chain::TxContext& ctx) override {
    auto handle = std::make_shared<StateHandle>(&state);
    val c = val::object();
    c.set("height", static_cast<double>(ctx.height));
    c.set("time", static_cast<double>(ctx.time_ms));
    c.set("sender", ctx.sender.to_string());
    c.set("revision", static_cast<double>(ctx.revision));
    c.set("op", op);
    val out = fn_(val(handle), value_to_js(args), c);
    handle->detach();
    if (!out["error"].isUndefined()) {
      return Status(code_from(out["error"]["code"].as<std::string>()), out["error"]["message"].as<std::string>());
    }
    auto v = value_from_js(out["value"]);
    if (!v.ok()) return v.status();
    return std::move(*v);
  }

 private:
  val fn_;
};

ConsensusProtocol* chain_of(NodeCore& core, const std::string& channel) {
  return dynamic_cast<ConsensusProtocol*>(core.node().protocol(channel));
}

bool safe_u64(const val& x, std::uint64_t& out) {
  if (!x.isNumber()) return false;
  const double d = x.as<double>();
  if (!std::isfinite(d) || d < 0 || std::trunc(d) != d || d > 9007199254740991.0) return false;
  out = static_cast<std::uint64_t>(d);
  return true;
}

Result<std::vector<consensus::Validator>> validators_from_js(const val& list) {
  if (!list.isArray()) return Status(invalid_argument("consensus: validators must be an array"));
  std::vector<consensus::Validator> out;
  const auto n = list["length"].as<std::size_t>();
  if (n > consensus::kValidatorsMax) return Status(invalid_argument("consensus: too many validators"));
  for (std::size_t i = 0; i < n; ++i) {
    const val v = list[i];
    if (!v["id"].isString()) return Status(invalid_argument("consensus: validator id must be a peer id string"));
    auto id = PeerId::parse(v["id"].as<std::string>());
    if (!id.ok()) return id.status();
    out.push_back({*id, bytes_from_js(v["blsPublicKey"]), bytes_from_js(v["blsPop"])});
  }
  return out;
}

// opts: { chainId, validators: [{ id, blsPublicKey, blsPop }], blsSecretKey?, startMs?, timeoutMs?,
//         timeoutMsMax?, emptyBlockMs?, txsPerBlockMax?, mempoolTxsMax?, snapshotInterval? }
Result<consensus::ConsensusConfig> config_from_js(NodeCore& core, const val& opts) {
  consensus::ConsensusConfig c;
  if (opts["chainId"].isString()) c.chain_id = opts["chainId"].as<std::string>();
  auto vs = validators_from_js(opts["validators"]);
  if (!vs.ok()) return vs.status();
  c.validators = std::move(*vs);
  if (!opts["blsSecretKey"].isUndefined()) {
    auto sk = bls::SecretKey::from_bytes(bytes_from_js(opts["blsSecretKey"]));
    if (!sk.ok()) return sk.status();
    c.bls_sk = *sk;
  }
  c.identity_seed = core.node().config().identity_seed;
  struct Field { const char* name; std::uint64_t* out; };
  std::uint64_t txs_max = c.txs_per_block_max, mempool_max = c.mempool_txs_max;
  for (const Field& f : {Field{"startMs", &c.start_ms}, Field{"timeoutMs", &c.timeout_ms}, Field{"timeoutMsMax", &c.timeout_ms_max},
                         Field{"emptyBlockMs", &c.empty_block_ms}, Field{"txsPerBlockMax", &txs_max}, Field{"mempoolTxsMax", &mempool_max},
                         Field{"snapshotInterval", &c.snapshot_interval}}) {
    const val x = opts[f.name];
    if (x.isUndefined()) continue;
    if (!safe_u64(x, *f.out)) return Status(invalid_argument(std::string("consensus: ") + f.name + " must be a non-negative integer"));
  }
  c.txs_per_block_max = txs_max;
  c.mempool_txs_max = mempool_max;
  return c;
}

val consensus_attach(NodeCore& core, const std::string& channel, const val& opts) {
  auto config = config_from_js(core, opts);
  if (!config.ok()) return error_to_js(config.status());
  auto p = ConsensusProtocol::create(std::move(*config), core.node().id());
  if (!p.ok()) return error_to_js(p.status());
  Status s = core.node().add_protocol(channel, std::move(*p));
  return s.ok() ? val::undefined() : error_to_js(s);
}

val consensus_register(NodeCore& core, const std::string& channel, const std::string& name, val fn) {
  auto* c = chain_of(core, channel);
  if (!c) return error_to_js(not_found("consensus: no chain on " + channel));
  Status s = c->register_module(name, std::make_shared<JsModule>(std::move(fn)));
  return s.ok() ? val::undefined() : error_to_js(s);
}

val consensus_submit(NodeCore& core, const std::string& channel, const std::string& op, const val& args, double now_ms) {
  auto* c = chain_of(core, channel);
  if (!c) return error_to_js(not_found("consensus: no chain on " + channel));
  auto v = value_from_js(args);
  if (!v.ok()) return error_to_js(v.status());
  auto id = c->submit(op, *v, static_cast<std::uint64_t>(now_ms));
  return id.ok() ? bytes_to_js(*id) : error_to_js(id.status());
}

// Many submits in one call: ops is [[op, args]...]; returns one entry per op, its id (bytes) or
// an error value, in order.
val consensus_submit_many(NodeCore& core, const std::string& channel, const val& ops, double now_ms) {
  auto* c = chain_of(core, channel);
  if (!c) return error_to_js(not_found("consensus: no chain on " + channel));
  const unsigned n = ops["length"].as<unsigned>();
  val out = val::array();
  for (unsigned i = 0; i < n; ++i) {
    const val item = ops[i];
    auto v = value_from_js(item[1]);
    if (!item[0].isString() || !v.ok()) {
      out.call<void>("push", error_to_js(v.ok() ? invalid_argument("consensus: op must be a string") : v.status()));
      continue;
    }
    auto id = c->submit(item[0].as<std::string>(), *v, static_cast<std::uint64_t>(now_ms));
    out.call<void>("push", id.ok() ? bytes_to_js(*id) : error_to_js(id.status()));
  }
  return out;
}

val consensus_get(NodeCore& core, const std::string& channel, const std::string& key) {
  auto* c = chain_of(core, channel);
  if (!c) return error_to_js(not_found("consensus: no chain on " + channel));
  const auto* e = c->get(key);
  val out = val::object();
  out.set("found", e != nullptr);
  if (e) {
    out.set("value", value_to_js(e->value));
    out.set("modRevision", static_cast<double>(e->mod_revision));
  }
  return out;
}

val consensus_read_proof(NodeCore& core, const std::string& channel, const std::string& key) {
  auto* c = chain_of(core, channel);
  if (!c) return error_to_js(not_found("consensus: no chain on " + channel));
  auto p = c->read_proof(key);
  return p.ok() ? bytes_to_js(*p) : error_to_js(p.status());
}

val consensus_info(NodeCore& core, const std::string& channel) {
  auto* c = chain_of(core, channel);
  if (!c) return error_to_js(not_found("consensus: no chain on " + channel));
  val out = val::object();
  out.set("view", static_cast<double>(c->view()));
  out.set("height", static_cast<double>(c->committed_height()));
  out.set("stateRoot", bytes_to_js(c->state_root()));
  out.set("snapshotsInstalled", static_cast<double>(c->stats().snapshots_installed));
  out.set("epoch", static_cast<double>(c->epoch()));
  const auto halted = c->halted();
  if (halted) out.set("halted", *halted);
  return out;
}

// The current epoch's set: [{ id, blsPublicKey, blsPop }] by id.
val consensus_validators(NodeCore& core, const std::string& channel) {
  auto* c = chain_of(core, channel);
  if (!c) return error_to_js(not_found("consensus: no chain on " + channel));
  val out = val::array();
  for (const auto& v : c->validators()) {
    val item = val::object();
    item.set("id", v.id.to_string());
    item.set("blsPublicKey", bytes_to_js(v.bls_pk));
    item.set("blsPop", bytes_to_js(v.bls_pop));
    out.call<void>("push", item);
  }
  return out;
}

val consensus_verify_read(const std::string& chain_id, const val& validators, const val& proof, double epoch) {
  auto vs = validators_from_js(validators);
  if (!vs.ok()) return error_to_js(vs.status());
  const auto bytes = bytes_from_js(proof);
  auto r = consensus::verify_read(chain_id, std::move(*vs), bytes, static_cast<std::uint64_t>(epoch));
  if (!r.ok()) return error_to_js(r.status());
  val out = val::object();
  out.set("height", static_cast<double>(r->height));
  out.set("key", r->key);
  out.set("found", r->read.found);
  if (r->read.found) out.set("value", value_to_js(r->read.value));
  out.set("modRevision", static_cast<double>(r->read.mod_revision));
  out.set("createRevision", static_cast<double>(r->read.create_revision));
  out.set("version", static_cast<double>(r->read.version));
  return out;
}

val consensus_bls_pop(const val& secret_key) {
  auto sk = bls::SecretKey::from_bytes(bytes_from_js(secret_key));
  if (!sk.ok()) return error_to_js(sk.status());
  return bytes_to_js(consensus::bls_pop(*sk));
}

}  // namespace

EMSCRIPTEN_BINDINGS(nitro_consensus) {
  emscripten::class_<StateHandle>("ChainState")
      .smart_ptr<std::shared_ptr<StateHandle>>("ChainStatePtr")
      .function("get", &StateHandle::get)
      .function("put", &StateHandle::put)
      .function("remove", &StateHandle::remove);  // not "delete": embind's own handle release
  emscripten::function("consensusAttach", &consensus_attach);
  emscripten::function("consensusRegister", &consensus_register);
  emscripten::function("consensusSubmit", &consensus_submit);
  emscripten::function("consensusSubmitMany", &consensus_submit_many);
  emscripten::function("consensusGet", &consensus_get);
  emscripten::function("consensusReadProof", &consensus_read_proof);
  emscripten::function("consensusInfo", &consensus_info);
  emscripten::function("consensusValidators", &consensus_validators);
  emscripten::function("consensusVerifyRead", &consensus_verify_read);
  emscripten::function("consensusBlsPop", &consensus_bls_pop);
}

}  // namespace nitro::bind
