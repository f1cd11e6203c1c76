// image_stack.h: the runtime stage of folio's Dockerfile laid out on this
// host and its entry command run there as an unprivileged user — what
// `docker run` does, minus Docker: the same files in the same places (a temp
// dir stands for the stage's WORKDIR), the same ENV, the same owners, the
// same command, the same user rights.
//
// ImageLayout copies what each COPY of the stage names (from this source
// tree, or for `--from=build` the programs of this build and an index made
// by this build's folio-ingest), applies --chown and makes the stage's
// DATA_DIR/LOG_DIR/RUN_DIR belong to the user. ImageStack runs the stage's
// CMD there; like TestStack (and with its ProcessTree) it is stopped by PID
// (SIGTERM, then SIGKILL of every process it started) even when the test
// failed, supervisord gets SIGTERM if the test process dies (PDEATHSIG), and
// a sanitizer report in a worker's stderr log fails the test.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dockerfile.h"
#include "proc_util.h"
#include "temp_dir.h"
#include "test_http.h"

namespace folio::test {

struct UserIds {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string name;
};

// The unprivileged user images are run as in tests. Running as root: the
// system user `name`, created (useradd --system) if absent. Otherwise: the
// current user. Returns false and fills *error if neither works.
bool TestUser(const std::string& name, UserIds* out, std::string* error);

// /proc/PID/status "Uid:" (real, effective, saved, filesystem); empty if gone.
std::vector<uid_t> ProcessUids(pid_t pid);

// Runs argv[0] (an absolute path) as `user` in `cwd` with exactly `env`,
// like `docker exec`; returns its exit status (-1 if it could not run) and
// fills *output with stdout+stderr.
int RunAsUser(const UserIds& user, const std::string& cwd, const std::map<std::string, std::string>& env,
              const std::vector<std::string>& argv, std::string* output);

class ImageLayout {
 public:
  // Lays out the Dockerfile's last stage in a fresh temp dir, for `user`
  // (who stands for the stage's USER). On failure returns nullptr and fills
  // *error (a COPY it cannot mimic, an ignored source, a missing program).
  // The directory goes with the layout (unless FOLIO_KEEP_TEST_DIRS is set).
  static std::unique_ptr<ImageLayout> Create(const Dockerfile& dockerfile, const UserIds& user, std::string* error);
  ImageLayout(const ImageLayout&) = delete;
  ImageLayout& operator=(const ImageLayout&) = delete;

  const std::string& root() const { return root_; }              // stands for image_root()
  const std::string& image_root() const { return image_root_; }  // the stage's WORKDIR
  // An image path under image_root() → the same path under root(); others unchanged.
  std::string Map(const std::string& image_path) const;
  // The stage's ENV with image paths mapped, plus what Docker adds (PATH, HOME).
  std::map<std::string, std::string> Env() const;
  // The stage's CMD (exec form) with image paths mapped; empty if none.
  std::vector<std::string> Command() const;
  // Programs the build stage would make that this build has not built
  // (left out of the layout; e.g. a tool added after this build dir was configured).
  const std::vector<std::string>& programs_missing() const { return programs_missing_; }
  // The product programs: folio-worker and one per tools/*_main.cc.
  static std::vector<std::string> ProductPrograms();

 private:
  ImageLayout() = default;
  bool Copy(const DockerInstruction& copy, std::string* error);

  TempDir dir_{"folio-image"};  // root_ and the start logs of the stacks run from it
  const DockerStage* stage_ = nullptr;
  UserIds user_;
  std::string root_, image_root_;
  std::vector<std::string> programs_missing_;
};

class ImageStack {
 public:
  // Runs the layout's Command() as `user` with its Env() and `overrides`
  // on top, and waits up to `ready_within` for GET /ready on PORT to answer
  // 200. On failure returns nullptr and fills *error with the start log.
  static std::unique_ptr<ImageStack> Start(const ImageLayout& layout, const UserIds& user,
                                           const std::map<std::string, std::string>& overrides, std::string* error,
                                           std::chrono::milliseconds ready_within = std::chrono::seconds(20));
  ~ImageStack();  // stops every process it started; ExpectNoSanitizerReports()
  ImageStack(const ImageStack&) = delete;
  ImageStack& operator=(const ImageStack&) = delete;

  int port() const { return port_; }
  pid_t supervisord_pid() const { return processes_.root(); }
  const std::map<std::string, std::string>& env() const { return env_; }  // what the command got
  std::string log_dir() const { return env_.count("LOG_DIR") ? env_.at("LOG_DIR") : ""; }
  std::string StartLog() const;
  HttpResponse Get(const std::string& path) const { return Http(port_, "GET", path); }
  // Every process below supervisord.
  std::vector<pid_t> Descendants() const { return processes_.Descendants(); }
  // SIGTERM (the image's STOPSIGNAL) to supervisord; waits up to `deadline`.
  // Returns its exit status, or -1 if it did not exit in time.
  int Terminate(std::chrono::milliseconds deadline) { return processes_.Terminate(deadline); }

 private:
  ImageStack() = default;
  std::string log_path_;
  int port_ = 0;
  std::map<std::string, std::string> env_;
  ProcessTree processes_;  // supervisord and everything below it
};

}  // namespace folio::test
