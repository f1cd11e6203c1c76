// image_stack.cc: laying out the runtime stage and running it as a user.
#include "image_stack.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>

#include "proc_util.h"
#include "stack.h"  // RunCommand, WaitUntilReady, ExpectNoSanitizerReports

namespace folio::test {

namespace fs = std::filesystem;

namespace {

// What Docker puts in PATH when an image sets none.
constexpr char kDockerPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";


// In a forked child: become `user` (groups, gid, then uid; nothing to do
// when not root) and replace the environment. Returns false on failure.
// In a forked child: async-signal-safe calls only.
bool BecomeUser(const UserIds& user) {
  if (getuid() != 0) return true;
  return setgroups(0, nullptr) == 0 && setresgid(user.gid, user.gid, user.gid) == 0 &&
         setresuid(user.uid, user.uid, user.uid) == 0;
}

std::vector<char*> Argv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (const auto& a : argv) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

bool ChownTree(const std::string& path, const UserIds& user, std::string* error) {
  if (getuid() != 0) return true;  // everything is the current user's already
  std::string out;
  if (RunCommand("chown -R " + std::to_string(user.uid) + ":" + std::to_string(user.gid) + " " + ShellQuote(path),
                 &out) != 0)
    return *error = "chown " + path + ": " + out, false;
  return true;
}

}  // namespace

bool TestUser(const std::string& name, UserIds* out, std::string* error) {
  if (getuid() != 0) {
    passwd* pw = getpwuid(getuid());
    *out = {getuid(), getgid(), pw ? pw->pw_name : std::to_string(getuid())};
    return true;
  }
  if (!getpwnam(name.c_str())) {
    std::string log;
    if (RunCommand("useradd --system --user-group --no-create-home --home-dir /nonexistent "
                   "--shell /usr/sbin/nologin " + ShellQuote(name),
                   &log) != 0 && !getpwnam(name.c_str()))
      return *error = "useradd " + name + " failed: " + log, false;
  }
  passwd* pw = getpwnam(name.c_str());
  if (!pw) return *error = "no user " + name, false;
  *out = {pw->pw_uid, pw->pw_gid, name};
  return true;
}

std::vector<uid_t> ProcessUids(pid_t pid) {
  std::istringstream status(ReadFile("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Uid:", 0) != 0) continue;
    std::istringstream fields(line.substr(4));
    std::vector<uid_t> uids;
    long v;
    while (fields >> v) uids.push_back(static_cast<uid_t>(v));
    return uids;
  }
  return {};
}

int RunAsUser(const UserIds& user, const std::string& cwd, const std::map<std::string, std::string>& env,
              const std::vector<std::string>& argv, std::string* output) {
  output->clear();
  int fds[2];
  if (argv.empty() || pipe(fds) != 0) return -1;
  const ExecEnvironment environment(env, /*inherit=*/false);
  std::vector<char*> args = Argv(argv);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    if (chdir(cwd.c_str()) != 0 || !BecomeUser(user)) _exit(126);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execve(args[0], args.data(), environment.envp());
    _exit(127);
  }
  close(fds[1]);
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) output->append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// --- ImageLayout ---

std::vector<std::string> ImageLayout::ProductPrograms() {
  // The Dockerfile's build stage builds folio-worker and one program per
  // tools/*_main.cc (named like tools/CMakeLists.txt names them).
  std::vector<std::string> programs = {"folio-worker"};
  std::set<std::string> tools;
  for (const auto& entry : fs::directory_iterator(FOLIO_SOURCE_DIR "/tools")) {
    std::string file = entry.path().filename().string();
    const std::string suffix = "_main.cc";
    if (file.size() <= suffix.size() || file.compare(file.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    std::string name = file.substr(0, file.size() - suffix.size());
    for (char& c : name)
      if (c == '_') c = '-';
    tools.insert(name);
  }
  programs.insert(programs.end(), tools.begin(), tools.end());
  return programs;
}

std::unique_ptr<ImageLayout> ImageLayout::Create(const Dockerfile& dockerfile, const UserIds& user,
                                                 std::string* error) {
  std::unique_ptr<ImageLayout> layout(new ImageLayout());
  layout->stage_ = &dockerfile.stages.back();
  layout->user_ = user;
  const DockerInstruction* workdir = layout->stage_->Last("WORKDIR");
  if (!workdir || workdir->args.empty() || workdir->args[0] != '/')
    return *error = "the runtime stage has no absolute WORKDIR to lay out", nullptr;
  layout->image_root_ = workdir->args;
  while (layout->image_root_.size() > 1 && layout->image_root_.back() == '/') layout->image_root_.pop_back();
  if (layout->dir_.path().empty()) return *error = "no temporary directory", nullptr;
  layout->root_ = layout->dir_.path("root");
  fs::create_directory(layout->root_);
  for (const std::string& dir : {layout->dir_.path(), layout->root_})
    chmod(dir.c_str(), 0755);  // like /opt/folio: root's, traversable by all

  for (const auto* copy : layout->stage_->All("COPY"))
    if (!layout->Copy(*copy, error)) return nullptr;

  // The stage's state directories: made and handed to its user by a RUN.
  std::map<std::string, std::string> env = layout->stage_->Env();
  std::string runs = layout->stage_->RunText();
  for (const char* var : {"DATA_DIR", "LOG_DIR", "RUN_DIR"}) {
    if (!env.count(var)) return *error = std::string("the runtime stage sets no ENV ") + var, nullptr;
    const std::string& dir = env[var];
    if (runs.find("chown") == std::string::npos || runs.find(dir) == std::string::npos)
      return *error = "no RUN of the runtime stage makes " + dir + " (" + var + ") its user's", nullptr;
    std::string mapped = layout->Map(dir);
    std::error_code ec;
    fs::create_directories(mapped, ec);
    if (getuid() == 0 && chown(mapped.c_str(), user.uid, user.gid) != 0)
      return *error = "chown " + mapped + " failed", nullptr;
  }
  return layout;
}

bool ImageLayout::Copy(const DockerInstruction& copy, std::string* error) {
  std::vector<std::string> words = copy.ExecForm().value_or(copy.Words());
  std::string where = "COPY at Dockerfile line " + std::to_string(copy.line) + ": ";
  if (words.size() < 2) return *error = where + "needs a source and a destination", false;
  std::string dest = words.back();
  words.pop_back();
  if (dest[0] != '/') dest = image_root_ + "/" + dest;
  if (dest != image_root_ && dest.rfind(image_root_ + "/", 0) != 0)
    return *error = where + dest + " is outside " + image_root_ + " (the test cannot lay it out)", false;
  // Docker: a directory source copies its contents into dest; a file goes
  // into dest when dest ends with "/" or there are several sources.
  const bool dest_is_dir = dest.back() == '/' || words.size() > 1;
  const std::string mapped_dest = Map(dest);
  const std::string from = copy.flags.count("from") ? copy.flags.at("from") : "";
  const std::string ignore_rules = ReadFile(FOLIO_SOURCE_DIR "/.dockerignore");
  std::error_code ec;

  auto copy_file_into = [&](const std::string& file, bool into_dir) {
    std::string target = into_dir ? mapped_dest + "/" + fs::path(file).filename().string() : mapped_dest;
    fs::create_directories(fs::path(target).parent_path(), ec);
    if (!ec) fs::copy_file(file, target, fs::copy_options::overwrite_existing, ec);
  };
  for (const std::string& src : words) {
    if (from.empty()) {
      std::string rel = src;
      while (rel.rfind("./", 0) == 0) rel.erase(0, 2);
      while (rel.size() > 1 && rel.back() == '/') rel.pop_back();
      if (rel == "." || rel.empty()) return *error = where + "copies the whole build context", false;
      if (DockerIgnores(ignore_rules, rel)) return *error = where + rel + " is excluded by .dockerignore", false;
      std::string host = std::string(FOLIO_SOURCE_DIR) + "/" + rel;
      if (!fs::exists(host)) return *error = where + "no " + rel + " in the source tree", false;
      if (fs::is_directory(host)) {
        fs::create_directories(mapped_dest, ec);
        if (!ec) fs::copy(host, mapped_dest, fs::copy_options::recursive | fs::copy_options::overwrite_existing, ec);
      } else {
        copy_file_into(host, dest_is_dir);
      }
    } else if (from == "build" && (src == "/out/bin/" || src == "/out/bin")) {
      // The build stage's product programs (a directory: its contents), from this build.
      fs::create_directories(mapped_dest, ec);
      for (const std::string& program : ProductPrograms()) {
        std::string built = std::string(FOLIO_BINARY_DIR) + "/bin/" + program;
        if (!fs::exists(built)) {
          if (program == "folio-worker" || program == "folio-ingest")
            return *error = where + "this build has no " + built, false;
          programs_missing_.push_back(program);
          continue;
        }
        if (!ec) copy_file_into(built, true);
      }
    } else if (from == "build" && src == "/out/index") {
      // The index the build stage bakes: the same command with this build's folio-ingest.
      fs::create_directories(fs::path(mapped_dest).parent_path(), ec);
      std::string out;
      std::string cmd = std::string(FOLIO_BINARY_DIR) + "/bin/folio-ingest --kb " FOLIO_SOURCE_DIR "/kb --out " +
                        ShellQuote(mapped_dest);
      if (RunCommand(cmd, &out) != 0) return *error = where + "folio-ingest failed: " + out, false;
    } else {
      return *error = where + "the test does not know what --from=" + from + " " + src + " holds", false;
    }
    if (ec) return *error = where + "copying " + src + ": " + ec.message(), false;
  }
  if (copy.flags.count("chown") && !ChownTree(mapped_dest, user_, error)) return false;
  return true;
}

std::string ImageLayout::Map(const std::string& image_path) const {
  if (image_path == image_root_) return root_;
  if (image_path.rfind(image_root_ + "/", 0) == 0) return root_ + image_path.substr(image_root_.size());
  return image_path;
}

std::map<std::string, std::string> ImageLayout::Env() const {
  // HOME: the image's user has WORKDIR as its home.
  std::map<std::string, std::string> env = {{"PATH", kDockerPath}, {"HOME", root_}};
  for (const auto& [k, v] : stage_->Env()) env[k] = Map(v);
  return env;
}

std::vector<std::string> ImageLayout::Command() const {
  const DockerInstruction* cmd = stage_->Last("CMD");
  std::optional<std::vector<std::string>> words = cmd ? cmd->ExecForm() : std::nullopt;
  if (!words) return {};
  std::vector<std::string> out;
  for (const auto& w : *words) out.push_back(Map(w));
  return out;
}

// --- ImageStack ---

std::unique_ptr<ImageStack> ImageStack::Start(const ImageLayout& layout, const UserIds& user,
                                              const std::map<std::string, std::string>& overrides,
                                              std::string* error, std::chrono::milliseconds ready_within) {
  std::vector<std::string> command = layout.Command();
  if (command.empty()) return *error = "the runtime stage has no exec-form CMD", nullptr;
  std::unique_ptr<ImageStack> stack(new ImageStack());
  stack->env_ = layout.Env();
  for (const auto& [k, v] : overrides) stack->env_[k] = v;
  stack->port_ = std::atoi(stack->env_["PORT"].c_str());
  stack->log_path_ = layout.root() + ".start.log";  // beside the layout, root's
  const std::string cwd = layout.root();
  const ExecEnvironment environment(stack->env_, /*inherit=*/false);
  std::vector<char*> args = Argv(command);
  stack->processes_.Spawn(args.data(), environment.envp(), stack->log_path_,
                          [&] { return chdir(cwd.c_str()) == 0 && BecomeUser(user); });

  const std::string problem = WaitUntilReady(stack->processes_, stack->port_, ready_within);
  if (problem.empty()) return stack;
  *error = "the entry command " + problem + ":\n" + stack->StartLog() + ReadFile(stack->log_dir() + "/supervisord.log") +
           ReadFile(stack->log_dir() + "/nginx-error.log");
  return nullptr;  // the destructor stops what was started
}

ImageStack::~ImageStack() {
  processes_.Stop();
  ExpectNoSanitizerReports(log_dir());
}

std::string ImageStack::StartLog() const { return ReadFile(log_path_); }

}  // namespace folio::test
