// mapped_file.h: RAII owner of a read-only memory mapping of a whole file.
// The mapping is PROT_READ + MAP_SHARED, so N processes mapping the same index
// share one copy in the page cache. Move-only; the bytes stay valid until the
// owner is destroyed, even if the file is unlinked or renamed meanwhile.
// A const MappedFile is safe to read from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "status.h"

namespace folio {

class MappedFile {
 public:
  MappedFile() = default;
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // Maps `path`. NotFound if it does not exist; InvalidArgument ("index_corrupt")
  // if it is not a regular file; an empty file maps to size() == 0, data() == nullptr.
  static Result<MappedFile> Open(const std::string& path);

  const char* data() const { return data_; }
  size_t size() const { return size_; }
  std::string_view bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }

 private:
  void Reset();

  const char* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

}  // namespace folio
