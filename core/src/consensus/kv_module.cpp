// The built-in "kv" module. Ops and arguments (msgpack maps):
//   kv.put    {key, value}                                   -> {revision}
//   kv.delete {key}                                          -> {deleted: bool, revision}
//   kv.cas    {key, value | delete: true, and guards}        -> {revision}; FAILED_PRECONDITION if a guard fails
//             guards: expect: <value> (current value equals; nil = key absent),
//                     expectRevision: u64 (current mod_revision equals; 0 = key absent),
//                     ifTokenAtLeast: u64 (fencing: the token must be >= every token this key
//                     has accepted before; the highest is kept under "\0fence/<key>")
//   kv.batch  {ops: [{op: "put"|"delete"|"cas", ...same args}]} -> {revision, results: [...]}; atomic
#include "consensus/state.h"

namespace nitro::consensus {
namespace {

const std::string* str_arg(const Value& args, std::string_view name) {
  const Value* v = args.find(name);
  return v && v->is<std::string>() ? &v->as<std::string>() : nullptr;
}

std::optional<std::uint64_t> u64_arg(const Value& args, std::string_view name) {
  const Value* v = args.find(name);
  if (v && v->is<std::int64_t>() && v->as<std::int64_t>() >= 0) return static_cast<std::uint64_t>(v->as<std::int64_t>());
  if (v && v->is<std::uint64_t>()) return v->as<std::uint64_t>();
  return std::nullopt;
}

// Keys starting with a NUL byte belong to the chain's built-in modules (the sync module's locks,
// kv's own fences): a user op that could write them could forge a lock or reset a fence.
const std::string* user_key(const Value& args) {
  const std::string* key = str_arg(args, "key");
  return key && !key->empty() && (*key)[0] == '\0' ? nullptr : key;
}

Value revision_result(const chain::KvState& s) { return Value(Map{{Value("revision"), Value(s.revision())}}); }

Result<Value> put(chain::KvState& s, const Value& args) {
  const auto* key = user_key(args);
  const Value* value = args.find("value");
  if (!key || !value) return Status(invalid_argument("kv.put: needs key (a string not starting with NUL) and value"));
  NITRO_TRY(s.put(*key, *value));
  return revision_result(s);
}

Result<Value> del(chain::KvState& s, const Value& args) {
  const auto* key = user_key(args);
  if (!key) return Status(invalid_argument("kv.delete: needs key (a string not starting with NUL)"));
  const bool existed = s.erase(*key);
  return Value(Map{{Value("deleted"), Value(existed)}, {Value("revision"), Value(s.revision())}});
}

Status check_guards(chain::KvState& s, const std::string& key, const Value& args) {
  const chain::KvEntry* cur = s.get(key);
  if (const Value* expect = args.find("expect")) {
    const bool match = expect->is_nil() ? cur == nullptr : (cur && cur->value == *expect);
    if (!match) return failed_precondition("kv.cas: value differs from expect");
  }
  if (auto rev = u64_arg(args, "expectRevision")) {
    if ((cur ? cur->mod_revision : 0) != *rev) return failed_precondition("kv.cas: revision differs from expectRevision");
  }
  if (auto token = u64_arg(args, "ifTokenAtLeast")) {
    const std::string fence_key = std::string("\0fence/", 7) + key;
    const chain::KvEntry* fence = s.get(fence_key);
    if (fence && fence->value.is<std::int64_t>() && static_cast<std::uint64_t>(fence->value.as<std::int64_t>()) > *token) {
      return failed_precondition("kv.cas: fencing token is stale");
    }
    NITRO_TRY(s.put(fence_key, Value(*token)));
  }
  return Status::ok_status();
}

Result<Value> cas(chain::KvState& s, const Value& args) {
  const auto* key = user_key(args);
  if (!key) return Status(invalid_argument("kv.cas: needs key (a string not starting with NUL)"));
  const Value* del_flag = args.find("delete");
  const bool is_delete = del_flag && del_flag->is<bool>() && del_flag->as<bool>();
  const Value* value = args.find("value");
  if (!is_delete && !value) return Status(invalid_argument("kv.cas: needs value or delete"));
  NITRO_TRY(check_guards(s, *key, args));
  if (is_delete) s.erase(*key); else NITRO_TRY(s.put(*key, *value));
  return revision_result(s);
}

Result<Value> batch(chain::KvState& s, const Value& args) {
  const Value* ops = args.find("ops");
  if (!ops || !ops->is<Array>()) return Status(invalid_argument("kv.batch: needs ops"));
  if (ops->as<Array>().size() > 1024) return Status(invalid_argument("kv.batch: at most 1024 ops"));
  Array results;
  for (const auto& op : ops->as<Array>()) {
    const auto* name = str_arg(op, "op");
    if (!name) return Status(invalid_argument("kv.batch: every op needs an op name"));
    Result<Value> r = *name == "put" ? put(s, op) : *name == "delete" ? del(s, op) : *name == "cas" ? cas(s, op)
                      : Result<Value>(Status(invalid_argument("kv.batch: unknown op " + *name)));
    if (!r.ok()) return r.status();
    results.push_back(std::move(*r));
  }
  return Value(Map{{Value("revision"), Value(s.revision())}, {Value("results"), Value(std::move(results))}});
}

class KvModule final : public chain::BuiltinModule {
 public:
  Result<Value> apply(chain::KvState& s, const std::string& op, const Value& args, const chain::TxContext&) override {
    if (!args.is<Map>()) return Status(invalid_argument(op + ": args must be a map"));
    if (op == "kv.put") return put(s, args);
    if (op == "kv.delete") return del(s, args);
    if (op == "kv.cas") return cas(s, args);
    if (op == "kv.batch") return batch(s, args);
    return Status(Code::kNotFound, "kv: unknown op " + op);
  }
};

}  // namespace

std::shared_ptr<chain::BuiltinModule> make_kv_module() { return std::make_shared<KvModule>(); }

}  // namespace nitro::consensus
