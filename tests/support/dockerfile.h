// dockerfile.h: a Dockerfile read into stages and instructions, enough for
// tests to check what an image will contain without a Docker engine.
// Handles comments, backslash continuations, leading --flags, exec (JSON)
// and shell forms, and `ENV K=V ...`; not variable substitution or heredocs.
// Plain values: safe to share once parsed.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace folio::test {

struct DockerInstruction {
  std::string keyword;             // upper-cased: FROM, RUN, COPY, ENV, USER, ...
  std::map<std::string, std::string> flags;  // leading --name=value options ("--from" → "build")
  std::string args;                // the rest, continuation lines joined with one space
  int line = 0;                    // 1-based line of the keyword

  // The exec form's words (`["a", "b"]`), or nullopt for the shell form.
  std::optional<std::vector<std::string>> ExecForm() const;
  // args split on whitespace (shell form, no quoting).
  std::vector<std::string> Words() const;
};

struct DockerStage {
  std::string image;  // FROM's image ("debian:12-slim")
  std::string name;   // AS name, "" if none
  std::vector<DockerInstruction> instructions;

  std::vector<const DockerInstruction*> All(const std::string& keyword) const;
  const DockerInstruction* Last(const std::string& keyword) const;  // nullptr if none
  // ENV of this stage, in order, later ones winning.
  std::map<std::string, std::string> Env() const;
  // Packages named by `apt-get install` / `apt install` in this stage's RUNs.
  std::vector<std::string> AptInstalls() const;
  // Every RUN's args, joined with newlines.
  std::string RunText() const;
};

struct Dockerfile {
  std::vector<DockerStage> stages;

  // Returns false and fills *error on a line it cannot read.
  static bool Parse(const std::string& text, Dockerfile* out, std::string* error);
  const DockerStage* Stage(const std::string& name) const;  // by AS name
};

// .dockerignore: true if `path` (relative to the context, no leading "./")
// is excluded by the rules in `dockerignore_text` (fnmatch patterns, later
// "!" rules re-include, a rule matching a directory excludes all below it).
bool DockerIgnores(const std::string& dockerignore_text, const std::string& path);

}  // namespace folio::test
