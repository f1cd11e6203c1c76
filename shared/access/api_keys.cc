// api_keys.cc: parsing API_KEYS_FILE, matching keys, reloading on change.
//
// Why digests: the file can then be read by anyone who can read the
// deployment (a config map, a volume) without giving away a key, and the
// process never keeps a key in memory beyond the request that carried it.
// Keys are random tokens, not passwords, so a fast unsalted hash is enough:
// nobody can guess a 128-bit token from its SHA-256.
//
// Why compare against every entry: a loop that stops at the first match
// takes longer for keys near the end of the file; comparing every digest
// with CRYPTO_memcmp and OR-ing the results costs the same whichever key,
// if any, matches.
#include "api_keys.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "clock.h"
#include "log.h"

namespace folio {

namespace {

constexpr char kPrefix[] = "sha256:";
constexpr size_t kMaxFileBytes = 1 << 20;

std::vector<std::string> Tokens(std::string_view line) {
  std::vector<std::string> out;
  std::string current;
  for (char c : line) {
    if (c == ' ' || c == '\t' || c == '\r') {
      if (!current.empty()) out.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) out.push_back(std::move(current));
  return out;
}

Status BadLine(size_t number, const std::string& why) {
  return InvalidArgument("invalid_api_keys", "line " + std::to_string(number) + ": " + why);
}

}  // namespace

Result<std::vector<ApiKeyEntry>> ParseApiKeys(std::string_view text) {
  std::vector<ApiKeyEntry> entries;
  std::vector<size_t> lines_of;  // line number of each entry, for duplicates
  size_t number = 0;
  for (size_t at = 0; at <= text.size();) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(at, end - at);
    at = end + 1;
    ++number;
    line = line.substr(0, line.find('#'));
    std::vector<std::string> tokens = Tokens(line);
    if (tokens.empty()) continue;
    // Never quote the line back: a key pasted by mistake must not reach a log.
    if (tokens[0].rfind(kPrefix, 0) != 0)
      return BadLine(number, "want \"sha256:<64 hex digits> [operator]\"; the file holds hashes, never keys "
                             "(make a line with `folio-worker --hash-key`)");
    ApiKeyEntry entry;
    if (!ParseSha256Hex(std::string_view(tokens[0]).substr(sizeof kPrefix - 1), &entry.digest))
      return BadLine(number, "the digest after \"sha256:\" must be 64 hex digits");
    if (tokens.size() >= 2) {
      if (tokens[1] == "operator") entry.role = KeyRole::kOperator;
      else if (tokens[1] != "client") return BadLine(number, "the role after the digest must be \"operator\" or \"client\"");
    }
    if (tokens.size() > 2) return BadLine(number, "unexpected text after the role (comments start with '#')");
    for (size_t i = 0; i < entries.size(); ++i)
      if (entries[i].digest == entry.digest)
        return BadLine(number, "the same key as line " + std::to_string(lines_of[i]));
    entries.push_back(entry);
    lines_of.push_back(number);
  }
  if (entries.empty())
    return InvalidArgument("invalid_api_keys", "no key in the file (every /api/* and /v1/* call would be refused)");
  return entries;
}

Result<std::vector<ApiKeyEntry>> ReadApiKeysFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return InvalidArgument("invalid_api_keys", path + " cannot be read");
  std::string text(kMaxFileBytes + 1, '\0');
  f.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(f.gcount()));
  if (text.size() > kMaxFileBytes) return InvalidArgument("invalid_api_keys", path + " is over 1 MiB");
  Result<std::vector<ApiKeyEntry>> parsed = ParseApiKeys(text);
  if (!parsed.ok()) return InvalidArgument("invalid_api_keys", path + ": " + parsed.status().message());
  return parsed;
}

std::string ApiKeyFileLine(std::string_view key, KeyRole role) {
  return kPrefix + HexOf(Sha256(key)) + (role == KeyRole::kOperator ? " operator" : "");
}

KeyIdentity IdentityOf(const Sha256Digest& digest) {
  std::string hex = HexOf(digest);
  return {hex.substr(0, 4), "key:" + hex.substr(0, 16)};
}

std::unique_ptr<ApiKeys> ApiKeys::Open(std::string path, std::chrono::milliseconds recheck) {
  std::unique_ptr<ApiKeys> keys(new ApiKeys(std::move(path), recheck));
  std::lock_guard<std::mutex> lock(keys->mu_);
  keys->identity_ = kUnknownFile;
  keys->ReloadIfChanged(std::chrono::steady_clock::now());
  return keys;
}

void ApiKeys::ReloadIfChanged(std::chrono::steady_clock::time_point now) {
  if (now < next_stat_) return;
  next_stat_ = now + recheck_;
  FileIdentity seen;
  struct stat st {};
  if (stat(path_.c_str(), &st) == 0) {
    seen = {true, static_cast<unsigned long long>(st.st_dev), static_cast<unsigned long long>(st.st_ino),
            static_cast<long long>(st.st_size), st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec,
            st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec};
  }
  if (seen == identity_) return;
  // Key lines have a fixed length, so rewriting one key in place keeps the
  // size, and a write within the file system's timestamp tick after this
  // read keeps the times: the identity would say "unchanged" over content
  // we never read, and a revoked key would stay valid. So a file changed
  // within the last kRacyWindow is not trusted by its identity: it is read
  // again at every check until its times are safely in the past (git's
  // "racily clean" rule).
  const long long now_ns = UnixMs() * 1'000'000LL;
  const bool racy = seen.exists && now_ns - std::max(seen.mtime_ns, seen.ctime_ns) < kRacyWindowNs;
  identity_ = racy ? kUnknownFile : seen;
  Result<std::vector<ApiKeyEntry>> loaded = ReadApiKeysFile(path_);
  if (loaded.ok()) {
    const bool same = status_.ok() && loaded.value() == entries_;  // a racy re-read, nothing new
    entries_ = std::move(loaded.value());
    status_ = Status::Ok();
    if (!same)
      LogInfo("api_keys_loaded", {{"path", path_}, {"keys", entries_.size()}, {"operators", OperatorsLocked()}});
  } else {
    entries_.clear();  // fail closed: a revoked key must not come back because of a typo
    status_ = loaded.status();
    LogError("api_keys_invalid", {{"path", path_}, {"reason", status_.message()}});
  }
}

KeyCheck ApiKeys::Check(const Sha256Digest& digest) {
  std::lock_guard<std::mutex> lock(mu_);
  ReloadIfChanged(std::chrono::steady_clock::now());
  unsigned matched = 0, operator_matched = 0;
  for (const ApiKeyEntry& e : entries_) {
    unsigned eq = ConstantTimeEqual(e.digest, digest) ? 1u : 0u;
    matched |= eq;
    operator_matched |= eq & (e.role == KeyRole::kOperator ? 1u : 0u);
  }
  return {matched != 0, operator_matched ? KeyRole::kOperator : KeyRole::kClient};
}

void ApiKeys::Refresh() {
  std::lock_guard<std::mutex> lock(mu_);
  ReloadIfChanged(std::chrono::steady_clock::now());
}

Status ApiKeys::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

size_t ApiKeys::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

size_t ApiKeys::operator_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return OperatorsLocked();
}

size_t ApiKeys::OperatorsLocked() const {
  size_t n = 0;
  for (const ApiKeyEntry& e : entries_) n += e.role == KeyRole::kOperator;
  return n;
}

}  // namespace folio
