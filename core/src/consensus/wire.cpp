// Consensus wire encodings (see wire.h).
#include "consensus/wire.h"

#include <bit>

#include "nitro/bls.h"
#include "nitro/codec.h"

namespace nitro::consensus {
namespace {

Value hash_value(const Hash& h) { return Value(Bytes(h.begin(), h.end())); }

bool u64(const Value& v, std::uint64_t& out) {
  if (!v.is<std::int64_t>() || v.as<std::int64_t>() < 0) return false;
  out = static_cast<std::uint64_t>(v.as<std::int64_t>());
  return true;
}

bool hash_from(const Value& v, Hash& out) {
  if (!v.is<Bytes>() || v.as<Bytes>().size() != 32) return false;
  std::copy(v.as<Bytes>().begin(), v.as<Bytes>().end(), out.begin());
  return true;
}

Status bad(const char* what) { return decode_error(std::string("consensus: bad ") + what); }

}  // namespace

bool bit(const Bytes& bitmap, std::size_t i) { return i / 8 < bitmap.size() && (bitmap[i / 8] >> (i % 8)) & 1; }
void set_bit(Bytes& bitmap, std::size_t i) {
  if (bitmap.size() <= i / 8) bitmap.resize(i / 8 + 1, 0);
  bitmap[i / 8] |= static_cast<std::uint8_t>(1u << (i % 8));
}
std::size_t popcount(const Bytes& bitmap) {
  std::size_t n = 0;
  for (auto b : bitmap) n += static_cast<std::size_t>(std::popcount(b));
  return n;
}

Value qc_value(const QC& qc) {
  return Value(Array{Value(qc.view), hash_value(qc.hash), Value(qc.bitmap), Value(qc.sig)});
}

Value tc_value(const TC& tc) {
  Array entries;
  for (const auto& [s, v] : tc.entries) entries.push_back(Value(Array{Value(std::uint64_t{s}), Value(v)}));
  return Value(Array{Value(tc.view), Value(std::move(entries)), Value(tc.sig)});
}

Value block_value(const Block& b) {
  Array txs;
  txs.reserve(b.txs.size());
  for (const auto& t : b.txs) txs.push_back(Value(t));
  return Value(Array{Value(b.view), Value(b.height), hash_value(b.parent), qc_value(b.justify), Value(b.time_ms),
                     Value(std::uint64_t{b.proposer}), Value(b.exec_height), hash_value(b.exec_root),
                     Value(std::move(txs))});
}

Result<QC> qc_from(const Value& v, std::size_t validators) {
  if (!v.is<Array>() || v.as<Array>().size() != 4) return bad("qc");
  const auto& a = v.as<Array>();
  QC qc;
  if (!u64(a[0], qc.view) || !hash_from(a[1], qc.hash) || !a[2].is<Bytes>() || !a[3].is<Bytes>()) return bad("qc");
  qc.bitmap = a[2].as<Bytes>();
  qc.sig = a[3].as<Bytes>();
  if (qc.bitmap.size() > (validators + 7) / 8 || qc.sig.size() > bls::kG1Bytes) return bad("qc sizes");
  return qc;
}

Result<TC> tc_from(const Value& v, std::size_t validators) {
  if (!v.is<Array>() || v.as<Array>().size() != 3) return bad("tc");
  const auto& a = v.as<Array>();
  TC tc;
  if (!u64(a[0], tc.view) || !a[1].is<Array>() || !a[2].is<Bytes>()) return bad("tc");
  if (a[1].as<Array>().size() > validators || a[2].as<Bytes>().size() != bls::kG1Bytes) return bad("tc sizes");
  for (const auto& e : a[1].as<Array>()) {
    std::uint64_t s = 0, hv = 0;
    if (!e.is<Array>() || e.as<Array>().size() != 2 || !u64(e.as<Array>()[0], s) || !u64(e.as<Array>()[1], hv)) {
      return bad("tc entry");
    }
    if (s >= validators) return bad("tc signer");
    tc.entries.emplace_back(static_cast<std::uint32_t>(s), hv);
  }
  tc.sig = a[2].as<Bytes>();
  return tc;
}

Result<BlockPtr> block_from(const Value& v, std::size_t validators) {
  if (!v.is<Array>() || v.as<Array>().size() != 9) return bad("block");
  const auto& a = v.as<Array>();
  Block b;
  std::uint64_t proposer = 0;
  if (!u64(a[0], b.view) || !u64(a[1], b.height) || !hash_from(a[2], b.parent) || !u64(a[4], b.time_ms) ||
      !u64(a[5], proposer) || !u64(a[6], b.exec_height) || !hash_from(a[7], b.exec_root) || !a[8].is<Array>()) {
    return bad("block fields");
  }
  if (proposer >= validators) return bad("block proposer");
  b.proposer = static_cast<std::uint32_t>(proposer);
  auto qc = qc_from(a[3], validators);
  if (!qc.ok()) return qc.status();
  b.justify = std::move(*qc);
  for (const auto& t : a[8].as<Array>()) {
    if (!t.is<Bytes>()) return bad("block tx");
    b.txs.push_back(t.as<Bytes>());
  }
  return seal(std::move(b));
}

Result<std::pair<BlockPtr, Hash>> header_from(const Value& v, std::size_t validators) {
  if (!v.is<Array>() || v.as<Array>().size() != 9 || !v.as<Array>()[8].is<Bytes>() || v.as<Array>()[8].as<Bytes>().size() != 32) {
    return bad("header");
  }
  Value fields = v;
  fields.as<Array>()[8] = Value(Array{});
  auto b = block_from(fields, validators);
  if (!b.ok()) return b.status();
  return std::make_pair(std::move(*b), sha256(codec::encode(v)));
}

Value header_value(const Block& b) {
  Value v = block_value(b);
  Array& a = v.as<Array>();
  const Hash tx_root = sha256(codec::encode(a[8]));
  a[8] = Value(Bytes(tx_root.begin(), tx_root.end()));
  return v;
}

BlockPtr seal(Block b) {
  b.encoded = codec::encode(block_value(b));
  b.hash = sha256(codec::encode(header_value(b)));
  return std::make_shared<const Block>(std::move(b));
}

std::string signing_domain(const std::string& chain_id, std::uint64_t epoch, const Hash& set_hash) {
  if (epoch == 0) return chain_id;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = chain_id + "/" + std::to_string(epoch) + "/";
  for (auto byte : set_hash) { out += kHex[byte >> 4]; out += kHex[byte & 15]; }
  return out;
}

Bytes vote_message(const std::string& chain_id, std::uint64_t view, const Hash& hash) {
  return codec::encode(Value(Array{Value("nitro-vote"), Value(chain_id), Value(view), hash_value(hash)}));
}

Bytes timeout_message(const std::string& chain_id, std::uint64_t view, std::uint64_t hqc_view) {
  return codec::encode(Value(Array{Value("nitro-timeout"), Value(chain_id), Value(view), Value(hqc_view)}));
}

}  // namespace nitro::consensus
