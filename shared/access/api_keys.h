// api_keys.h: the API keys allowed to call folio, from API_KEYS_FILE, held
// as SHA-256 digests only: neither the file nor memory ever holds a key.
//
// The file, one entry a line ('#' starts a comment; blank lines are skipped):
//     sha256:<64 hex digits>            a client key: /api/* and /v1/*
//     sha256:<64 hex digits> operator   also the operator endpoints (access.h)
// `folio-worker --hash-key` reads a key on stdin and prints its line.
//
// ApiKeys is safe from any thread. Check() notices a changed file (its
// inode, size or mtime, looked at with one stat() at most once per
// `recheck`) and reloads it, so keys rotate without a restart. A file that
// is missing, unreadable or invalid, or holds no key, matches nothing until
// it is fixed: a botched rotation locks clients out rather than letting a
// revoked key back in.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "sha256.h"
#include "status.h"

namespace folio {

enum class KeyRole { kClient, kOperator };

struct ApiKeyEntry {
  Sha256Digest digest{};
  KeyRole role = KeyRole::kClient;
  bool operator==(const ApiKeyEntry&) const = default;
};

// Parses the file's text. InvalidArgument naming the first bad line
// ("line 3: ...", never echoing the line: it may hold a pasted key), or
// when there is no entry at all.
Result<std::vector<ApiKeyEntry>> ParseApiKeys(std::string_view text);

// Reads and parses `path` (at most 1 MiB). The message names the path.
Result<std::vector<ApiKeyEntry>> ReadApiKeysFile(const std::string& path);

// The line to put in the file for `key`: "sha256:<hex>" (+ " operator").
std::string ApiKeyFileLine(std::string_view key, KeyRole role = KeyRole::kClient);

// What a presented key is known by in logs and limits: never the key.
struct KeyIdentity {
  std::string tag;        // first 4 hex digits of its SHA-256: for log lines
  std::string client_id;  // "key:" + first 16 hex digits: the per-client limit key
};
KeyIdentity IdentityOf(const Sha256Digest& digest);

struct KeyCheck {
  bool valid = false;
  KeyRole role = KeyRole::kClient;  // meaningful when valid
};

class ApiKeys {
 public:
  // Loads `path` now. Always returns an object: when the file cannot be
  // loaded, status() says why and Check() matches nothing.
  static std::unique_ptr<ApiKeys> Open(std::string path,
                                       std::chrono::milliseconds recheck = std::chrono::seconds(1));
  ApiKeys(const ApiKeys&) = delete;
  ApiKeys& operator=(const ApiKeys&) = delete;

  // Compares `digest` (Sha256 of the presented key) with every entry in
  // constant time, without stopping at a match, after reloading the file if
  // it changed.
  KeyCheck Check(const Sha256Digest& digest);

  // Reloads the file if it changed (at most one stat() per `recheck`), as
  // Check() does: for readers of status() that check no key.
  void Refresh();

  // Of the last load: OK, or why nothing matches.
  Status status() const;
  size_t size() const;            // entries in force
  size_t operator_count() const;  // of which operators
  const std::string& path() const { return path_; }

 private:
  ApiKeys(std::string path, std::chrono::milliseconds recheck) : path_(std::move(path)), recheck_(recheck) {}
  // REQUIRES: mu_ held.
  void ReloadIfChanged(std::chrono::steady_clock::time_point now);
  size_t OperatorsLocked() const;  // REQUIRES: mu_ held.

  struct FileIdentity {
    bool exists = false;
    unsigned long long dev = 0, ino = 0;
    long long size = 0, mtime_ns = 0, ctime_ns = 0;
    bool operator==(const FileIdentity&) const = default;
  };

  // An identity no stat() returns: the next check reads the file.
  static constexpr FileIdentity kUnknownFile{true, 0, ~0ull, 0, 0, 0};
  // How recently changed a file must be for its identity not to be trusted.
  static constexpr long long kRacyWindowNs = 2'000'000'000;

  const std::string path_;
  const std::chrono::milliseconds recheck_;
  mutable std::mutex mu_;
  std::vector<ApiKeyEntry> entries_;
  Status status_;
  FileIdentity identity_;
  std::chrono::steady_clock::time_point next_stat_{};
};

}  // namespace folio
