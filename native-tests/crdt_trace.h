// Editing traces (github.com/josephg/editing-traces format) for the CRDT suites: read from
// ../shared/data/editing-traces/*.json.gz via `gzip -dc`, parsed by a small JSON reader.
#pragma once

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace nitro::test {

struct Patch {
  std::size_t pos;
  std::size_t del;
  std::u16string ins;
};

struct Trace {
  std::u16string end_content;
  std::vector<std::vector<Patch>> txns;
};

inline std::string gunzip(const std::string& path) {
  std::string cmd = "gzip -dc '" + path + "'";
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) throw std::runtime_error("cannot run " + cmd);
  std::string out;
  char buf[65536];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  if (pclose(f) != 0) throw std::runtime_error("gzip failed on " + path);
  return out;
}

// Just enough JSON for the trace files: objects, arrays, strings (as UTF-16), integers.
class TraceParser {
 public:
  explicit TraceParser(const std::string& s) : s_(s) {}

  Trace parse() {
    Trace t;
    expect('{');
    while (true) {
      std::string key = narrow(str());
      expect(':');
      if (key == "endContent") t.end_content = str();
      else if (key == "txns") txns(t);
      else skip();
      if (peek() == ',') { ++i_; continue; }
      expect('}');
      return t;
    }
  }

 private:
  void txns(Trace& t) {
    expect('[');
    if (peek() == ']') { ++i_; return; }
    do {
      std::vector<Patch> patches;
      expect('{');
      do {
        std::string key = narrow(str());
        expect(':');
        if (key != "patches") { skip(); continue; }
        expect('[');
        if (peek() != ']') {
          do {
            expect('[');
            Patch p;
            p.pos = num();
            expect(',');
            p.del = num();
            expect(',');
            p.ins = str();
            expect(']');
            patches.push_back(std::move(p));
          } while (peek() == ',' && ++i_);
        }
        expect(']');
      } while (peek() == ',' && ++i_);
      expect('}');
      t.txns.push_back(std::move(patches));
    } while (peek() == ',' && ++i_);
    expect(']');
  }
  static std::string narrow(const std::u16string& u) { return std::string(u.begin(), u.end()); }
  char peek() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
    if (i_ >= s_.size()) throw std::runtime_error("json: unexpected end");
    return s_[i_];
  }
  void expect(char c) {
    if (peek() != c) throw std::runtime_error(std::string("json: expected ") + c + " at " + std::to_string(i_));
    ++i_;
  }
  std::size_t num() {
    peek();
    std::size_t v = 0;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') v = v * 10 + (s_[i_++] - '0');
    return v;
  }
  std::u16string str() {
    expect('"');
    std::u16string out;
    while (s_[i_] != '"') {
      char c = s_[i_++];
      if (c != '\\') { out += static_cast<char16_t>(static_cast<unsigned char>(c)); continue; }
      char e = s_[i_++];
      switch (e) {
        case 'n': out += u'\n'; break;
        case 't': out += u'\t'; break;
        case 'r': out += u'\r'; break;
        case 'b': out += u'\b'; break;
        case 'f': out += u'\f'; break;
        case 'u': out += static_cast<char16_t>(std::stoi(s_.substr(i_, 4), nullptr, 16)); i_ += 4; break;
        default: out += static_cast<char16_t>(e);
      }
    }
    ++i_;
    return out;
  }
  void skip() {
    char c = peek();
    if (c == '"') { str(); return; }
    if (c == '[' || c == '{') {
      char close = c == '[' ? ']' : '}';
      ++i_;
      if (peek() == close) { ++i_; return; }
      do {
        if (c == '{') { str(); expect(':'); }
        skip();
      } while (peek() == ',' && ++i_);
      expect(close);
      return;
    }
    while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != '}' && s_[i_] != ']') ++i_;
  }
  const std::string& s_;
  std::size_t i_ = 0;
};

inline Trace load_trace(const std::string& path) { return TraceParser(gunzip(path)).parse(); }

}  // namespace nitro::test
