// The isolation matrix (docs/reliability.md): for every ordered pair of partners (A, B) and
// every operation, partner A's scoped handle must not reach B's data, whatever key, area or
// partner id it is given. Back-ends: the stores (PartnerStore over file://, over the in-memory
// store, and over S3: the SigV4-verifying s3rver endpoint of tests/s3/server.js) with the same
// cells each, and the SQLite warehouse (one database file per partner). Each cell is one attempt;
// it must be refused (an error) or stay inside A's own area (then B's objects are checked unchanged
// and nothing of B's came back). A cell that reaches B fails the test. The totals are printed for
// the document.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "config/pipeline_config.h"
#include "s3/s3_fixture.h"
#include "store/local_store.h"
#include "store/memory_store.h"
#include "store/object_store.h"
#include "store/s3_store.h"
#include "tasks/task_context.h"
#include "testing/temp_dir.h"
#include "warehouse/warehouse.h"

namespace sluice {
namespace {

using testing::TempDir;

// "acme" is a prefix of "acme-2" and "a" of both: prefix checks without a '/' would leak.
const std::vector<std::string> kPartners = {"acme", "acme-2", "a", "globex"};
const std::vector<std::string> kAreas = {"landing", "raw", "rejects", "manifests"};
const std::string kDate = "2026-02-28";

std::string Secret(const std::string& partner, const std::string& area) {
  return "secret of " + partner + " in " + area;
}

// Refused: the handle said no (InvalidArgument or PermissionDenied: the key, area or id breaks a
// rule). Contained: the call ran, or failed otherwise (NotFound...), inside the caller's own area.
struct Tally {
  int cells = 0;
  int refused = 0;
  int contained = 0;
  std::map<std::string, int> by_op;
  void Add(const std::string& op, const Status& st) {
    ++cells;
    ++by_op[op];
    const bool refusal =
        st.code() == StatusCode::kInvalidArgument || st.code() == StatusCode::kPermissionDenied;
    (refusal ? refused : contained)++;
  }
  template <typename T>
  void Add(const std::string& op, const Result<T>& r) {
    Add(op, r.ok() ? Status::Ok() : r.status());
  }
};

// Relative keys that try to leave A's area for B's object `<area>/<B>/<date>/secret.csv`.
std::vector<std::string> EscapingKeys(const std::string& area, const std::string& b) {
  const std::string tail = b + "/" + kDate + "/secret.csv";
  return {
      "../" + tail,
      "../../" + area + "/" + tail,
      "/" + area + "/" + tail,
      kDate + "/../../" + tail,
      "./../" + tail,
      "..\\" + b + "\\" + kDate + "\\secret.csv",
      "..//" + tail,
      std::string("..\0/", 4) + tail,
      "\xEF\xBC\x8E\xEF\xBC\x8E/" + tail,  // fullwidth "..": a folder name, or refused
      "%2e%2e/" + tail,                    // URL-encoded: a literal name, never decoded
      "link/" + kDate + "/secret.csv",     // through a symlink planted in A's area
      ".sluice-tmp/../../" + tail,
      "../" + b + "-not/../" + tail,
  };
}

// The store back-ends of the matrix, by name: every one gets the same cells.
class IsolationMatrix : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "local") {
      auto s = store::OpenLocalStore(dir_ / "store");
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      store_ = std::move(*s);
    } else if (GetParam() == "memory") {
      store_ = store::NewMemoryStore();
    } else {
      s3_ = std::make_unique<testing::S3TestServer>(dir_ / "s3");
      ASSERT_EQ(s3_->Start(), "");
      testing::S3TestServer::UseCredentials();
      config::S3Config c;
      c.endpoint = s3_->endpoint();
      c.path_style = true;
      auto s = store::OpenS3Store(std::string("s3://") + testing::kS3Bucket + "/matrix", c);
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      store_ = std::move(*s);
    }
    for (const auto& p : kPartners) {
      for (const auto& area : kAreas) {
        ASSERT_TRUE(
            store_->Put(area + "/" + p + "/" + kDate + "/secret.csv", Secret(p, area)).ok());
      }
    }
  }

  // B's objects are all still there, unchanged.
  void ExpectIntact(const std::string& b, const std::string& cell) {
    for (const auto& area : kAreas) {
      auto got = store_->Get(area + "/" + b + "/" + kDate + "/secret.csv");
      ASSERT_TRUE(got.ok()) << cell << ": " << b << "'s object in " << area << " is gone";
      ASSERT_EQ(*got, Secret(b, area))
          << cell << ": " << b << "'s object in " << area << " was changed";
    }
  }

  // Requests the S3 store has sent so far (-1 for the other stores).
  int64_t Requests() const { return store::S3RequestCount(*store_); }

  // After a cell that may write or delete: B's objects are checked unchanged. On S3 a refused
  // cell is checked to have sent no request at all instead (the 4 reads per cell would take
  // minutes over HTTP); B's objects are read back after each key block there.
  void AfterMutation(const std::string& b, const std::string& cell, const Status& st,
                     int64_t sent_before) {
    const bool refused =
        st.code() == StatusCode::kInvalidArgument || st.code() == StatusCode::kPermissionDenied;
    if (sent_before >= 0 && refused) {
      ASSERT_EQ(Requests(), sent_before) << cell << ": refused, yet a request was sent";
      return;
    }
    ExpectIntact(b, cell);
  }

  TempDir dir_;
  std::unique_ptr<testing::S3TestServer> s3_;  // the S3 endpoint, for the "s3" row
  std::unique_ptr<store::ObjectStore> store_;
};

TEST_P(IsolationMatrix, APartnersStoreHandleNeverReachesAnotherPartnersObjects) {
  Tally t;
  const bool local = GetParam() == "local";
  for (const auto& a : kPartners) {
    // A symlink in A's raw area pointing at the whole store (as a bad extract might leave); the
    // other stores have no links, and "link/..." is a plain key in A's own area there.
    if (local) {
      std::filesystem::create_directories(dir_ / "store" / "raw" / a);
      std::filesystem::create_symlink(dir_ / "store" / "raw", dir_ / "store" / "raw" / a / "link");
    }
    store::PartnerStore ps(store_.get(), a);
    for (const auto& b : kPartners) {
      if (a == b) continue;
      for (const auto& area : kAreas) {
        for (const std::string& key : EscapingKeys(area, b)) {
          const std::string cell = a + " -> " + b + " " + area + " \"" + key + "\"";
          auto leaked = [&](const std::string& text) {
            return text.find("secret of " + b) != std::string::npos;
          };
          {  // read
            auto in = ps.Open(area, key);
            if (in.ok()) {
              std::string data(4096, '\0');
              auto n = (*in)->Read(data.data(), data.size());
              if (n.ok()) {
                ASSERT_FALSE(leaked(data.substr(0, *n))) << "read " << cell;
              }
            }
            t.Add("read", in);
          }
          {  // head
            auto h = ps.Head(area, key);
            if (h.ok()) {
              ASSERT_EQ(h->key.find("/" + b + "/"), std::string::npos) << "head " << cell;
            }
            t.Add("head", h);
          }
          {  // write
            const int64_t sent = Requests();
            auto out = ps.Create(area, key);
            Status st = out.ok() ? Status::Ok() : out.status();
            if (out.ok()) {
              st = (*out)->Write("overwritten by " + a);
              if (st.ok()) st = (*out)->Commit();
            }
            t.Add("write", st);
            AfterMutation(b, "write " + cell, st, sent);
          }
          {  // list (the key as a prefix)
            auto l = ps.List(area, key);
            if (l.ok()) {
              for (const auto& o : *l) {
                ASSERT_EQ(o.key.rfind(area + "/" + a + "/", 0), 0u)
                    << "list " << cell << ": " << o.key;
              }
            }
            t.Add("list", l);
          }
          {  // list folders
            std::string prefix = key.ends_with("/") ? key : key + "/";
            auto l = ps.ListFolders(area, prefix);
            t.Add("list_folders", l);
          }
          {  // delete
            const int64_t sent = Requests();
            Status st = ps.Delete(area, key);
            t.Add("delete", st);
            AfterMutation(b, "delete " + cell, st, sent);
          }
          {  // delete everything under the key as a folder
            const int64_t sent = Requests();
            Status st = ps.DeletePrefix(area, key.ends_with("/") ? key : key + "/");
            t.Add("delete_prefix", st);
            AfterMutation(b, "delete_prefix " + cell, st, sent);
          }
          {  // publish a staging folder over B's folder
            const int64_t sent = Requests();
            Status st = ps.PublishPrefix(area, "staging/", key + "/");
            t.Add("publish", st);
            AfterMutation(b, "publish " + cell, st, sent);
          }
        }
        ExpectIntact(b, a + " -> " + b + " " + area);
        // Areas that name B's area themselves.
        for (const std::string& bad_area : std::vector<std::string>{
                 area + "/" + b, "../" + area, area + "/../" + area + "/" + b, area + "/", ""}) {
          auto in = ps.Open(bad_area, kDate + "/secret.csv");
          t.Add("read (crafted area)", in);
          ASSERT_FALSE(in.ok()) << a << " opened area \"" << bad_area << "\"";
          Status st = ps.Delete(bad_area, kDate + "/secret.csv");
          t.Add("delete (crafted area)", st);
          ASSERT_FALSE(st.ok());
          auto l = ps.List(bad_area, "");
          t.Add("list (crafted area)", l);
          ASSERT_FALSE(l.ok());
        }
      }
    }
    // A's own listing never includes a partner whose id A's is a prefix of ("acme" vs "acme-2").
    for (const auto& area : kAreas) {
      auto l = ps.List(area, "");
      ASSERT_TRUE(l.ok()) << l.status().ToString();
      for (const auto& o : *l) ASSERT_EQ(o.key.rfind(area + "/" + a + "/", 0), 0u) << o.key;
    }
    if (local) std::filesystem::remove(dir_ / "store" / "raw" / a / "link");
  }
  // Handles made for partner ids that are not ids: every operation refused.
  for (const std::string& id :
       {std::string("../globex"), std::string("acme/../globex"), std::string(""),
        std::string("ACME"), std::string("acme\n"), std::string("acme/"), std::string("."),
        std::string(".."), std::string("-acme"), std::string("globex\0", 7), std::string("*"),
        std::string(64, 'a')}) {
    store::PartnerStore ps(store_.get(), id);
    for (const auto& area : kAreas) {
      auto in = ps.Open(area, kDate + "/secret.csv");
      t.Add("read (crafted partner id)", in);
      ASSERT_FALSE(in.ok()) << "partner id \"" << id << "\"";
      auto out = ps.Create(area, kDate + "/x.csv");
      t.Add("write (crafted partner id)", out);
      ASSERT_FALSE(out.ok()) << "partner id \"" << id << "\"";
      auto l = ps.List(area, "");
      t.Add("list (crafted partner id)", l);
      ASSERT_FALSE(l.ok()) << "partner id \"" << id << "\"";
      Status st = ps.DeletePrefix(area, "");
      t.Add("delete (crafted partner id)", st);
      ASSERT_FALSE(st.ok()) << "partner id \"" << id << "\"";
    }
  }
  for (const auto& b : kPartners) ExpectIntact(b, "at the end");
  std::printf(
      "isolation matrix (%s store): %d cells, %d refused, %d contained in the "
      "caller's own area, 0 reached another partner\n",
      GetParam().c_str(), t.cells, t.refused, t.contained);
  for (const auto& [op, n] : t.by_op) std::printf("  %-28s %d\n", op.c_str(), n);
  EXPECT_EQ(t.cells, t.refused + t.contained);
  EXPECT_GT(t.refused, 0);
}

INSTANTIATE_TEST_SUITE_P(Stores, IsolationMatrix,
                         ::testing::Values(std::string("local"), std::string("memory"),
                                           std::string("s3")),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           return param.param;
                         });

// ---- the SQLite warehouse ----------------------------------------------------------------

class WarehouseIsolation : public ::testing::Test {
 protected:
  std::unique_ptr<warehouse::Warehouse> Open(const std::string& partner) {
    auto wh = warehouse::OpenWarehouse("sqlite://./warehouse", dir_.path(), partner);
    EXPECT_TRUE(wh.ok()) << wh.status().ToString();
    return wh.ok() ? std::move(*wh) : nullptr;
  }
  TempDir dir_;
};

TEST_F(WarehouseIsolation, APartnersWarehouseNeverReadsOrWritesAnotherPartnersDatabase) {
  Tally t;
  for (const auto& p : kPartners) {
    auto wh = Open(p);
    ASSERT_NE(wh, nullptr);
    ASSERT_TRUE(wh->Execute("CREATE TABLE orders(order_id INTEGER PRIMARY KEY, who TEXT);"
                            "INSERT INTO orders VALUES (1, " +
                            tasks::SqlLiteral("secret of " + p) + ");")
                    .ok());
  }
  auto intact = [&](const std::string& b, const std::string& cell) {
    auto wh = Open(b);
    ASSERT_NE(wh, nullptr);
    auto r = wh->Query("SELECT who FROM orders");
    ASSERT_TRUE(r.ok()) << cell << ": " << r.status().ToString();
    ASSERT_EQ(r->rows.size(), 1u) << cell;
    ASSERT_EQ(*r->rows[0][0], "secret of " + b) << cell;
  };
  for (const auto& a : kPartners) {
    auto wh = Open(a);
    ASSERT_NE(wh, nullptr);
    for (const auto& b : kPartners) {
      if (a == b) continue;
      const std::string file = (dir_.path() / "warehouse" / (b + ".db")).string();
      // Queries (checks, show, summaries) may only read, and only A's own database.
      for (const std::string& sql : std::vector<std::string>{
               "ATTACH DATABASE " + tasks::SqlLiteral(file) + " AS other",
               "SELECT * FROM other.orders",
               "SELECT 1; ATTACH DATABASE " + tasks::SqlLiteral(file) + " AS other",
               "VACUUM INTO " + tasks::SqlLiteral(file),
               "DELETE FROM orders",
               "PRAGMA writable_schema = 1",
               "WITH x AS (SELECT 1) SELECT * FROM x; DROP TABLE orders",
               "SELECT load_extension('/tmp/evil')",
               "SELECT fts3_tokenizer('simple')",
           }) {
        auto r = wh->Query(sql);
        t.Add("query", r);
        ASSERT_FALSE(r.ok()) << a << " ran \"" << sql << "\"";
      }
      // The sql builtin (Execute) may write, but only A's own tables: statements that reach
      // another file, change pragmas or leave the builtin's transaction are refused, and the
      // transaction is rolled back (A's own table unchanged by the refused batch).
      const std::string other = tasks::SqlLiteral(file);
      for (const std::string& sql : std::vector<std::string>{
               "ATTACH DATABASE " + other + " AS other",
               "ATTACH DATABASE " + other + " AS other; DELETE FROM other.orders",
               "DELETE FROM orders; ATTACH DATABASE " + other + " AS other",
               "VACUUM INTO " + other,
               "COMMIT; ATTACH DATABASE " + other + " AS other",
               "SAVEPOINT s; RELEASE s",
               "PRAGMA writable_schema = 1",
               "PRAGMA journal_mode = DELETE",
               "SELECT load_extension('/tmp/evil')",
               "SELECT fts3_tokenizer('simple')",
           }) {
        Status st = wh->Execute(sql);
        t.Add("sql builtin", st);
        ASSERT_FALSE(st.ok()) << a << " executed \"" << sql << "\"";
        ASSERT_TRUE(st.code() == StatusCode::kPermissionDenied ||
                    st.code() == StatusCode::kInvalidArgument)
            << sql << ": " << st.ToString();
      }
      auto own = wh->Query("SELECT who FROM orders");
      ASSERT_TRUE(own.ok());
      ASSERT_EQ(own->rows.size(), 1u);
      EXPECT_EQ(*own->rows[0][0], "secret of " + a) << "A sees its own rows only";
      t.Add("query (own table)", own);
      intact(b, a + " -> " + b);
    }
    // What the builtin is for still works in A's own database.
    ASSERT_TRUE(wh->Execute("CREATE TABLE scratch(x INTEGER); INSERT INTO scratch VALUES (7);"
                            "DROP TABLE scratch")
                    .ok());
  }
  // Warehouses opened for partner ids that are not ids: refused before any file is touched.
  for (const std::string& id :
       {std::string("../globex"), std::string("acme/../globex"), std::string(""),
        std::string("/tmp/x"), std::string("acme.db"), std::string("ACME"),
        std::string("globex\0", 7), std::string("acme\n"), std::string("..")}) {
    auto wh = warehouse::OpenWarehouse("sqlite://./warehouse", dir_.path(), id);
    t.Add("open (crafted partner id)", wh);
    ASSERT_FALSE(wh.ok()) << "partner id \"" << id << "\"";
  }
  // Values a partner controls reach SQL only as literals: each reads back as itself, and
  // whatever SQL it holds never runs.
  auto wh = Open("acme");
  for (const std::string& v :
       {std::string("x'); DROP TABLE orders; --"), std::string("' OR '1'='1"),
        std::string("'||(SELECT who FROM orders)||'"), std::string("\\'; DELETE FROM orders;"),
        std::string("a\0b", 3), std::string("\xE2\x80\x99; DROP TABLE orders; --")}) {
    auto r = wh->Query("SELECT " + tasks::SqlLiteral(v));
    t.Add("sql literal", r);
    if (v.find('\0') != std::string::npos) {
      // SQLite ends the statement's text at a NUL: the literal is cut short and the query
      // refused, so nothing after it runs either.
      EXPECT_FALSE(r.ok());
      continue;
    }
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->rows.size(), 1u);
    EXPECT_EQ(*r->rows[0][0], v) << "a value reads back as itself";
  }
  for (const auto& b : kPartners) intact(b, "at the end");
  std::printf("isolation matrix (SQLite warehouse): %d cells, %d refused, %d contained\n", t.cells,
              t.refused, t.contained);
  for (const auto& [op, n] : t.by_op) std::printf("  %-28s %d\n", op.c_str(), n);
}

}  // namespace
}  // namespace sluice
