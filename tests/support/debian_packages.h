// debian_packages.h: the host's installed Debian packages (dpkg's database),
// for tests that check an image's package list against what its programs
// link: which package owns a file, which packages a list pulls in through
// Depends/Pre-Depends, which are part of every Debian base image.
// Read once by Load(); plain values afterwards, safe to share.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace folio::test {

class DebianPackages {
 public:
  // Reads `dpkg-query -W` for every installed package. nullptr (and *error)
  // when dpkg is not there (not a Debian host).
  static std::unique_ptr<DebianPackages> Load(std::string* error);

  bool Installed(const std::string& name) const { return packages_.count(name) > 0; }
  // Essential: yes or Priority: required — in every Debian base image
  // (debian:12-slim holds exactly these and what they depend on).
  std::set<std::string> BaseSystem() const;
  // `roots` and every installed package they reach through Depends and
  // Pre-Depends. An "a | b" dependency follows its first alternative that
  // is installed here (apt takes the first one); a virtual package, its
  // installed providers. Roots not installed here are kept, unexpanded.
  std::set<std::string> Closure(const std::set<std::string>& roots) const;

  // The package owning each of `paths` (one `dpkg -S` for all), trying each
  // path as given, its resolved target and their /usr-merged twins
  // (/lib ↔ /usr/lib). Paths no package owns are left out.
  static std::map<std::string, std::string> Owners(const std::vector<std::string>& paths);

 private:
  struct Package {
    bool essential = false;
    std::string priority;
    std::vector<std::vector<std::string>> depends;  // each: alternatives, in order
  };
  std::map<std::string, Package> packages_;
  std::map<std::string, std::vector<std::string>> providers_;  // virtual name → installed providers
};

// The shared libraries `binary` loads, as `ldd` resolves them (absolute
// paths; the vDSO is left out). Unresolved ones go to *not_found.
std::vector<std::string> LinkedLibraries(const std::string& binary, std::vector<std::string>* not_found,
                                         std::string* error);

}  // namespace folio::test
