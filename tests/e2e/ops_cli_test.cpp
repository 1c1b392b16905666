// End-to-end tests of the command line as a tool: every --json output parses and carries
// schema_version, validate --json/--strict, runs filters, terminal manners (TERM=dumb, NO_COLOR,
// --quiet), help with examples, and `cmake --install`.
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "e2e/engine_e2e_util.h"
#include "testing/pipeline_fixture.h"
#include "testing/run_command.h"
#include "testing/temp_dir.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::Q;
using testing::RunCommand;
using testing::Sluice;
using testing::TempDir;

constexpr const char* kQuickWorkflow = R"(name: quick
tasks:
  - task_key: hello
    command: "echo hello"
  - task_key: per_partner
    depends_on: [hello]
    for_each: partner
    command: "echo $SLUICE_PARTNER"
)";

constexpr const char* kSlowWorkflow = R"(name: slow
tasks:
  - task_key: slow
    command: "sleep 1"
)";

json ParseOrFail(const std::string& text, const std::string& what) {
  json j = json::parse(text, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << what << ": not JSON:\n" << text;
  return j;
}

// Whether `text` holds an SGR (colour) escape sequence: ESC [ digits/semicolons m.
bool HasColour(const std::string& text) {
  for (size_t at = text.find("\x1b["); at != std::string::npos; at = text.find("\x1b[", at + 1)) {
    size_t i = at + 2;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == ';'))
      ++i;
    if (i < text.size() && text[i] == 'm') return true;
  }
  return false;
}

// Whether some line reads "YYYY-MM-DDTHH:MM:SS.mmm+HH:MM info ...": a log line with its offset.
bool HasLogLineWithOffset(const std::string& text) {
  for (size_t at = text.find(" info "); at != std::string::npos; at = text.find(" info ", at + 1)) {
    if (at < 29) continue;
    const std::string stamp = text.substr(at - 29, 29);  // 2026-11-24T09:30:01.343+09:00
    if (stamp[4] == '-' && stamp[10] == 'T' && stamp[19] == '.' &&
        (stamp[23] == '+' || stamp[23] == '-') && stamp[26] == ':') {
      return true;
    }
  }
  return false;
}

// Runs `command` with a terminal as its stdout and stderr (util-linux script), with `env`.
testing::CommandResult OnATerminal(const std::string& env, const std::string& command) {
  return RunCommand(env + " script -qefc " + testing::Q(command) + " /dev/null");
}

TEST(OpsCli, EveryJsonOutputParsesAndCarriesSchemaVersion) {
  TempDir tmp;
  testing::WriteEnginePipeline(tmp, kQuickWorkflow);
  ASSERT_EQ(RunCommand(Sluice() + " run " + Q(tmp.path()) + " --date 2026-11-24").exit_code, 0);
  const std::string dir = Q(tmp.path());
  json runs = ParseOrFail(RunCommand(Sluice() + " runs " + dir + " --json").output, "runs");
  ASSERT_EQ(runs.size(), 1u);
  const std::string id = runs[0]["run_id"];
  const json partners = json::array({"acme", "globex"});
  EXPECT_EQ(runs[0]["schema_version"], 1);
  EXPECT_EQ(runs[0]["partners"], partners);
  for (const std::string& cmd :
       {" show " + dir + " " + id + " --json", " summary " + dir + " " + id + " --json",
        " summary " + dir + " --json", " validate " + dir + " --json",
        " backfill " + dir + " --from 2026-11-24 --to 2026-11-24 --json"}) {
    auto r = RunCommand("(" + Sluice() + cmd + " 2>/dev/null)");  // stdout alone
    json j = ParseOrFail(r.output, cmd);
    EXPECT_EQ(j["schema_version"], 1) << cmd;
    EXPECT_EQ(j["partners"], partners) << cmd;
  }
}

TEST(OpsCli, ValidateJsonListsProblemsWithFileLineColumnAndStrictFailsOnWarnings) {
  TempDir tmp;
  testing::WriteSamplePipeline(tmp);
  // A table no merge task loads: a warning, not an error.
  tmp.Write("partners/acme/partner.yaml",
            testing::PartnerYaml("acme") + "  refunds: {file: \"refunds*.csv\"}\n");
  tmp.Write("partners/acme/schemas/refunds.json",
            R"({"table": "refunds", "columns": [{"name": "id", "type": "int64"}]})");
  auto lenient = RunCommand(Sluice() + " validate " + Q(tmp.path()) + " --json");
  EXPECT_EQ(lenient.exit_code, 0) << lenient.output;
  json j = ParseOrFail(lenient.output, "validate --json");
  EXPECT_EQ(j["ok"], true);
  ASSERT_GE(j["warnings"].get<int>(), 1) << j.dump(2);
  const json& w = j["problems"][0];
  EXPECT_EQ(w["severity"], "warning");
  EXPECT_NE(w["file"].get<std::string>().find("partners/acme/"), std::string::npos) << w.dump();
  EXPECT_GT(w["line"].get<int>(), 0);
  EXPECT_TRUE(w.contains("column"));
  EXPECT_NE(w["message"].get<std::string>().find("refunds"), std::string::npos);

  auto strict = RunCommand(Sluice() + " validate " + Q(tmp.path()) + " --strict");
  EXPECT_EQ(strict.exit_code, 2) << strict.output;
  EXPECT_NE(strict.output.find("--strict fails on warnings"), std::string::npos) << strict.output;

  // An error: JSON still, ok false, exit 2.
  tmp.Write("workflow.yaml", "name: broken\ntasks:\n  - task_key: a\n    buitlin: set_date\n");
  auto bad = RunCommand(Sluice() + " validate " + Q(tmp.path()) + " --json 2>/dev/null");
  EXPECT_EQ(bad.exit_code, 2);
  json e = ParseOrFail(bad.output, "validate --json of a broken folder");
  EXPECT_EQ(e["ok"], false);
  EXPECT_GE(e["errors"].get<int>(), 1);
  bool names_workflow = false;
  for (const json& p : e["problems"]) {
    if (p["severity"] == "error" &&
        p["file"].get<std::string>().find("workflow.yaml") != std::string::npos && p["line"] == 4) {
      names_workflow = true;
    }
  }
  EXPECT_TRUE(names_workflow) << e.dump(2);
}

TEST(OpsCli, RunsFiltersByStateAndDateBeforeTheLimit) {
  TempDir tmp;
  testing::WriteEnginePipeline(tmp, kQuickWorkflow);
  for (const char* d : {"2026-11-22", "2026-11-23", "2026-11-24"}) {
    ASSERT_EQ(RunCommand(Sluice() + " run " + Q(tmp.path()) + " --date " + d).exit_code, 0);
  }
  tmp.Write("workflow.yaml", "name: quick\ntasks:\n  - task_key: hello\n    command: \"exit 3\"\n");
  ASSERT_EQ(RunCommand(Sluice() + " run " + Q(tmp.path()) + " --date 2026-11-23").exit_code, 1);
  auto runs = [&](const std::string& flags) {
    return ParseOrFail(RunCommand(Sluice() + " runs " + Q(tmp.path()) + " --json " + flags).output,
                       flags);
  };
  EXPECT_EQ(runs("").size(), 4u);
  json failed = runs("--state failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["date"], "2026-11-23");
  EXPECT_EQ(runs("--date 2026-11-23").size(), 2u);
  json one = runs("--state success --limit 1");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0]["date"], "2026-11-24");
  EXPECT_EQ(runs("--date 2026-11-01").size(), 0u);
  EXPECT_EQ(RunCommand(Sluice() + " runs " + Q(tmp.path()) + " --state nope").exit_code, 2);
}

TEST(OpsCli, TermDumbOutputHoldsNoEscapeSequence) {
  TempDir tmp;
  testing::WriteEnginePipeline(tmp, kSlowWorkflow);
  const std::string run = std::string(SLUICE_BINARY) + " run " + tmp.path().string() + " --date ";
  auto dumb = OnATerminal("TERM=dumb", run + "2026-11-24");
  ASSERT_EQ(dumb.exit_code, 0) << dumb.output;
  EXPECT_NE(dumb.output.find("PASS=1"), std::string::npos) << dumb.output;
  EXPECT_EQ(dumb.output.find('\x1b'), std::string::npos) << dumb.output;
  // The same on a terminal that can: the live lines and the colours are there.
  auto xterm = OnATerminal("TERM=xterm", run + "2026-11-25");
  ASSERT_EQ(xterm.exit_code, 0) << xterm.output;
  EXPECT_NE(xterm.output.find("\x1b[32mPASS=1"), std::string::npos) << xterm.output;
  // NO_COLOR: no colour, whatever the terminal.
  auto no_color = OnATerminal("TERM=xterm NO_COLOR=1", run + "2026-11-26");
  ASSERT_EQ(no_color.exit_code, 0) << no_color.output;
  EXPECT_FALSE(HasColour(no_color.output)) << no_color.output;
  EXPECT_TRUE(HasColour(xterm.output)) << "the check itself can fail";
}

TEST(OpsCli, QuietPrintsNothingOnSuccessAndTheResultsOnFailure) {
  TempDir tmp;
  testing::WriteEnginePipeline(tmp, kQuickWorkflow);
  auto ok = RunCommand(Sluice() + " run " + Q(tmp.path()) + " --date 2026-11-24 --quiet");
  EXPECT_EQ(ok.exit_code, 0);
  EXPECT_EQ(ok.output, "");
  tmp.Write("workflow.yaml", "name: quick\ntasks:\n  - task_key: hello\n    command: \"exit 3\"\n");
  auto bad = RunCommand(Sluice() + " run " + Q(tmp.path()) + " --date 2026-11-25 -q");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("ERROR=1"), std::string::npos) << bad.output;
  EXPECT_EQ(bad.output.find(" info "), std::string::npos) << bad.output;
  auto verbose = RunCommand(Sluice() + " run " + Q(tmp.path()) + " --date 2026-11-26 --verbose");
  EXPECT_NE(verbose.output.find(" info "), std::string::npos) << verbose.output;
  // Log lines say their time zone offset.
  EXPECT_TRUE(HasLogLineWithOffset(verbose.output)) << verbose.output;
  EXPECT_EQ(RunCommand(Sluice() + " run " + Q(tmp.path()) + " -q -v").exit_code, 2);
}

TEST(OpsCli, EveryCommandsHelpHasAnExampleAndTaskIsHidden) {
  auto top = RunCommand(Sluice() + " --help");
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_EQ(top.output.find("\n  task "), std::string::npos) << top.output;
  for (const char* cmd :
       {"init", "validate", "run", "repair", "runs", "show", "logs", "summary", "backfill"}) {
    EXPECT_NE(top.output.find(std::string("\n  ") + cmd + " "), std::string::npos) << cmd;
    auto h = RunCommand(Sluice() + " " + cmd + " --help");
    EXPECT_EQ(h.exit_code, 0) << cmd;
    EXPECT_NE(h.output.find("Example"), std::string::npos) << cmd << ":\n" << h.output;
    EXPECT_NE(h.output.find(std::string("sluice ") + cmd + " ./pipeline"), std::string::npos)
        << cmd << ":\n"
        << h.output;
  }
  auto v = RunCommand(Sluice() + " --version");
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.output.rfind("sluice ", 0), 0u) << v.output;
  EXPECT_TRUE(v.output.size() > 7 && std::isdigit(static_cast<unsigned char>(v.output[7])))
      << v.output;
}

TEST(OpsCli, CmakeInstallPutsTheBinaryManPageAndCompletionUnderThePrefix) {
  TempDir tmp;
  const fs::path build = fs::path(SLUICE_BINARY).parent_path();
  if (!fs::exists(build / "sluice.1")) {
    GTEST_SKIP() << "no man page in " << build << " (help2man missing; make deps installs it)";
  }
  auto r = RunCommand("cmake --install " + Q(build) + " --prefix " + Q(tmp.path()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(tmp / "bin/sluice"));
  auto man = testing::ReadFile(tmp / "share/man/man1/sluice.1");
  EXPECT_NE(man.find(".TH SLUICE"), std::string::npos) << man.substr(0, 200);
  EXPECT_NE(man.find("backfill"), std::string::npos);
  auto completion = tmp / "share/bash-completion/completions/sluice";
  ASSERT_TRUE(fs::exists(completion));
  // The completion script loads in bash and completes a command name.
  auto c = RunCommand("bash -c " + Q("source " + completion.string() +
                                     "; COMP_WORDS=(sluice back); COMP_CWORD=1; _sluice; "
                                     "echo \"${COMPREPLY[@]}\""));
  EXPECT_EQ(c.exit_code, 0) << c.output;
  EXPECT_NE(c.output.find("backfill"), std::string::npos) << c.output;
}

}  // namespace
}  // namespace sluice
