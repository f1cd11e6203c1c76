// mapped_file.h: RAII owner of a read-only memory mapping of a whole file.
// The mapping is PROT_READ + MAP_SHARED, so N processes mapping the same index
// share one copy in the page cache. Move-only; the bytes stay valid until the
// owner is destroyed, even if the file is unlinked or renamed meanwhile.
// A const MappedFile is safe to read from any thread.
//
// A file truncated in place while mapped (`truncate`, `cp x file`, a shell
// `>` redirect: folio-ingest never does that, it renames a new directory in)
// makes every read of a page past its new end a SIGBUS, which would kill the
// process. InstallMappedFileGuard() turns such a read into a read of zeros:
// the faulting page of the mapping is replaced by an anonymous zero page and
// MappedFileFaults() counts it, so the owner can notice and stop using the
// file (worker/knowledge.cc). Bytes changed in place are another matter: they
// are read as they are, so only verified files should be trusted again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "status.h"

namespace folio {

// Installs the process-wide SIGBUS handler described above (once; later calls
// do nothing). A SIGBUS outside every live MappedFile keeps its previous
// disposition (by default: the process dies, as without the guard).
// Call it from main() before any thread starts.
void InstallMappedFileGuard();
// Pages read past the end of a truncated MappedFile since the process
// started (each one now reads as zeros).
uint64_t MappedFileFaults();

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
