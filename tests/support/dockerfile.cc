// dockerfile.cc: reading a Dockerfile and a .dockerignore for tests.
#include "dockerfile.h"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <sstream>

#include <nlohmann/json.hpp>

namespace folio::test {

namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> SplitWords(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

std::string Unquote(std::string s) {
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front()) s = s.substr(1, s.size() - 2);
  return s;
}

// `K=V K2="v 2"` (quotes may hold spaces) or the legacy `K value with spaces`.
void ParseEnv(const std::string& args, std::map<std::string, std::string>* env) {
  size_t eq = args.find('=');
  size_t space = args.find_first_of(" \t");
  if (eq == std::string::npos || (space != std::string::npos && space < eq)) {
    if (space == std::string::npos) return;
    (*env)[args.substr(0, space)] = Trim(args.substr(space));
    return;
  }
  size_t i = 0;
  while (i < args.size()) {
    while (i < args.size() && std::isspace(static_cast<unsigned char>(args[i]))) ++i;
    size_t key_start = i;
    while (i < args.size() && args[i] != '=') ++i;
    if (i >= args.size()) return;
    std::string key = args.substr(key_start, i - key_start);
    ++i;
    std::string value;
    char quote = 0;
    for (; i < args.size(); ++i) {
      char c = args[i];
      if (quote) {
        if (c == quote) quote = 0;
        else value += c;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (std::isspace(static_cast<unsigned char>(c))) {
        break;
      } else {
        value += c;
      }
    }
    (*env)[key] = value;
  }
}

bool Match(const std::string& pattern, const std::string& path) {
  if (pattern.rfind("**/", 0) == 0) {
    std::string rest = pattern.substr(3);
    for (size_t pos = 0;; ++pos) {
      if (Match(rest, path.substr(pos))) return true;
      pos = path.find('/', pos);
      if (pos == std::string::npos) return false;
    }
  }
  return fnmatch(pattern.c_str(), path.c_str(), FNM_PATHNAME) == 0;
}

bool MatchesPathOrParent(const std::string& pattern, const std::string& path) {
  for (size_t pos = path.find('/'); pos != std::string::npos; pos = path.find('/', pos + 1))
    if (Match(pattern, path.substr(0, pos))) return true;
  return Match(pattern, path);
}

}  // namespace

std::optional<std::vector<std::string>> DockerInstruction::ExecForm() const {
  if (args.empty() || args.front() != '[') return std::nullopt;
  auto parsed = nlohmann::json::parse(args, nullptr, false);
  if (!parsed.is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& w : parsed) {
    if (!w.is_string()) return std::nullopt;
    out.push_back(w.get<std::string>());
  }
  return out;
}

std::vector<std::string> DockerInstruction::Words() const { return SplitWords(args); }

std::vector<const DockerInstruction*> DockerStage::All(const std::string& keyword) const {
  std::vector<const DockerInstruction*> out;
  for (const auto& i : instructions)
    if (i.keyword == keyword) out.push_back(&i);
  return out;
}

const DockerInstruction* DockerStage::Last(const std::string& keyword) const {
  auto all = All(keyword);
  return all.empty() ? nullptr : all.back();
}

std::map<std::string, std::string> DockerStage::Env() const {
  std::map<std::string, std::string> env;
  for (const auto* i : All("ENV")) ParseEnv(i->args, &env);
  return env;
}

std::vector<std::string> DockerStage::AptInstalls() const {
  std::vector<std::string> packages;
  for (const auto* run : All("RUN")) {
    // One shell command at a time: split on && ; || |.
    std::string text = run->args;
    for (const char* sep : {"&&", "||", ";", "|"}) {
      for (size_t pos; (pos = text.find(sep)) != std::string::npos;) text.replace(pos, std::string(sep).size(), "\n");
    }
    std::istringstream commands(text);
    std::string command;
    while (std::getline(commands, command)) {
      std::vector<std::string> words = SplitWords(command);
      auto apt = std::find_if(words.begin(), words.end(), [](const std::string& w) { return w == "apt-get" || w == "apt"; });
      if (apt == words.end()) continue;
      auto install = std::find(apt, words.end(), "install");
      if (install == words.end()) continue;
      for (auto w = install + 1; w != words.end(); ++w)
        if (!w->empty() && (*w)[0] != '-') packages.push_back(Unquote(*w));
    }
  }
  return packages;
}

std::string DockerStage::RunText() const {
  std::string out;
  for (const auto* run : All("RUN")) out += run->args + "\n";
  return out;
}

bool Dockerfile::Parse(const std::string& text, Dockerfile* out, std::string* error) {
  *out = Dockerfile();
  std::istringstream in(text);
  std::string raw;
  int line_no = 0;
  std::string pending;
  int pending_line = 0;
  auto flush = [&]() -> bool {
    std::string logical = Trim(pending);
    pending.clear();
    if (logical.empty()) return true;
    size_t space = logical.find_first_of(" \t");
    DockerInstruction ins;
    ins.line = pending_line;
    ins.keyword = logical.substr(0, space);
    std::transform(ins.keyword.begin(), ins.keyword.end(), ins.keyword.begin(), ::toupper);
    std::string rest = space == std::string::npos ? "" : Trim(logical.substr(space));
    while (rest.rfind("--", 0) == 0) {
      size_t end = rest.find_first_of(" \t");
      std::string flag = rest.substr(2, end == std::string::npos ? std::string::npos : end - 2);
      size_t eq = flag.find('=');
      ins.flags[flag.substr(0, eq)] = eq == std::string::npos ? "" : flag.substr(eq + 1);
      rest = end == std::string::npos ? "" : Trim(rest.substr(end));
    }
    ins.args = rest;
    if (ins.keyword == "FROM") {
      std::vector<std::string> w = SplitWords(ins.args);
      if (w.empty()) return *error = "line " + std::to_string(ins.line) + ": FROM without an image", false;
      DockerStage stage;
      stage.image = w[0];
      if (w.size() >= 3 && (w[1] == "AS" || w[1] == "as")) stage.name = w[2];
      out->stages.push_back(stage);
    } else if (out->stages.empty()) {
      if (ins.keyword != "ARG") return *error = "line " + std::to_string(ins.line) + ": " + ins.keyword + " before FROM", false;
      return true;
    }
    out->stages.back().instructions.push_back(ins);
    return true;
  };
  while (std::getline(in, raw)) {
    ++line_no;
    std::string trimmed = Trim(raw);
    if (!trimmed.empty() && trimmed[0] == '#') continue;  // comments, also inside a continuation
    if (pending.empty()) {
      if (trimmed.empty()) continue;
      pending_line = line_no;
    }
    if (!trimmed.empty() && trimmed.back() == '\\') {
      pending += trimmed.substr(0, trimmed.size() - 1) + " ";
      continue;
    }
    pending += trimmed;
    if (!flush()) return false;
  }
  if (!pending.empty() && !flush()) return false;
  if (out->stages.empty()) return *error = "no FROM", false;
  return true;
}

const DockerStage* Dockerfile::Stage(const std::string& name) const {
  for (const auto& s : stages)
    if (s.name == name) return &s;
  return nullptr;
}

bool DockerIgnores(const std::string& dockerignore_text, const std::string& path) {
  std::istringstream in(dockerignore_text);
  std::string line;
  bool excluded = false;
  while (std::getline(in, line)) {
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    bool negate = line[0] == '!';
    if (negate) line = Trim(line.substr(1));
    while (!line.empty() && line.front() == '/') line.erase(0, 1);
    while (line.size() > 1 && line.back() == '/') line.pop_back();
    if (line.rfind("./", 0) == 0) line.erase(0, 2);
    if (MatchesPathOrParent(line, path)) excluded = !negate;
  }
  return excluded;
}

}  // namespace folio::test
