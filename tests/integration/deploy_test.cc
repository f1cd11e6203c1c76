// deploy_test.cc: the image and platform definitions — Dockerfile,
// .dockerignore, koyeb.yaml — checked where there is no Docker engine and no
// Koyeb account: their structure, and the runtime stage's packages against
// every library the programs link (ldd → dpkg -S). deploy_run_test.cc runs
// what they describe: supervisord.conf and the image's entry command as an
// unprivileged user.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "debian_packages.h"
#include "dockerfile.h"
#include "image_stack.h"
#include "stack.h"

namespace folio::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string ReadSource(const std::string& relative) {
  std::ifstream f(std::string(FOLIO_SOURCE_DIR) + "/" + relative);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
  return out;
}

// A compiler, a build tool or headers: nothing the runtime stage may carry.
bool IsBuildPackage(const std::string& p) {
  static const std::set<std::string> kTools = {"build-essential", "gcc", "g++", "cpp", "clang", "make",
                                               "cmake", "ninja-build", "pkg-config", "pkgconf", "libc6-dev",
                                               "binutils", "libc-dev-bin", "linux-libc-dev"};
  auto ends_with = [&](const std::string& suffix) {
    return p.size() >= suffix.size() && p.compare(p.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (kTools.count(p) || ends_with("-dev")) return true;
  if (ends_with("-base")) return false;  // gcc-12-base: documentation libgcc-s1 depends on
  for (const char* prefix : {"gcc-", "g++-", "cpp-", "clang-", "binutils-"})
    if (p.rfind(prefix, 0) == 0) return true;
  return false;
}

// Every variable folio knows: the names `folio-worker --env-example` prints
// (the config table in shared/config.cc).
std::set<std::string> KnownVariables() {
  std::string out;
  RunCommand(FOLIO_BINARY_DIR "/bin/folio-worker --env-example", &out);
  std::set<std::string> names;
  std::smatch m;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line))
    if (std::regex_match(line, m, std::regex(R"(([A-Z][A-Z0-9_]*)=.*)"))) names.insert(m[1]);
  return names;
}

// ---------------------------------------------------------------- Dockerfile

class DockerfileTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string error;
    parsed_ = Dockerfile::Parse(ReadSource("Dockerfile"), &dockerfile_, &error);
    ASSERT_TRUE(parsed_) << error;
  }
  void SetUp() override {
    ASSERT_TRUE(parsed_);
    ASSERT_GE(dockerfile_.stages.size(), 2u) << "a build stage and a runtime stage";
  }
  static const DockerStage& Build() { return dockerfile_.stages.front(); }
  static const DockerStage& Runtime() { return dockerfile_.stages.back(); }
  static std::string Workdir() {
    const DockerInstruction* w = Runtime().Last("WORKDIR");
    return w ? w->args : "";
  }

  static bool parsed_;
  static Dockerfile dockerfile_;
};

bool DockerfileTest::parsed_ = false;
Dockerfile DockerfileTest::dockerfile_;

TEST_F(DockerfileTest, BuildStageIsDebian12WithCompilerAndDevPackages) {
  EXPECT_EQ(Build().name, "build");
  EXPECT_EQ(Build().image.rfind("debian:12", 0), 0u) << Build().image;
  std::vector<std::string> packages = Build().AptInstalls();
  EXPECT_NE(std::find(packages.begin(), packages.end(), "build-essential"), packages.end()) << Join(packages);
  for (const char* dev : {"libfcgi-dev", "libcurl4-openssl-dev", "liblmdb-dev", "libspdlog-dev", "libhnswlib-dev"})
    EXPECT_NE(std::find(packages.begin(), packages.end(), dev), packages.end()) << dev << " in " << Join(packages);
}

TEST_F(DockerfileTest, BuildStageCompilesWithOptimisationAndBakesTheIndex) {
  std::string runs = Build().RunText();
  EXPECT_NE(runs.find("-DCMAKE_BUILD_TYPE=Release"), std::string::npos) << runs;
  EXPECT_NE(runs.find("-DBUILD_TESTING=OFF"), std::string::npos) << runs;
  // The index ImageLayout bakes the same way (support/image_stack.cc).
  EXPECT_NE(runs.find("folio-ingest --kb kb --out /out/index"), std::string::npos) << runs;
}

TEST_F(DockerfileTest, RuntimeStageIsDebian12WithoutCompilerOrDevPackages) {
  EXPECT_NE(Runtime().name, "build");
  EXPECT_EQ(Runtime().image.rfind("debian:12", 0), 0u) << Runtime().image;
  std::vector<std::string> packages = Runtime().AptInstalls();
  ASSERT_FALSE(packages.empty());
  for (const auto& p : packages) EXPECT_FALSE(IsBuildPackage(p)) << p;
  for (const char* needed : {"nginx", "supervisor", "gettext-base", "openssl", "curl"})
    EXPECT_NE(std::find(packages.begin(), packages.end(), needed), packages.end()) << needed << " (scripts/start needs it)";

  // Nor anything they pull in (their Depends, as installed on this Debian 12 host).
  std::string error;
  auto db = DebianPackages::Load(&error);
  ASSERT_NE(db, nullptr) << error;
  for (const auto& p : packages)
    EXPECT_TRUE(db->Installed(p)) << p << ": not a package installed here (scripts/bootstrap installs each one, "
                                      "or a -dev package that depends on it), so the name may be wrong";
  for (const auto& p : db->Closure({packages.begin(), packages.end()}))
    EXPECT_FALSE(IsBuildPackage(p)) << p << " comes with the runtime stage's packages";
}

TEST_F(DockerfileTest, RuntimeStageRunsAsAnUnprivilegedUser) {
  const DockerInstruction* user = Runtime().Last("USER");
  ASSERT_NE(user, nullptr) << "no USER in the runtime stage: it would run as root";
  std::string name = user->args.substr(0, user->args.find(':'));
  EXPECT_FALSE(name.empty());
  EXPECT_NE(name, "root");
  EXPECT_NE(name, "0");
  // Created by the stage (the last USER is the one the container runs as).
  EXPECT_NE(Runtime().RunText().find("useradd"), std::string::npos);
}

TEST_F(DockerfileTest, HealthcheckProbesReady) {
  const DockerInstruction* check = Runtime().Last("HEALTHCHECK");
  ASSERT_NE(check, nullptr);
  EXPECT_EQ(check->args.rfind("CMD", 0), 0u) << check->args;
  EXPECT_NE(check->args.find("/ready"), std::string::npos) << check->args;
  EXPECT_NE(check->args.find("${PORT}"), std::string::npos) << "probe the port the instance listens on";
  for (const char* flag : {"interval", "timeout", "start-period"}) EXPECT_TRUE(check->flags.count(flag)) << flag;
}

TEST_F(DockerfileTest, StopSignalIsSupervisordsGracefulStop) {
  // supervisord takes SIGTERM as "stop every program in priority order":
  // nginx drains (QUIT), then the workers (TERM). See SupervisordConfTest.
  const DockerInstruction* stop = Runtime().Last("STOPSIGNAL");
  ASSERT_NE(stop, nullptr);
  EXPECT_EQ(stop->args, "SIGTERM");
}

TEST_F(DockerfileTest, ExposesThePortNginxListensOn) {
  const DockerInstruction* expose = Runtime().Last("EXPOSE");
  ASSERT_NE(expose, nullptr);
  std::map<std::string, std::string> env = Runtime().Env();
  ASSERT_TRUE(env.count("PORT"));
  std::vector<std::string> ports = expose->Words();
  EXPECT_NE(std::find(ports.begin(), ports.end(), env["PORT"]), ports.end()) << expose->args;
  EXPECT_EQ(env["LISTEN_ADDR"], "0.0.0.0") << "reachable from outside the container";
}

TEST_F(DockerfileTest, EntryCommandIsTheLocalStartPath) {
  EXPECT_TRUE(Runtime().All("ENTRYPOINT").empty());
  const DockerInstruction* cmd = Runtime().Last("CMD");
  ASSERT_NE(cmd, nullptr);
  ASSERT_TRUE(cmd->ExecForm().has_value()) << "exec form: supervisord becomes PID 1 and gets STOPSIGNAL itself";
  EXPECT_EQ(*cmd->ExecForm(), std::vector<std::string>{Workdir() + "/scripts/start"});
  // ...which is what a local run executes too.
  EXPECT_NE(ReadSource("scripts/server").find("exec \"$FOLIO_ROOT/scripts/start\""), std::string::npos);
}

TEST_F(DockerfileTest, RuntimeStageCopiesNamedFilesOnlyAndNoTests) {
  for (const auto* copy : Runtime().All("COPY")) {
    std::vector<std::string> words = copy->Words();
    ASSERT_GE(words.size(), 2u);
    if (copy->flags.count("from")) {
      EXPECT_EQ(copy->flags.at("from"), "build") << "line " << copy->line;
      continue;
    }
    for (size_t i = 0; i + 1 < words.size(); ++i) {
      EXPECT_NE(words[i], ".") << "line " << copy->line << " copies the whole context";
      EXPECT_NE(words[i].rfind("tests", 0), 0u) << "line " << copy->line;
      EXPECT_NE(words[i].rfind("build", 0), 0u) << "line " << copy->line;
    }
  }
}

TEST(DockerignoreTest, ExcludesTestsBuildDirsAndGitButNotWhatTheBuildNeeds) {
  std::string rules = ReadSource(".dockerignore");
  ASSERT_FALSE(rules.empty());
  for (const char* path : {"tests", "tests/unit/config_test.cc", "tests/integration/deploy_test.cc", "build",
                           "build/bin/folio-worker", "build-deploy", "build-asan/CMakeCache.txt", ".git",
                           ".git/HEAD", ".data", ".logs", ".run", ".env"})
    EXPECT_TRUE(DockerIgnores(rules, path)) << path;
  for (const char* path : {"CMakeLists.txt", "shared/config.cc", "worker/main.cc", "tools/folio_ingest_main.cc",
                           "tools/CMakeLists.txt", "bench/CMakeLists.txt", "kb/about.md", "config/intents.json",
                           "scripts/start", "scripts/lib.sh", "nginx/nginx.conf", "supervisord.conf", "web/index.html",
                           "web/widget.js", "scripts/web-render", "config/site.json"})
    EXPECT_FALSE(DockerIgnores(rules, path)) << path;
}

// Every shared library of every program the runtime stage copies comes from
// a package the stage installs, or from the base image (Essential/required
// and their dependencies), directly or through Depends.
TEST_F(DockerfileTest, RuntimePackagesProvideEveryLinkedLibrary) {
  std::string error;
  auto db = DebianPackages::Load(&error);
  ASSERT_NE(db, nullptr) << error;
  std::vector<std::string> listed = Runtime().AptInstalls();
  std::set<std::string> provided = db->Closure({listed.begin(), listed.end()});
  std::set<std::string> base = db->Closure(db->BaseSystem());
  int checked = 0;
  for (const std::string& program : ImageLayout::ProductPrograms()) {
    std::string path = std::string(FOLIO_BINARY_DIR) + "/bin/" + program;
    if (!fs::exists(path)) {
      EXPECT_TRUE(program != "folio-worker" && program != "folio-ingest") << "no " << path;
      std::cout << "[ note ] " << program << " is not built in " FOLIO_BINARY_DIR "; its libraries are not checked\n";
      continue;
    }
    std::vector<std::string> not_found;
    std::vector<std::string> libs = LinkedLibraries(path, &not_found, &error);
    ASSERT_FALSE(libs.empty()) << error;
    EXPECT_TRUE(not_found.empty()) << program << ": " << Join(not_found);
    std::map<std::string, std::string> owners = DebianPackages::Owners(libs);
    for (const std::string& lib : libs) {
      ASSERT_TRUE(owners.count(lib)) << lib << " (linked by " << program << ") belongs to no Debian package";
      const std::string& owner = owners[lib];
      EXPECT_TRUE(provided.count(owner) || base.count(owner))
          << program << " links " << lib << " from " << owner
          << ", which the runtime stage does not install (add it to its apt-get install)";
    }
    ++checked;
  }
  EXPECT_GE(checked, 2);
}

// ---------------------------------------------------------------- koyeb.yaml

// Field names of Koyeb's API models (koyeb-api-client-python, generated
// from the API's OpenAPI document: DeploymentDefinition, DeploymentEnv,
// DeploymentHealthCheck, HTTPHealthCheck, GitSource, DockerBuilder,
// DockerSource, ...), plus the compose file's own depends_on.
const std::set<std::string> kDefinitionFields = {
    "name",    "type",         "strategy",   "routes", "ports",  "proxy_ports", "env",      "regions",
    "scalings", "instance_types", "health_checks", "volumes", "config_files", "skip_cache", "docker", "git",
    "database", "archive",     "depends_on"};
const std::set<std::string> kEnvFields = {"scopes", "key", "value", "secret"};
const std::set<std::string> kHealthCheckFields = {"grace_period", "interval", "restart_limit", "timeout", "tcp", "http"};
const std::set<std::string> kHttpCheckFields = {"port", "path", "method", "headers"};
const std::set<std::string> kGitFields = {"repository", "branch", "tag", "sha", "build_command", "run_command",
                                          "no_deploy_on_push", "workdir", "buildpack", "docker"};
const std::set<std::string> kDockerBuilderFields = {"dockerfile", "entrypoint", "command", "args", "target", "privileged"};
const std::set<std::string> kDockerSourceFields = {"image", "command", "args", "image_registry_secret", "entrypoint",
                                                   "privileged"};

void ExpectOnlyFields(const json& object, const std::set<std::string>& allowed, const std::string& where) {
  ASSERT_TRUE(object.is_object()) << where << ": " << object;
  for (const auto& [key, value] : object.items())
    EXPECT_TRUE(allowed.count(key)) << where << "." << key << " is not a field of Koyeb's API model";
}

class KoyebTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // A real YAML parser: Debian's python3 with python3-yaml (a pyenv
    // python3 earlier on PATH may lack it).
    std::string out;
    int rc = RunCommand("/usr/bin/python3 -c 'import json, sys, yaml; "
                        "print(json.dumps(yaml.safe_load(open(sys.argv[1]))))' " FOLIO_SOURCE_DIR "/koyeb.yaml",
                        &out);
    ASSERT_EQ(rc, 0) << out;
    file_ = json::parse(out, nullptr, false);
    ASSERT_TRUE(file_.is_object()) << out;
    std::string error;
    ASSERT_TRUE(Dockerfile::Parse(ReadSource("Dockerfile"), &dockerfile_, &error)) << error;
  }
  void SetUp() override {
    ASSERT_TRUE(file_.is_object());
    ASSERT_TRUE(file_["services"].is_object());
    ASSERT_EQ(file_["services"].size(), 1u) << "one service";
    service_ = file_["services"].begin().value();
    ASSERT_TRUE(service_.is_object());
  }
  int ImagePort() const { return std::atoi(dockerfile_.stages.back().Env()["PORT"].c_str()); }

  static json file_;
  static Dockerfile dockerfile_;
  json service_;
};

json KoyebTest::file_;
Dockerfile KoyebTest::dockerfile_;

TEST_F(KoyebTest, ServiceDefinitionUsesKoyebApiFieldNames) {
  ExpectOnlyFields(file_, {"name", "services"}, "(top)");
  EXPECT_TRUE(file_["name"].is_string() && !file_["name"].get<std::string>().empty()) << "the App's name";
  ExpectOnlyFields(service_, kDefinitionFields, "service");
  for (const auto& e : service_["env"]) ExpectOnlyFields(e, kEnvFields, "env[]");
  for (const auto& h : service_["health_checks"]) {
    ExpectOnlyFields(h, kHealthCheckFields, "health_checks[]");
    if (h.contains("http")) ExpectOnlyFields(h["http"], kHttpCheckFields, "health_checks[].http");
  }
  if (service_.contains("git")) {
    ExpectOnlyFields(service_["git"], kGitFields, "git");
    if (service_["git"].contains("docker")) ExpectOnlyFields(service_["git"]["docker"], kDockerBuilderFields, "git.docker");
  }
  if (service_.contains("docker")) ExpectOnlyFields(service_["docker"], kDockerSourceFields, "docker");
}

TEST_F(KoyebTest, OneWebServiceOnOneNanoInstance) {
  EXPECT_EQ(service_["type"], "WEB");
  EXPECT_EQ(service_["instance_types"], json::parse(R"([{"type":"nano"}])"));
  EXPECT_EQ(service_["scalings"], json::parse(R"([{"min":1,"max":1}])"));
  ASSERT_TRUE(service_["regions"].is_array());
  ASSERT_FALSE(service_["regions"].empty());
  for (const auto& r : service_["regions"]) EXPECT_TRUE(r.is_string());
}

TEST_F(KoyebTest, BuildsThisRepositorysDockerfileOrRunsAnImage) {
  if (service_.contains("git")) {
    const json& git = service_["git"];
    EXPECT_TRUE(git["repository"].is_string() && !git["repository"].get<std::string>().empty());
    EXPECT_TRUE(git["branch"].is_string() && !git["branch"].get<std::string>().empty());
    ASSERT_TRUE(git["docker"].is_object()) << "a git build must use the Dockerfile builder";
    ASSERT_TRUE(git["docker"]["dockerfile"].is_string());
    EXPECT_TRUE(fs::exists(std::string(FOLIO_SOURCE_DIR) + "/" + git["docker"]["dockerfile"].get<std::string>()));
    EXPECT_FALSE(git["docker"].contains("command") || git["docker"].contains("entrypoint"))
        << "the image's own CMD (scripts/start) is the one start path";
  } else {
    ASSERT_TRUE(service_["docker"].is_object()) << "neither git nor docker";
    EXPECT_TRUE(service_["docker"]["image"].is_string());
    EXPECT_FALSE(service_["docker"].contains("command") || service_["docker"].contains("entrypoint"));
  }
}

TEST_F(KoyebTest, PortRouteAndHealthCheckMatchTheImage) {
  const int port = ImagePort();
  ASSERT_GT(port, 0);
  EXPECT_EQ(service_["ports"], json::array({json{{"port", port}, {"protocol", "http"}}}));
  EXPECT_EQ(service_["routes"], json::array({json{{"port", port}, {"path", "/"}}}));
  ASSERT_TRUE(service_["health_checks"].is_array());
  ASSERT_EQ(service_["health_checks"].size(), 1u);
  const json& check = service_["health_checks"][0];
  EXPECT_EQ(check["http"]["path"], "/ready");
  EXPECT_EQ(check["http"]["port"], port);
  for (const char* field : {"grace_period", "interval", "timeout"}) EXPECT_TRUE(check[field].is_number_integer()) << field;
}

TEST_F(KoyebTest, EnvSetsOnlyVariablesFolioKnowsWithValidValues) {
  std::set<std::string> known = KnownVariables();
  ASSERT_GT(known.size(), 20u);
  ASSERT_TRUE(service_["env"].is_array());
  std::set<std::string> keys;
  std::string check_env = "env -i";
  for (const auto& e : service_["env"]) {
    ASSERT_TRUE(e["key"].is_string()) << e;
    std::string key = e["key"];
    EXPECT_TRUE(keys.insert(key).second) << key << " twice";
    EXPECT_TRUE(known.count(key)) << key << " is not a variable folio knows (shared/config.cc)";
    EXPECT_NE(e.contains("value"), e.contains("secret")) << key << ": a value or a secret";
    if (e.contains("value")) {
      ASSERT_TRUE(e["value"].is_string()) << key << ": Koyeb takes strings";
      check_env += " " + key + "='" + e["value"].get<std::string>() + "'";
    } else {
      check_env += " " + key + "=secret-from-koyeb";
    }
  }
  // The API key comes from a Koyeb secret, never from the file.
  json key = nullptr;
  for (const auto& e : service_["env"])
    if (e["key"] == "OPENAI_API_KEY") key = e;
  ASSERT_FALSE(key.is_null()) << "OPENAI_API_KEY";
  EXPECT_TRUE(key["secret"].is_string() && !key["secret"].get<std::string>().empty());
  EXPECT_FALSE(key.contains("value"));
  // Sized for the 512 MB instance.
  for (const auto& e : service_["env"]) {
    if (e["key"] == "MEMORY_LIMIT_MB") {
      EXPECT_EQ(e["value"], "512");
    }
  }
  for (const char* tuning : {"MEMORY_LIMIT_MB", "WORKERS", "WORKER_THREADS", "CHAT_THREADS"})
    EXPECT_TRUE(keys.count(tuning)) << tuning;
  // And folio accepts every value.
  std::string out;
  EXPECT_EQ(RunCommand(check_env + " " FOLIO_BINARY_DIR "/bin/folio-worker --check-config", &out), 0) << out;
}

}  // namespace
}  // namespace folio::test
