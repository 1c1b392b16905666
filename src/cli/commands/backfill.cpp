// `sluice backfill DIR --from D1 --to D2 [--only missing|failed|all] [--max-active-runs N]
// [--partners a,b]`: one run per date of the range, oldest first.
//
// Per date it looks at the newest run of that date over the same partners (as `run --resume`
// does) and decides:
//   no run                              -> `sluice run DIR --date D`         (missing)
//   failed / cancelled / scheduler gone -> `sluice repair DIR RUN_ID`        (failed)
//   success                             -> nothing, unless --only all: a new `sluice run`
//   running with a live scheduler       -> nothing (another process drives it)
// `--only missing` or `--only failed` keeps one kind (default: both). Every date's work is a
// child `sluice` process (its output in logs/backfill/<date>.log), up to --max-active-runs at
// once, so the runs are exactly those `sluice run` would make, and the backfill keeps no state
// of its own: after a kill, the same command again finds what is done in the ledger and does the
// rest. It ends with one summary of every date, and exits 0 only when every date succeeded.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/commands/commands.h"
#include "cli/commands/engine_common.h"
#include "cli/commands/run_report.h"
#include "cli/commands/terminal.h"
#include "core/date.h"
#include "core/strings.h"
#include "store/object_store.h"
#include "tasks/wait_for_sources.h"

namespace sluice::cli {

namespace {

struct Args {
  std::string dir, from, to, only, partners, executor;
  int max_active_runs = 1;
  int parallelism = 0;
  bool dry_run = false, json = false;
};

struct DatePlan {
  std::string date;
  std::string action;  // run | repair | skip
  std::string reason;  // why (for skip: "already succeeded", ...)
  std::string run_id;  // the run repaired or skipped; the new run's id after it ran
  std::vector<std::string> argv;
  std::filesystem::path log;
  int exit_code = -1;
};

// Runs `argv` with stdout and stderr into `log`; returns its pid, or -1 after saying why.
// For a dry run: the partners among `ids` whose delivery for `date` is not complete yet (no
// archive, no marker, still changing), each as "id (why)". A date planned as a new run with
// such a partner would wait in wait_for_sources up to its timeout, or fail in extract.
std::vector<std::string> IncompleteDeliveries(const config::Pipeline& pipeline,
                                              store::ObjectStore* store,
                                              const std::vector<std::string>& ids,
                                              const Date& date) {
  std::vector<std::string> out;
  std::vector<const config::PartnerConfig*> partners;
  if (ids.empty()) {
    partners = pipeline.EnabledPartners();
  } else {
    for (const std::string& id : ids) {
      if (const config::PartnerConfig* p = pipeline.FindPartner(id)) partners.push_back(p);
    }
  }
  for (const config::PartnerConfig* p : partners) {
    auto check = tasks::CheckSourceOnce(store, *p, date, std::chrono::system_clock::now());
    if (!check.ok()) {
      out.push_back(p->id + " (" + check.status().message() + ")");
    } else if (!check->complete) {
      out.push_back(p->id + " (" + check->missing + ")");
    }
  }
  return out;
}

pid_t Launch(const std::vector<std::string>& argv, const std::filesystem::path& log) {
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::cerr << "sluice backfill: cannot write " << log << ": " << std::strerror(errno) << "\n";
    return -1;
  }
  std::vector<char*> cargv;
  for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    ::execv(cargv[0], cargv.data());
    _exit(127);
  }
  ::close(fd);
  if (pid < 0) std::cerr << "sluice backfill: fork: " << std::strerror(errno) << "\n";
  return pid;
}

std::string Describe(const std::vector<std::string>& argv) {
  std::string out = "sluice";
  for (size_t i = 1; i < argv.size(); ++i) out += " " + argv[i];
  return out;
}

}  // namespace

void RegisterBackfill(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "backfill", "One run per date of a range: the missing ones, and repairs of failed ones");
  cmd->footer(
      "Examples:\n"
      "  sluice backfill ./pipeline --from 2026-11-01 --to 2026-11-30\n"
      "  sluice backfill ./pipeline --from 2026-11-01 --to 2026-11-30 --only failed\n"
      "  sluice backfill ./pipeline --from 2026-11-01 --to 2026-11-07 --max-active-runs 3 "
      "--partners acme\n"
      "Again after a kill: dates that succeeded are skipped, unfinished ones are repaired.");
  auto args = std::make_shared<Args>();
  cmd->add_option("DIR", args->dir, "Pipeline folder")->required();
  cmd->add_option("--from", args->from, "First logical date, YYYY-MM-DD")
      ->required()
      ->check(NotEmptyDate());
  cmd->add_option("--to", args->to, "Last logical date, YYYY-MM-DD (included)")
      ->required()
      ->check(NotEmptyDate());
  cmd->add_option("--only", args->only,
                  "missing: dates without a run; failed: repair dates whose run failed; all: a "
                  "new run for every date (default: missing and failed)")
      ->check(CLI::IsMember({"missing", "failed", "all"}));
  cmd->add_option("--max-active-runs", args->max_active_runs, "Dates run at once (default 1)")
      ->check(CLI::Range(1, 64));
  auto* partners_option =
      cmd->add_option("--partners", args->partners, "Only these partners, comma-separated");
  cmd->add_option("--parallelism", args->parallelism,
                  "Concurrent attempts of each run (default: sluice.yaml, else cores)")
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--executor", args->executor,
                  "local or slurm (default: executor: in sluice.yaml, else local)");
  cmd->add_flag("--dry-run", args->dry_run, "Print what each date would get, run nothing");
  cmd->add_flag("--json", args->json, "Machine-readable summary at the end (docs/cli.md)");
  cmd->callback([args, exit_code, partners_option] {
    Result<Date> from = ParseDate(args->from);
    Result<Date> to = ParseDate(args->to);
    if (!from.ok() || !to.ok()) {
      std::cerr << "sluice backfill: " << (from.ok() ? "--to: " : "--from: ")
                << (from.ok() ? to.status() : from.status()).message() << "\n";
      *exit_code = kExitUsage;
      return;
    }
    if (*to < *from) {
      std::cerr << "sluice backfill: --to " << args->to << " is before --from " << args->from
                << "\n";
      *exit_code = kExitUsage;
      return;
    }
    int days = 0;
    for (Date d = *from; d <= *to; d = d.AddDays(1)) {
      if (++days > 3660) {
        std::cerr << "sluice backfill: more than 3660 dates from " << args->from << " to "
                  << args->to << "; split the range\n";
        *exit_code = kExitUsage;
        return;
      }
    }
    auto partners = PartnersOrReport(args->partners, partners_option, "backfill",
                                     "backfill every enabled partner");
    if (!partners) {
      *exit_code = kExitUsage;
      return;
    }
    auto pipeline = LoadPipelineOrReport(args->dir, "backfill", /*warnings=*/true);
    if (!pipeline) {
      *exit_code = kExitUsage;
      return;
    }
    auto ledger = OpenLedgerOrReport(*pipeline, "backfill");
    if (!ledger) {
      *exit_code = kExitUsage;
      return;
    }
    const std::filesystem::path log_dir = workflow::LogsDir(*pipeline) / "backfill";
    std::error_code ec;
    std::filesystem::create_directories(log_dir, ec);
    const std::string self = SelfExe();
    const bool want_missing = args->only.empty() || args->only == "missing";
    const bool want_failed = args->only.empty() || args->only == "failed";
    const bool want_all = args->only == "all";

    // Plan every date first: a bad --partners is refused before any run starts.
    std::vector<DatePlan> plans;
    for (Date d = *from; d <= *to; d = d.AddDays(1)) {
      DatePlan plan;
      plan.date = d.ToString();
      plan.log = log_dir / (plan.date + ".log");
      auto newest = workflow::FindResumableRun(*pipeline, *ledger, d, *partners);
      if (!newest.ok()) {
        std::cerr << "sluice backfill: " << newest.status().ToString() << "\n";
        *exit_code = ExitCodeFor(newest.status());
        return;
      }
      std::vector<std::string> run_argv = {self, "run", args->dir, "--date", plan.date};
      if (!args->partners.empty()) {
        run_argv.insert(run_argv.end(), {"--partners", Join(*partners, ",")});
      }
      if (args->parallelism > 0) {
        run_argv.insert(run_argv.end(), {"--parallelism", std::to_string(args->parallelism)});
      }
      if (!args->executor.empty()) run_argv.insert(run_argv.end(), {"--executor", args->executor});
      if (!newest->has_value()) {
        plan.action = want_missing || want_all ? "run" : "skip";
        plan.reason = "no run yet";
        if (plan.action == "run") plan.argv = run_argv;
      } else {
        const ledger::RunRecord& run = **newest;
        plan.run_id = run.run_id;
        const bool gone = run.state == "running" && workflow::SchedulerGone(run);
        if (run.state == "success") {
          plan.action = want_all ? "run" : "skip";
          plan.reason = "run " + run.run_id + " succeeded";
          if (want_all) plan.argv = run_argv;
        } else if (run.state == "running" && !gone) {
          plan.action = "skip";
          plan.reason = "run " + run.run_id + " is running (scheduler pid " +
                        std::to_string(run.scheduler_pid) + ")";
        } else if (want_failed || want_all) {
          plan.action = "repair";
          plan.reason = "run " + run.run_id + " " + (gone ? "was interrupted" : run.state);
          plan.argv = {self, "repair", args->dir, run.run_id};
          if (args->parallelism > 0) {
            plan.argv.insert(plan.argv.end(), {"--parallelism", std::to_string(args->parallelism)});
          }
          if (!args->executor.empty()) {
            plan.argv.insert(plan.argv.end(), {"--executor", args->executor});
          }
        } else {
          plan.action = "skip";
          plan.reason = "run " + run.run_id + " " + run.state + " (--only " + args->only + ")";
        }
      }
      plans.push_back(std::move(plan));
    }

    std::ostream& say = args->json ? std::cerr : std::cout;
    if (args->dry_run) {
      // Deliveries are looked at for new runs only: a repair may not need its landing files
      // any more (its extract succeeded), and gc may have removed them.
      auto store = store::OpenStore(pipeline->settings.store, pipeline->dir, pipeline->settings.s3);
      for (const DatePlan& p : plans) {
        say << p.date << "  " << (p.action == "skip" ? "skip    " : "would " + p.action) << "  "
            << p.reason << (p.argv.empty() ? "" : ": " + Describe(p.argv)) << "\n";
        if (p.action != "run") continue;
        if (!store.ok()) {
          say << "    deliveries not looked at: " << store.status().message() << "\n";
          continue;
        }
        std::vector<std::string> incomplete =
            IncompleteDeliveries(*pipeline, store->get(), *partners, *ParseDate(p.date));
        if (!incomplete.empty()) {
          say << "    not delivered yet: " << Join(incomplete, "; ")
              << " (the run would wait for them, up to its wait_for_sources timeout)\n";
        }
      }
      *exit_code = kExitOk;
      return;
    }

    // Up to --max-active-runs children at once, oldest date first.
    std::deque<DatePlan*> queue;
    for (DatePlan& p : plans) {
      if (p.action == "skip") {
        say << p.date << "  skipped: " << p.reason << "\n";
      } else {
        queue.push_back(&p);
      }
    }
    std::map<pid_t, DatePlan*> active;
    while (!queue.empty() || !active.empty()) {
      while (!queue.empty() && static_cast<int>(active.size()) < args->max_active_runs) {
        DatePlan* p = queue.front();
        queue.pop_front();
        pid_t pid = Launch(p->argv, p->log);
        if (pid < 0) {
          p->exit_code = kExitFailures;
          continue;
        }
        say << p->date << "  " << (p->action == "run" ? "running" : "repairing") << ": "
            << p->reason << " (" << Describe(p->argv) << ", output in " << p->log.string() << ")\n"
            << std::flush;
        active[pid] = p;
      }
      if (active.empty()) continue;
      int status = 0;
      pid_t done = ::waitpid(-1, &status, 0);
      if (done < 0) {
        if (errno == EINTR) continue;
        break;
      }
      auto it = active.find(done);
      if (it == active.end()) continue;
      DatePlan* p = it->second;
      active.erase(it);
      p->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : kExitFailures;
      if (p->exit_code == kExitUsage) {
        // Bad usage or config for one date is bad for every date: say what the child said.
        say << p->date << "  refused (exit 2); from " << p->log.string() << ":\n";
        std::ifstream in(p->log);
        for (std::string line; std::getline(in, line);) say << "    " << line << "\n";
      }
      say << p->date << "  done (exit " << p->exit_code << ")\n" << std::flush;
    }

    // One summary: each date's newest run.
    const bool color = !args->json && ColorAllowed(STDOUT_FILENO);
    nlohmann::json dates = nlohmann::json::array();
    int failed_dates = 0;
    int64_t loaded = 0, rejected = 0;
    std::map<std::string, int64_t> counts;
    std::vector<nlohmann::json> failed_reports;
    for (const DatePlan& p : plans) {
      auto date = ParseDate(p.date);
      auto newest = workflow::FindResumableRun(*pipeline, *ledger, *date, *partners);
      nlohmann::json entry = {{"date", p.date},     {"action", p.action},
                              {"reason", p.reason}, {"run_id", nullptr},
                              {"state", "missing"}, {"exit_code", p.exit_code}};
      if (newest.ok() && newest->has_value()) {
        auto report = BuildRunReport(*pipeline, *ledger, (*newest)->run_id, args->dir);
        if (report.ok()) {
          entry["run_id"] = (*report)["run_id"];
          entry["state"] = (*report)["state"];
          entry["counts"] = (*report)["counts"];
          entry["rows_loaded"] = (*report)["rows_loaded"];
          entry["rows_rejected"] = (*report)["rows_rejected"];
          entry["failed"] = (*report)["failed"];
          loaded += (*report)["rows_loaded"].get<int64_t>();
          rejected += (*report)["rows_rejected"].get<int64_t>();
          for (const auto& [k, v] : (*report)["counts"].items()) counts[k] += v.get<int64_t>();
        }
      }
      // A date skipped on purpose (--only) is not a failure of this backfill; one it ran is.
      const bool ran = p.action != "skip";
      if (entry["state"] != "success" && (ran || entry["state"] != "missing")) ++failed_dates;
      dates.push_back(std::move(entry));
    }
    const std::string again = "sluice backfill " + args->dir + " --from " + args->from + " --to " +
                              args->to + " --only failed" +
                              (args->partners.empty() ? "" : " --partners " + Join(*partners, ","));
    std::vector<std::string> resolved_partners = *partners;
    if (resolved_partners.empty()) {
      for (const config::PartnerConfig* p : pipeline->EnabledPartners()) {
        resolved_partners.push_back(p->id);
      }
    }
    if (args->json) {
      nlohmann::json out = {{"schema_version", kJsonSchemaVersion},
                            {"from", args->from},
                            {"to", args->to},
                            {"partners", resolved_partners},
                            {"dates", dates},
                            {"failed_dates", failed_dates},
                            {"rows_loaded", loaded},
                            {"rows_rejected", rejected},
                            {"repair", failed_dates > 0 ? nlohmann::json(again) : nullptr}};
      std::cout << out.dump(2) << "\n";
    } else {
      std::cout << "backfill " << args->from << " .. " << args->to << ": " << plans.size()
                << " dates, " << (plans.size() - static_cast<size_t>(failed_dates))
                << " without failures, " << failed_dates << " failed\n";
      for (const nlohmann::json& d : dates) {
        const std::string state = d["state"].get<std::string>();
        std::cout << "  " << d["date"].get<std::string>() << "  "
                  << PaintState(state, fmt::format("{:<10}", state), color) << "  "
                  << (d["run_id"].is_string() ? d["run_id"].get<std::string>() : "(no run)");
        if (d.contains("counts")) {
          const auto& c = d["counts"];
          std::cout << fmt::format("  PASS={} WARN={} ERROR={} SKIP={}  loaded {} rejected {}",
                                   c.value("PASS", 0), c.value("WARN", 0), c.value("ERROR", 0),
                                   c.value("SKIP", 0), d["rows_loaded"].get<int64_t>(),
                                   d["rows_rejected"].get<int64_t>());
        }
        std::cout << "\n";
        if (d.contains("failed")) {
          for (const auto& f : d["failed"]) {
            std::cout << "      " << f["task"].get<std::string>()
                      << (f["partner"].get<std::string>().empty()
                              ? ""
                              : " " + f["partner"].get<std::string>())
                      << ": " << f["error"].get<std::string>()
                      << "\n        log: " << f["logs"].get<std::string>() << "\n";
          }
        }
      }
      std::cout << "  total: "
                << fmt::format("PASS={} WARN={} ERROR={} SKIP={}", counts["PASS"], counts["WARN"],
                               counts["ERROR"], counts["SKIP"])
                << ", rows loaded " << loaded << ", rejected " << rejected << "\n";
      if (failed_dates > 0) std::cout << "  to repair: " << again << "\n";
    }
    *exit_code = failed_dates == 0 ? kExitOk : kExitFailures;
  });
}

}  // namespace sluice::cli
