// debian_packages.cc: dpkg-query, dpkg -S and ldd, parsed.
#include "debian_packages.h"

#include <filesystem>
#include <sstream>

#include "stack.h"  // RunCommand, ShellQuote

namespace folio::test {

namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, sep)) out.push_back(part);
  if (!s.empty() && s.back() == sep) out.push_back("");
  return out;
}

// "libc6:any (>= 2.34)" → "libc6".
std::string BareName(const std::string& relation) {
  std::string name = Trim(relation);
  size_t cut = name.find_first_of(" (:[<");
  if (cut != std::string::npos) name = name.substr(0, cut);
  return name;
}

}  // namespace

std::unique_ptr<DebianPackages> DebianPackages::Load(std::string* error) {
  std::string out;
  int rc = RunCommand(
      "dpkg-query -W -f='${db:Status-Abbrev}\\t${Package}\\t${Essential}\\t${Priority}\\t${Pre-Depends}\\t"
      "${Depends}\\t${Provides}\\n'",
      &out);
  if (rc != 0) {
    *error = "dpkg-query failed (" + std::to_string(rc) + "): " + out.substr(0, 300);
    return nullptr;
  }
  std::unique_ptr<DebianPackages> db(new DebianPackages());
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<std::string> f = Split(line, '\t');
    if (f.size() < 7 || f[0].rfind("ii", 0) != 0) continue;  // installed only
    Package& p = db->packages_[f[1]];                        // one entry for every architecture
    p.essential = p.essential || f[2] == "yes";
    p.priority = f[3];
    for (const std::string& field : {f[4], f[5]})
      for (const std::string& relation : Split(field, ',')) {
        std::vector<std::string> alternatives;
        for (const std::string& alt : Split(relation, '|'))
          if (!BareName(alt).empty()) alternatives.push_back(BareName(alt));
        if (!alternatives.empty()) p.depends.push_back(alternatives);
      }
    for (const std::string& provided : Split(f[6], ','))
      if (!BareName(provided).empty()) db->providers_[BareName(provided)].push_back(f[1]);
  }
  if (db->packages_.empty()) {
    *error = "dpkg-query listed no installed package";
    return nullptr;
  }
  return db;
}

std::set<std::string> DebianPackages::BaseSystem() const {
  std::set<std::string> out;
  for (const auto& [name, p] : packages_)
    if (p.essential || p.priority == "required") out.insert(name);
  return out;
}

std::set<std::string> DebianPackages::Closure(const std::set<std::string>& roots) const {
  std::set<std::string> seen(roots.begin(), roots.end());
  std::vector<std::string> todo(roots.begin(), roots.end());
  while (!todo.empty()) {
    std::string name = todo.back();
    todo.pop_back();
    auto it = packages_.find(name);
    if (it == packages_.end()) continue;
    for (const auto& alternatives : it->second.depends) {
      std::vector<std::string> chosen;
      for (const std::string& alt : alternatives) {
        if (packages_.count(alt)) chosen = {alt};
        else if (providers_.count(alt)) chosen = providers_.at(alt);
        if (!chosen.empty()) break;
      }
      for (const std::string& c : chosen)
        if (seen.insert(c).second) todo.push_back(c);
    }
  }
  return seen;
}

std::map<std::string, std::string> DebianPackages::Owners(const std::vector<std::string>& paths) {
  std::map<std::string, std::vector<std::string>> candidates;
  std::set<std::string> all;
  for (const std::string& path : paths) {
    std::vector<std::string>& c = candidates[path];
    c.push_back(path);
    std::error_code ec;
    std::string resolved = std::filesystem::canonical(path, ec).string();
    if (!ec && resolved != path) c.push_back(resolved);
    for (size_t i = 0, n = c.size(); i < n; ++i)
      c.push_back(c[i].rfind("/usr/", 0) == 0 ? c[i].substr(4) : "/usr" + c[i]);
    all.insert(c.begin(), c.end());
  }
  // "pkg[:arch][, pkg2...]: /path" per match; misses only complain on stderr.
  std::string command = "dpkg -S";
  for (const std::string& c : all) command += " " + ShellQuote(c);
  std::string out;
  RunCommand(command + " 2>/dev/null", &out);
  std::map<std::string, std::string> owner_of;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("diversion", 0) == 0) continue;
    size_t colon = line.find(": /");
    if (colon == std::string::npos) continue;
    owner_of[line.substr(colon + 2)] = BareName(Split(line.substr(0, colon), ',')[0]);
  }
  std::map<std::string, std::string> owners;
  for (const auto& [path, c] : candidates)
    for (const std::string& candidate : c)
      if (owner_of.count(candidate)) {
        owners[path] = owner_of[candidate];
        break;
      }
  return owners;
}

std::vector<std::string> LinkedLibraries(const std::string& binary, std::vector<std::string>* not_found,
                                         std::string* error) {
  std::string out;
  if (RunCommand("ldd " + ShellQuote(binary), &out) != 0) {
    *error = "ldd " + binary + " failed: " + out.substr(0, 300);
    return {};
  }
  std::vector<std::string> libs;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    line = Trim(line);
    // "libx.so.1 => /lib/.../libx.so.1 (0x...)", "/lib64/ld-linux-x86-64.so.2 (0x...)",
    // "linux-vdso.so.1 (0x...)", "libx.so.1 => not found".
    size_t arrow = line.find(" => ");
    std::string target = arrow == std::string::npos ? line : line.substr(arrow + 4);
    if (target.rfind("not found", 0) == 0) {
      not_found->push_back(line.substr(0, arrow));
      continue;
    }
    target = target.substr(0, target.find(" ("));
    if (!target.empty() && target[0] == '/') libs.push_back(target);
  }
  return libs;
}

}  // namespace folio::test
