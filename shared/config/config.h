// config.h: every setting folio reads, from environment variables, validated
// once at start. The table in config.cc (kConfigVars) is the single source
// of truth: it feeds validation, the masked start-up log, .env.example and
// docs. A Config is immutable after Load(); share it by const reference.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "status.h"

namespace folio {

enum class VarKind { kInt, kString, kBool, kEnum, kSecret };

// One environment variable folio knows.
struct ConfigVar {
  const char* name;
  VarKind kind;
  const char* default_value;  // "" = empty/unset
  long min = 0, max = 0;      // kInt only, inclusive
  const char* choices = "";   // kEnum only, '|'-separated
  const char* help = "";      // one line: what it does
};

// The table of every variable, in documentation order.
const std::vector<ConfigVar>& ConfigVars();

class Config {
 public:
  // Reads and validates every variable through `getenv` (defaults to
  // ::getenv). Returns the Config, or one problem per bad variable in
  // *problems (each naming the variable, the value given and what is
  // allowed) and a non-OK Status. Cross-field rules are checked too,
  // including the access settings: API_KEYS_FILE must load, OPERATOR_ACCESS
  // =operator needs an operator key in it, CORS_ORIGINS must parse.
  using EnvFn = std::function<const char*(const char*)>;
  static Result<Config> Load(std::vector<std::string>* problems, const EnvFn& getenv = nullptr);

  long Int(const std::string& name) const;
  const std::string& Str(const std::string& name) const;
  bool Bool(const std::string& name) const;

  // name → value with every secret masked ("sk-…abcd" shows only a length).
  std::map<std::string, std::string> Masked() const;

 private:
  std::map<std::string, std::string> values_;
};

// "sk-abc...": "<set, 51 chars>"; "" → "<unset>". Never returns the secret.
std::string MaskSecret(const std::string& value);

// The table as Markdown, one row per variable in table order: name, default,
// allowed values, effect. A secret's default column is "—" (never a value).
// docs/OPERATIONS.md holds this between its env-table markers
// (`folio-worker --env-doc` prints it; a test keeps the two equal).
std::string ConfigMarkdownTable();

}  // namespace folio
