// tests/faults/fault_run_util.h: a small run of the example pipeline for the fault sweeps and the
// full-disk test, and what "equal to a clean run" means for it.
//
// The example (`sluice init --sample-data`, 100 rows per table, seed 11, so each table has one
// bad row that goes to rejects/) is written once into a template folder; every run copies the
// template with `cp -a` into the SAME work folder, so paths and the landing archives' mtimes in
// the manifests are those of the clean run. Only acme runs (`--partners acme`), one attempt at a
// time (`--parallelism 1`), so the run's store and warehouse calls come in the same order every
// time. The workflow's retries back off 10 ms instead of 1 s, and the sensor gives up after 20 s
// instead of 3500 s: nothing else of the example changes.
//
// A Snapshot is every file under data/ (raw, rejects, manifests, landing; manifests with their
// run id and timings masked) and every table of the partner's SQLite database, lineage columns
// included (_load_id, _ingest_date; run_id and loaded_at masked), as text: two runs are equal when
// their snapshots are equal byte for byte.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "testing/run_command.h"
#include "testing/temp_dir.h"

namespace sluice::testing {

inline constexpr const char* kFaultDay = "2026-11-24";
inline constexpr const char* kFaultPartner = "acme";

inline std::string Quoted(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

// The binary under test; SLUICE_TEST_BINARY may name a copy, so a long sweep is not disturbed
// by a rebuild.
inline std::string SluiceBinary() {
  const char* copy = std::getenv("SLUICE_TEST_BINARY");
  return copy != nullptr && *copy != '\0' ? Quoted(copy) : Sluice();
}

// Writes the example with sample data into `tpl` and shortens its backoff and sensor timeout.
inline void WriteExampleTemplate(const std::filesystem::path& tpl) {
  auto r =
      RunCommand(SluiceBinary() + " init " + Quoted(tpl) + " --sample-data --rows 100 --seed 11" +
                 " --date " + kFaultDay + " --partners " + kFaultPartner);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = RunCommand(
      "sed -i 's/^    max_retries: 3$/    max_retries: 3\\n    "
      "min_retry_interval_millis: 10/; s/timeout_seconds: 3500}/timeout_seconds: 20}/' " +
      Quoted(tpl / "workflow.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_NE(ReadFile(tpl / "workflow.yaml").find("min_retry_interval_millis: 10"),
            std::string::npos);
}

// Replaces `work` with a copy of `tpl` (times kept).
inline void ResetWorkFolder(const std::filesystem::path& tpl, const std::filesystem::path& work) {
  std::filesystem::remove_all(work);
  auto r = RunCommand("cp -a " + Quoted(tpl) + " " + Quoted(work));
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

// `sluice run` of the work folder with `env` ("NAME='value' ..." or ""), at most 120 s.
inline CommandResult RunExample(const std::filesystem::path& work, const std::string& env = "") {
  return RunCommand(env + " timeout -s KILL 120 " + SluiceBinary() + " run " + Quoted(work) +
                    " --date " + kFaultDay + " --partners " + kFaultPartner + " --parallelism 1");
}

inline CommandResult RepairExample(const std::filesystem::path& work, const std::string& run_id) {
  return RunCommand("timeout -s KILL 120 " + SluiceBinary() + " repair " + Quoted(work) + " " +
                    run_id);
}

inline std::string NewestRun(const std::filesystem::path& work) {
  auto r = RunCommand(SluiceBinary() + " runs " + Quoted(work) + " --json 2>/dev/null");
  auto j = nlohmann::json::parse(r.output, nullptr, false);
  if (j.is_discarded() || !j.is_array() || j.empty()) return "";
  return j[0].value("run_id", "");
}

inline nlohmann::json ShowRun(const std::filesystem::path& work, const std::string& run_id) {
  auto r =
      RunCommand(SluiceBinary() + " show " + Quoted(work) + " " + run_id + " --json 2>/dev/null");
  auto j = nlohmann::json::parse(r.output, nullptr, false);
  return j.is_discarded() ? nlohmann::json::object() : j;
}

// Manifest text with the values that differ between two equal runs masked: the run id and the
// seconds a step took.
inline std::string MaskManifest(std::string text) {
  auto mask = [&](const std::string& key, const char* stop_chars) {
    for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + 1)) {
      const size_t value = at + key.size();
      const size_t end = text.find_first_of(stop_chars, value);
      if (end == std::string::npos) break;
      text.replace(value, end - value, "*");
    }
  };
  mask("\"run_id\": \"", "\"");
  mask("\"seconds\": ", ",\n}");
  return text;
}

// Every table and index of `db` as text, by name: its CREATE statement, then (tables) its rows
// sorted, each value with its SQLite type; columns run_id and loaded_at masked. Empty and a test
// failure when the file cannot be read.
inline std::map<std::string, std::string> DumpDatabase(const std::filesystem::path& db) {
  std::map<std::string, std::string> out;
  sqlite3* conn = nullptr;
  if (sqlite3_open_v2(db.c_str(), &conn, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << db << ": " << sqlite3_errmsg(conn);
    sqlite3_close(conn);
    return out;
  }
  // Rows of `sql`, each value as "<type>:<text>" (raw: just the text).
  auto query = [&](const std::string& sql, bool raw, std::vector<std::string>* names) {
    std::vector<std::vector<std::string>> rows;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(conn, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(conn);
      return rows;
    }
    const int n = sqlite3_column_count(st);
    if (names) {
      for (int i = 0; i < n; ++i) names->push_back(sqlite3_column_name(st, i));
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < n; ++i) {
        const char* text = reinterpret_cast<const char*>(sqlite3_column_text(st, i));
        std::string v = text ? text : "NULL";
        row.push_back(raw ? v : std::to_string(sqlite3_column_type(st, i)) + ":" + v);
      }
      rows.push_back(std::move(row));
    }
    sqlite3_finalize(st);
    return rows;
  };
  for (const auto& t : query("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL",
                             /*raw=*/true, nullptr)) {
    std::string& text = out[t[1]];
    text = t[2] + "\n";
    if (t[0] != "table") continue;
    std::vector<std::string> cols;
    auto rows = query("SELECT * FROM \"" + t[1] + "\"", /*raw=*/false, &cols);
    std::sort(rows.begin(), rows.end());
    for (const auto& row : rows) {
      for (size_t i = 0; i < row.size(); ++i) {
        const bool masked = cols[i] == "run_id" || cols[i] == "loaded_at";
        text += (i ? "|" : "") + (masked ? std::string("*") : row[i]);
      }
      text += "\n";
    }
  }
  sqlite3_close(conn);
  return out;
}

// What a run left: every file under data/ (by relative path; manifests masked), every empty
// folder, the partner's database, and every temporary the store or SQLite left behind.
struct Snapshot {
  std::map<std::string, std::string> files;
  std::map<std::string, std::string> database;  // table or index -> DumpDatabase text
  std::vector<std::string> leftovers;  // store temporaries (.sluice-*), staging folders, journals
};

inline Snapshot TakeSnapshot(const std::filesystem::path& work) {
  namespace fs = std::filesystem;
  Snapshot s;
  const fs::path data = work / "data";
  for (auto it = fs::recursive_directory_iterator(data); it != fs::recursive_directory_iterator();
       ++it) {
    const std::string rel = fs::relative(it->path(), data).string();
    const std::string name = it->path().filename().string();
    if (name.starts_with(".sluice-") || name == ".staging") s.leftovers.push_back("data/" + rel);
    if (it->is_directory()) {
      if (fs::is_empty(it->path())) s.files[rel + "/"] = "";
      continue;
    }
    std::string bytes = ReadFile(it->path());
    if (rel.starts_with("manifests/")) bytes = MaskManifest(bytes);
    s.files[rel] = std::move(bytes);
  }
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(work / "warehouse", ec)) {
    const std::string name = e.path().filename().string();
    if (name.ends_with("-journal") || name.ends_with("-wal")) {
      s.leftovers.push_back("warehouse/" + name);
    }
  }
  const fs::path db = work / "warehouse" / (std::string(kFaultPartner) + ".db");
  if (fs::exists(db)) s.database = DumpDatabase(db);
  return s;
}

// "" when equal, else the first difference, for a failure message.
inline std::string DescribeDifference(const Snapshot& want, const Snapshot& got) {
  for (const auto& [path, bytes] : want.files) {
    auto it = got.files.find(path);
    if (it == got.files.end()) return "data/" + path + " is missing";
    if (it->second != bytes) {
      size_t at = 0;
      while (at < bytes.size() && at < it->second.size() && bytes[at] == it->second[at]) ++at;
      return "data/" + path + " differs at byte " + std::to_string(at) + ": clean \"" +
             bytes.substr(at > 40 ? at - 40 : 0, 120) + "\" vs \"" +
             it->second.substr(at > 40 ? at - 40 : 0, 120) + "\"";
    }
  }
  for (const auto& [path, bytes] : got.files) {
    if (!want.files.count(path)) return "data/" + path + " should not exist";
  }
  for (const auto& [name, a] : want.database) {
    auto it = got.database.find(name);
    if (it == got.database.end()) return "warehouse: " + name + " is missing";
    const std::string& b = it->second;
    if (a == b) continue;
    size_t at = 0;
    while (at < a.size() && at < b.size() && a[at] == b[at]) ++at;
    return "warehouse: " + name + " differs at byte " + std::to_string(at) + ": clean \"" +
           a.substr(at > 60 ? at - 60 : 0, 160) + "\" vs \"" +
           b.substr(at > 60 ? at - 60 : 0, 160) + "\"";
  }
  for (const auto& [name, text] : got.database) {
    if (!want.database.count(name)) return "warehouse: " + name + " should not exist";
  }
  if (!got.leftovers.empty()) return "left behind: " + got.leftovers.front();
  return "";
}

}  // namespace sluice::testing

namespace sluice::testing {

// What a failed run may show before its repair: every file of raw/, rejects/ and the extract's
// and merges' manifests that exists is the clean run's (nothing half-written: a writer that
// failed left nothing), and every partner table holds either no rows or exactly the clean rows
// (a merge is one transaction). The run's summary.json may differ (it reports the failure), and
// a failed merge's manifest says "failed".
// "" when so, else what is wrong.
inline std::string DescribeHalfWritten(const Snapshot& clean, const Snapshot& failed) {
  for (const auto& [path, bytes] : failed.files) {
    // Staging folders are the extract's own, invisible to readers of raw/<partner>/<date>/,
    // and cleared by the next attempt; the final snapshot must not hold them.
    if (path.starts_with("landing/") || path.ends_with("/summary.json") || path.ends_with("/") ||
        path.find("/.staging/") != std::string::npos) {
      continue;
    }
    // A failed merge records its failure in its manifest (status "failed", the error).
    if (path.find("/merge/") != std::string::npos &&
        bytes.find("\"status\": \"failed\"") != std::string::npos) {
      continue;
    }
    auto it = clean.files.find(path);
    if (it == clean.files.end()) return "data/" + path + " is not in a clean run";
    if (it->second != bytes) return "data/" + path + " is not the clean run's (half-written?)";
  }
  for (const auto& [name, text] : failed.database) {
    if (name.starts_with("sluice_") || text.find("CREATE TABLE") != 0) continue;
    const size_t rows = text.find('\n');
    if (rows + 1 == text.size()) continue;  // no rows
    auto it = clean.database.find(name);
    if (it == clean.database.end() || it->second != text) {
      return "table " + name + " holds rows but not the clean run's (a merge half applied?)";
    }
  }
  return "";
}

}  // namespace sluice::testing
