// json_fields.h: typed reads of one field of a parsed nlohmann::json object,
// for files folio reads back (manifests): each returns false (or null) when
// the key is missing or holds another type, instead of throwing as .at()
// and .get<T>() do. Stateless; safe from any thread.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace folio {

inline bool GetString(const nlohmann::json& j, const char* key, std::string* out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return false;
  *out = it->get_ref<const std::string&>();
  return true;
}

// A non-negative integer that fits T.
template <typename T>
bool GetUnsigned(const nlohmann::json& j, const char* key, T* out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned()) return false;
  *out = static_cast<T>(it->get<uint64_t>());
  return static_cast<uint64_t>(*out) == it->get<uint64_t>();
}

inline bool GetDouble(const nlohmann::json& j, const char* key, double* out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return false;
  *out = it->get<double>();
  return true;
}

inline bool GetBool(const nlohmann::json& j, const char* key, bool* out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_boolean()) return false;
  *out = it->get<bool>();
  return true;
}

// The object under `key`, or nullptr.
inline const nlohmann::json* GetObject(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return (it == j.end() || !it->is_object()) ? nullptr : &*it;
}

}  // namespace folio
