// tests/pg/pg_test_server.h: a real PostgreSQL server for tests, and a fresh database per test.
//
// Under ctest the server is the `pg_server` fixture's (tests/CMakeLists.txt): one server for
// the whole test run, started and stopped by tests/pg/pg_server.sh, found through
// $SLUICE_TEST_PG_STATE. A test binary run by hand starts its own (the same script, into a
// temporary folder) and stops it when the process exits. Either way the server listens on
// 127.0.0.1 on a free port; the superuser's password is put in this process's PGPASSWORD, the
// way sluice expects it (libpq's rules), so spawned sluice processes inherit it.
#pragma once

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>

namespace sluice::testing {

struct PgTestServer {
  std::string host;
  int port = 0;
  std::string user;
  std::string password;
  std::string error;  // why there is no server ("" when there is one)

  // "postgresql://postgres@127.0.0.1:PORT/DB" (no password: libpq takes it from PGPASSWORD).
  std::string Url(const std::string& db) const {
    return "postgresql://" + user + "@" + host + ":" + std::to_string(port) + "/" + db;
  }
};

namespace pg_detail {

inline std::string Script() { return std::string(SLUICE_SOURCE_DIR) + "/tests/pg/pg_server.sh"; }

inline bool ReadState(const std::filesystem::path& state, PgTestServer* s) {
  std::ifstream in(state / "env");
  if (!in) return false;
  for (std::string line; std::getline(in, line);) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string k = line.substr(0, eq), v = line.substr(eq + 1);
    if (k == "PGHOST") s->host = v;
    if (k == "PGPORT") s->port = std::atoi(v.c_str());
    if (k == "PGUSER") s->user = v;
    if (k == "PGPASSWORD") s->password = v;
  }
  return s->port > 0;
}

}  // namespace pg_detail

// The test server (started on first use when no fixture gave one).
inline const PgTestServer& TestPgServer() {
  static PgTestServer* server = [] {
    auto* s = new PgTestServer;
    std::filesystem::path state;
    if (const char* env = std::getenv("SLUICE_TEST_PG_STATE"); env && *env) {
      state = env;
      if (!pg_detail::ReadState(state, s)) {
        s->error = "the pg_server fixture left no server in " + state.string() +
                   " (see the output of the pg_server_start test)";
      }
    } else {
      static std::string own = (std::filesystem::temp_directory_path() /
                                ("sluice-pg-state-" + std::to_string(::getpid())))
                                   .string();
      const std::string start = pg_detail::Script() + " start '" + own + "' >/dev/null";
      if (std::system(start.c_str()) != 0 || !pg_detail::ReadState(own, s)) {
        s->error = "could not start a PostgreSQL test server with " + pg_detail::Script();
      } else {
        std::atexit([] {
          const std::string stop = pg_detail::Script() + " stop '" + own + "' >/dev/null 2>&1";
          (void)std::system(stop.c_str());
          std::error_code ec;
          std::filesystem::remove_all(own, ec);
        });
      }
    }
    if (s->error.empty()) {
      ::setenv("PGPASSWORD", s->password.c_str(), 1);
      ::unsetenv("PGSERVICE");
      ::unsetenv("PGDATABASE");
    }
    return s;
  }();
  return *server;
}

// Runs `sql` as the superuser on database `db`; "" on success, else the server's message.
inline std::string PgAdminExec(const std::string& sql, const std::string& db = "postgres") {
  const PgTestServer& s = TestPgServer();
  if (!s.error.empty()) return s.error;
  PGconn* c = PQconnectdb(s.Url(db).c_str());
  std::string err;
  if (PQstatus(c) != CONNECTION_OK) {
    err = PQerrorMessage(c);
  } else {
    PGresult* r = PQexec(c, sql.c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
      err = PQresultErrorMessage(r);
    }
    PQclear(r);
  }
  PQfinish(c);
  return err;
}

// A new, empty database on the test server and its URL; "" (with *error set) on failure.
// Each call makes another database, so tests never see each other's tables.
inline std::string NewPgDatabase(std::string* error = nullptr) {
  static std::atomic<int> counter{0};
  const std::string name =
      "sluice_t" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  std::string err = PgAdminExec("CREATE DATABASE " + name + " TEMPLATE template0");
  if (!err.empty()) {
    if (error) *error = err;
    return "";
  }
  return TestPgServer().Url(name);
}

// The database of a test folder: the same URL for the same folder (a test that reopens its
// warehouse or ledger finds its data), a new database for each new folder.
inline std::string PgDatabaseFor(const std::filesystem::path& dir) {
  static std::mutex mu;
  static std::map<std::string, std::string> urls;
  std::lock_guard<std::mutex> lock(mu);
  auto it = urls.find(dir.string());
  if (it != urls.end()) return it->second;
  std::string url = NewPgDatabase();
  urls.emplace(dir.string(), url);
  return url;
}

}  // namespace sluice::testing
