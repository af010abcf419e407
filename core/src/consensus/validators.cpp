// The built-in "validators" module. Ops and arguments (msgpack maps):
//   validators.add    {id, blsPublicKey, blsPop, epoch?}  -> {applied, votes, needed, epoch}
//   validators.remove {id, epoch?}                        -> {applied, votes, needed, epoch}
// id is a PeerId (52-char text or 32 bytes); an optional `epoch` makes the vote count only while
// the set is at that epoch (a submission delayed past a change fails instead). Only a member of the current set may submit; the
// submission is its vote for exactly that change (key and proof included). When 2f+1 distinct
// members of the current set have voted for the same change since the last one, it applies: the
// set moves to epoch + 1 and every pending vote is dropped (votes name the epoch they were cast
// in, so none can count twice). The proof of possession is checked before the first vote is
// recorded: a rogue key would let its owner forge aggregate signatures. A member has at most
// kVotesPerMemberMax changes pending.
#include "consensus/validators.h"

#include <algorithm>

#include "nitro/codec.h"

namespace nitro::consensus {
namespace {

Value bytes_value(std::span<const std::uint8_t> b) { return Value(Bytes(b.begin(), b.end())); }

Result<PeerId> id_arg(const Value& args) {
  const Value* v = args.find("id");
  if (v && v->is<std::string>()) return PeerId::parse(v->as<std::string>());
  if (v && v->is<Bytes>()) return PeerId::from_bytes(v->as<Bytes>());
  return Status(invalid_argument("validators: needs id (a peer id)"));
}

const Bytes* bytes_arg(const Value& args, std::string_view name) {
  const Value* v = args.find(name);
  return v && v->is<Bytes>() ? &v->as<Bytes>() : nullptr;
}

bool is_member(const ValidatorSet& s, const PeerId& id) {
  return std::any_of(s.members.begin(), s.members.end(), [&](const Validator& v) { return v.id == id; });
}

Status check_key(const Bytes& pk, const Bytes& pop) {
  if (!bls::PublicKey::decode(bls::kMinSigPop.pk_group(), pk).ok()) return invalid_argument("validators.add: bad BLS key");
  auto ok = bls::pop_verify(bls::kMinSigPop.sig_group, pk, pop);
  if (!ok.ok() || !*ok) return invalid_argument("validators.add: bad proof of possession");
  return Status::ok_status();
}

// The set after the change, or why the change cannot apply to `s`.
Result<ValidatorSet> changed(const ValidatorSet& s, const std::string& op, const Value& args) {
  auto parsed = id_arg(args);
  if (!parsed.ok()) return parsed.status();
  const PeerId id = *parsed;
  ValidatorSet next = s;
  next.epoch = s.epoch + 1;
  if (op == "validators.remove") {
    if (!is_member(s, id)) return Status(Code::kNotFound, "validators.remove: not a validator");
    if (s.members.size() <= kValidatorsMin) return Status(failed_precondition("validators.remove: at least 4 validators stay"));
    std::erase_if(next.members, [&](const Validator& v) { return v.id == id; });
    return next;
  }
  if (op != "validators.add") return Status(Code::kNotFound, "validators: unknown op " + op);
  const Bytes* pk = bytes_arg(args, "blsPublicKey");
  const Bytes* pop = bytes_arg(args, "blsPop");
  if (!pk || !pop) return Status(invalid_argument("validators.add: needs blsPublicKey and blsPop (bytes)"));
  if (is_member(s, id)) return Status(Code::kAlreadyExists, "validators.add: already a validator");
  if (s.members.size() >= kValidatorsMax) return Status(failed_precondition("validators.add: at most 256 validators"));
  next.members.push_back(Validator{id, *pk, *pop});
  std::sort(next.members.begin(), next.members.end(), [](const Validator& a, const Validator& b) { return a.id < b.id; });
  return next;
}

std::string votes_key(const ValidatorSet& s, const std::string& op, const Value& args) {
  const Hash h = sha256(codec::encode(Value(Array{Value(s.epoch), Value(op), args})));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string key = kValidatorVotesPrefix;
  for (auto byte : h) { key += kHex[byte >> 4]; key += kHex[byte & 15]; }
  return key;
}

std::size_t pending_votes_of(const chain::KvState& s, const Value& member) {
  std::size_t count = 0;
  for (const auto& [k, e] : s.scan(kValidatorVotesPrefix, "", kChangesPendingMax)) {
    if (e.value.is<Array>()) count += static_cast<std::size_t>(std::count(e.value.as<Array>().begin(), e.value.as<Array>().end(), member));
  }
  return count;
}

Value outcome(bool applied, std::size_t votes, std::size_t needed, std::uint64_t epoch) {
  return Value(Map{{Value("applied"), Value(applied)}, {Value("votes"), Value(std::uint64_t{votes})},
                   {Value("needed"), Value(std::uint64_t{needed})}, {Value("epoch"), Value(epoch)}});
}

class ValidatorsModule final : public chain::BuiltinModule {
 public:
  explicit ValidatorsModule(ValidatorSet genesis) : genesis_(std::move(genesis)) {}

  Result<Value> apply(chain::KvState& s, const std::string& op, const Value& args, const chain::TxContext& ctx) override {
    if (!args.is<Map>()) return Status(invalid_argument(op + ": args must be a map"));
    auto current = set_in_state(s.get(kValidatorSetKey), genesis_);
    if (!current.ok()) return current.status();
    const ValidatorSet& set = *current;
    if (!is_member(set, ctx.sender)) return Status(permission_denied(op + ": only a current validator votes on the set"));
    // A vote meant for one epoch must not count in a later one where the same change reads otherwise.
    if (const Value* e = args.find("epoch"); e && !(*e == Value(set.epoch))) {
      return Status(failed_precondition(op + ": the set is at another epoch now"));
    }
    auto after = changed(set, op, args);
    if (!after.ok()) return after.status();
    ValidatorSet& next = *after;
    // Canonical: the vote names the change, not how the submitter spelled it.
    const Value id = bytes_value(id_arg(args)->bytes());
    const Value change = op == "validators.add"
                             ? Value(Array{id, Value(*bytes_arg(args, "blsPublicKey")), Value(*bytes_arg(args, "blsPop"))})
                             : Value(Array{id});
    const std::string key = votes_key(set, op, change);
    Array votes;
    const Value me = bytes_value(ctx.sender.bytes());
    if (const chain::KvEntry* e = s.get(key); e && e->value.is<Array>()) votes = e->value.as<Array>();
    if (std::find(votes.begin(), votes.end(), me) == votes.end()) {
      if (pending_votes_of(s, me) >= kVotesPerMemberMax) return Status(resource_exhausted(op + ": too many of your changes pending"));
      if (votes.empty() && op == "validators.add") NITRO_TRY(check_key(*bytes_arg(args, "blsPublicKey"), *bytes_arg(args, "blsPop")));
      votes.push_back(me);
    }
    if (votes.size() < set.quorum()) {
      const std::size_t count = votes.size();
      NITRO_TRY(s.put(key, Value(std::move(votes))));
      return outcome(false, count, set.quorum(), set.epoch);
    }
    next.root_height = ctx.height;
    for (const auto& [k, e] : s.scan(kValidatorVotesPrefix, "", kChangesPendingMax)) s.erase(k);
    NITRO_TRY(s.put(kValidatorSetKey, set_value(next)));
    return outcome(true, votes.size(), set.quorum(), next.epoch);
  }

 private:
  ValidatorSet genesis_;
};

}  // namespace

Hash ValidatorSet::hash() const {
  Array list;
  for (const auto& v : members) list.push_back(Value(Array{bytes_value(v.id.bytes()), Value(v.bls_pk)}));
  return sha256(codec::encode(Value(std::move(list))));
}

// [epoch, root_height, [[id bin32, bls_pk, bls_pop]...]]
Value set_value(const ValidatorSet& s) {
  Array members;
  for (const auto& v : s.members) members.push_back(Value(Array{bytes_value(v.id.bytes()), Value(v.bls_pk), Value(v.bls_pop)}));
  return Value(Array{Value(s.epoch), Value(s.root_height), Value(std::move(members))});
}

Result<ValidatorSet> set_from(const Value& v) {
  const auto bad = [] { return Status(decode_error("validators: malformed set record")); };
  if (!v.is<Array>() || v.as<Array>().size() != 3) return bad();
  const auto& a = v.as<Array>();
  if (!a[0].is<std::int64_t>() || !a[1].is<std::int64_t>() || !a[2].is<Array>()) return bad();
  if (a[2].as<Array>().size() < kValidatorsMin || a[2].as<Array>().size() > kValidatorsMax) return bad();
  ValidatorSet s;
  s.epoch = static_cast<std::uint64_t>(a[0].as<std::int64_t>());
  s.root_height = static_cast<std::uint64_t>(a[1].as<std::int64_t>());
  for (const auto& m : a[2].as<Array>()) {
    if (!m.is<Array>() || m.as<Array>().size() != 3 || !m.as<Array>()[0].is<Bytes>() || !m.as<Array>()[1].is<Bytes>() ||
        !m.as<Array>()[2].is<Bytes>()) {
      return bad();
    }
    auto id = PeerId::from_bytes(m.as<Array>()[0].as<Bytes>());
    if (!id.ok()) return bad();
    s.members.push_back(Validator{*id, m.as<Array>()[1].as<Bytes>(), m.as<Array>()[2].as<Bytes>()});
  }
  return s;
}

Result<ValidatorSet> set_in_state(const chain::KvEntry* entry, const ValidatorSet& genesis) {
  if (!entry) return genesis;
  return set_from(entry->value);
}

std::shared_ptr<chain::BuiltinModule> make_validators_module(ValidatorSet genesis) {
  return std::make_shared<ValidatorsModule>(std::move(genesis));
}

}  // namespace nitro::consensus
