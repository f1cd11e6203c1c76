// kb_reader.cc: directory walk (std::filesystem with error_code overloads
// only, so nothing throws), per-file classification, UTF-8 repair, hashing.
#include "kb_reader.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <system_error>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "utf8.h"

namespace folio {
namespace fs = std::filesystem;
namespace {

bool IsHidden(const fs::path& rel) {
  for (const auto& part : rel) {
    std::string s = part.string();
    if (!s.empty() && s[0] == '.' && s != "." && s != "..") return true;
  }
  return false;
}

bool HasTextExtension(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".md" || ext == ".markdown" || ext == ".txt";
}

std::string DisplayPath(const fs::path& rel) {
  std::string s = rel.generic_string();
  RepairUtf8(&s);
  return s;
}

struct FileRead {
  bool ok = false;
  std::string bytes;
  std::string error;
};

FileRead ReadWholeFile(const fs::path& path) {
  FileRead r;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    r.error = "cannot open";
    return r;
  }
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (size < 0) {
    r.error = "cannot read";
    return r;
  }
  r.bytes.resize(static_cast<size_t>(size));
  if (size > 0 && !in.read(r.bytes.data(), size)) {
    r.error = "cannot read";
    return r;
  }
  r.ok = true;
  return r;
}

bool AllWhitespace(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\v'; });
}

}  // namespace


Result<KbContents> ReadKb(const std::string& dir, const KbReadOptions& options) {
  std::error_code ec;
  fs::path root(dir);
  if (!fs::is_directory(root, ec)) {
    return NotFound("kb_not_found", "knowledge-base directory " + dir + " does not exist or is not a directory");
  }
  KbContents kb;
  struct Candidate {
    std::string rel;
    fs::path abs;
  };
  std::vector<Candidate> candidates;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
  if (ec) return Unavailable("kb_unreadable", "cannot list " + dir + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) {
      kb.skipped.push_back({"(walk)", "directory listing failed: " + ec.message()});
      break;
    }
    const fs::directory_entry& entry = *it;
    fs::path rel = entry.path().lexically_relative(root);
    if (IsHidden(rel)) {
      if (entry.is_directory(ec) && !entry.is_symlink(ec)) it.disable_recursion_pending();
      continue;
    }
    if (entry.is_symlink(ec) && entry.is_directory(ec)) {
      kb.skipped.push_back({DisplayPath(rel), "symlinked directory not followed"});
      continue;
    }
    if (entry.is_directory(ec)) continue;
    std::string rel_str = rel.generic_string();
    std::string shown = DisplayPath(rel);
    if (shown != rel_str) {
      kb.skipped.push_back({shown, "file name is not valid UTF-8"});
      continue;
    }
    if (!entry.is_regular_file(ec)) {
      kb.skipped.push_back({shown, "not a regular file"});
      continue;
    }
    if (!HasTextExtension(rel)) {
      kb.skipped.push_back({shown, "unsupported extension (want .md, .markdown or .txt)"});
      continue;
    }
    candidates.push_back({rel_str, entry.path()});
  }
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) { return a.rel < b.rel; });

  XXH3_state_t* state = XXH3_createState();
  XXH3_128bits_reset(state);
  for (const Candidate& c : candidates) {
    std::error_code size_ec;
    uintmax_t size = fs::file_size(c.abs, size_ec);
    if (!size_ec && size > options.max_file_bytes) {
      kb.skipped.push_back({c.rel, "too large (" + std::to_string(size) + " bytes > " +
                                       std::to_string(options.max_file_bytes) + ")"});
      continue;
    }
    FileRead file = ReadWholeFile(c.abs);
    if (!file.ok) {
      kb.skipped.push_back({c.rel, file.error});
      continue;
    }
    if (file.bytes.size() > options.max_file_bytes) {  // grew since stat
      kb.skipped.push_back({c.rel, "too large"});
      continue;
    }
    if (file.bytes.find('\0') != std::string::npos) {
      kb.skipped.push_back({c.rel, "binary (contains NUL bytes)"});
      continue;
    }
    if (AllWhitespace(file.bytes)) {
      kb.skipped.push_back({c.rel, "empty"});
      continue;
    }
    // Hash the raw bytes, length-prefixed so ("ab","c") != ("a","bc").
    uint64_t lens[2] = {c.rel.size(), file.bytes.size()};
    XXH3_128bits_update(state, lens, sizeof(lens));
    XXH3_128bits_update(state, c.rel.data(), c.rel.size());
    XXH3_128bits_update(state, file.bytes.data(), file.bytes.size());
    kb.total_bytes += file.bytes.size();

    KbDocument doc{c.rel, std::move(file.bytes)};
    if (RepairUtf8(&doc.text)) kb.repaired.push_back(doc.source);
    if (doc.text.compare(0, 3, "\xEF\xBB\xBF") == 0) doc.text.erase(0, 3);
    kb.documents.push_back(std::move(doc));
  }
  XXH128_hash_t h = XXH3_128bits_digest(state);
  XXH3_freeState(state);
  char hex[33];
  snprintf(hex, sizeof(hex), "%016llx%016llx", static_cast<unsigned long long>(h.high64),
           static_cast<unsigned long long>(h.low64));
  kb.kb_version = hex;
  std::sort(kb.skipped.begin(), kb.skipped.end(), [](const KbSkipped& a, const KbSkipped& b) { return a.path < b.path; });

  if (kb.documents.empty()) {
    std::string why = kb.skipped.empty() ? "the directory has no files"
                                         : std::to_string(kb.skipped.size()) + " file(s) skipped, first: " +
                                               kb.skipped[0].path + " (" + kb.skipped[0].reason + ")";
    return Unprocessable("empty_kb", "no usable .md/.markdown/.txt documents in " + dir + ": " + why);
  }
  return kb;
}

}  // namespace folio
