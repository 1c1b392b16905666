#include <gtest/gtest.h>

#include "config/pipeline_config.h"
#include "testing/pipeline_fixture.h"

namespace sluice::config {
namespace {

using sluice::testing::TempDir;

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override { sluice::testing::WriteSamplePipeline(dir_); }
  // Loads and returns the error text ("" when it loads).
  std::string Errors() {
    auto p = LoadPipeline(dir_.path());
    return p.ok() ? "" : p.status().message();
  }
  TempDir dir_;
};

TEST_F(PipelineTest, LoadsTheSamplePipeline) {
  auto p = LoadPipeline(dir_.path());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->settings.name, "test_pipeline");
  EXPECT_EQ(p->settings.parallelism, 2);
  ASSERT_EQ(p->workflow.tasks.size(), 3u);
  const TaskConfig* extract = p->workflow.Find("batch_extract");
  ASSERT_NE(extract, nullptr);
  EXPECT_TRUE(extract->for_each_partner);
  EXPECT_EQ(extract->max_retries, 2);
  EXPECT_EQ(extract->timeout_seconds, 600);
  EXPECT_EQ(p->workflow.Find("merge_orders")->depends_on,
            std::vector<std::string>{"batch_extract"});
  EXPECT_EQ(p->workflow.Find("merge_orders")->params.Get("table")->scalar(), "orders");
  ASSERT_EQ(p->partners.size(), 2u);
  const PartnerConfig& acme = p->partners.at("acme");
  EXPECT_EQ(*acme.ArchiveName(Date{2026, 11, 24}), "acme_20261124.tar.gz");
  EXPECT_EQ(acme.csv.null_values, (std::vector<std::string>{"", "NULL"}));
  const TableSchema& orders = acme.schemas.at("orders");
  EXPECT_EQ(orders.merge, MergeMode::kUpsert);
  EXPECT_EQ(orders.columns[1].type, ColumnType::kDecimal);
  EXPECT_EQ(orders.columns[1].precision, 12);
  EXPECT_EQ(orders.columns[1].scale, 2);
  EXPECT_EQ(orders.columns[0].aliases, std::vector<std::string>{"OrderID"});
  EXPECT_FALSE(orders.columns[0].nullable);
}

TEST_F(PipelineTest, BadYamlNamesFileAndLine) {
  dir_.Write("sluice.yaml", "name: x\nstore: [oops\n");
  EXPECT_NE(Errors().find("sluice.yaml:"), std::string::npos) << Errors();
}

TEST_F(PipelineTest, UnknownKeyInTaskSuggestsTheFix) {
  dir_.Write("workflow.yaml", std::string(sluice::testing::kWorkflowYaml) +
                                  "  - task_key: extra\n    builtin: sql\n    dependson: [x]\n");
  EXPECT_NE(Errors().find("workflow.yaml:18:5: unknown key \"dependson\" in task \"extra\" "
                          "(did you mean \"depends_on\"?)"),
            std::string::npos)
      << Errors();
}

TEST_F(PipelineTest, ATasksResourcesForAClusterExecutorAreReadAndBadOnesNamedAtTheirLine) {
  dir_.Write("workflow.yaml",
             std::string(sluice::testing::kWorkflowYaml) +
                 "  - task_key: big\n    command: 'true'\n"
                 "    resources: {cpus: 4, memory: 6GiB, time_limit_seconds: 90}\n");
  auto p = LoadPipeline(dir_.path());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const TaskConfig* big = p->workflow.Find("big");
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(big->resources.cpus, 4);
  EXPECT_EQ(big->resources.memory_bytes, int64_t{6} << 30);
  EXPECT_EQ(big->resources.time_limit_seconds, 90);
  EXPECT_EQ(p->workflow.Find("batch_extract")->resources.cpus, 0) << "none: the executor's default";
  dir_.Write("workflow.yaml", std::string(sluice::testing::kWorkflowYaml) +
                                  "  - task_key: big\n    command: 'true'\n"
                                  "    resources:\n      cpus: 0\n      memory: 10\n"
                                  "      time: 90\n");
  std::string e = Errors();
  EXPECT_NE(e.find("workflow.yaml:19:"), std::string::npos) << e;
  EXPECT_NE(e.find("\"cpus\""), std::string::npos) << e;
  EXPECT_NE(e.find("workflow.yaml:20:"), std::string::npos) << e;
  EXPECT_NE(e.find("\"memory\" must be at least 1MiB"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown key \"time\" in task \"big\" resources"), std::string::npos) << e;
}

TEST_F(PipelineTest, BuiltinsThatCannotRunAsConfiguredAreValidationErrors) {
  dir_.Write("workflow.yaml", std::string(sluice::testing::kWorkflowYaml) +
                                  "  - task_key: merge_all\n    builtin: merge\n"
                                  "    params: {table: orders}\n"
                                  "  - task_key: check_typo\n    builtin: check\n"
                                  "    params: {table: ordrs}\n"
                                  "  - task_key: wait\n    builtin: wait_for_sources\n"
                                  "    params: {poke_interval_seconds: 0, timout_seconds: 5}\n");
  std::string e = Errors();
  EXPECT_NE(e.find("task \"merge_all\": builtin merge works on one partner at a time; add "
                   "\"for_each: partner\""),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("task \"check_typo\": no partner has table \"ordrs\""), std::string::npos) << e;
  EXPECT_NE(e.find("poke_interval_seconds"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown key \"timout_seconds\" in task \"wait\" params (did you mean "
                   "\"timeout_seconds\"?)"),
            std::string::npos)
      << e;
}

TEST_F(PipelineTest, WrongTypeNamesFileAndLine) {
  dir_.Write("sluice.yaml", "name: x\nparallelism: lots\n");
  EXPECT_NE(Errors().find("sluice.yaml:2:14: sluice.yaml: \"parallelism\" must be an integer"),
            std::string::npos)
      << Errors();
}

TEST(SqliteWarehouseUrl, ParsesTheFolderAndTheJournalOption) {
  auto url = ParseSqliteWarehouseUrl("sqlite:///abs/wh?journal=wal");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->dir, "/abs/wh");
  EXPECT_EQ(url->journal, SqliteJournal::kWal);
  EXPECT_EQ(ParseSqliteWarehouseUrl("sqlite://wh")->journal, SqliteJournal::kWal);
  EXPECT_EQ(ParseSqliteWarehouseUrl("sqlite://wh?journal=rollback")->journal,
            SqliteJournal::kRollback);
  EXPECT_FALSE(ParseSqliteWarehouseUrl("sqlite://?journal=wal").ok());
  EXPECT_NE(ParseSqliteWarehouseUrl("sqlite://wh?journal=off")
                .status()
                .message()
                .find("journal=off is not a journal mode; use journal=wal"),
            std::string::npos);
}

// The back-end registries live above config; LoadPipeline runs their check through a hook so
// its errors come with every other one, at the key's file:line.
void FakeBackendCheck(const PipelineSettings& settings, Diagnostics* diags) {
  if (settings.store != "file://./data") {
    diags->Error(settings.store_loc, "store checked: " + settings.store);
  }
  if (settings.executor != "local") {
    diags->Error(settings.executor_loc, "executor checked: " + settings.executor);
  }
}

TEST_F(PipelineTest, SettingsCheckHookReportsAtTheKeysLineWithTheOtherErrors) {
  dir_.Write(
      "sluice.yaml",
      "name: x\nparallelism: many\nstore: ftp://h/x\nexecutor: {type: slurm, partition: etl}\n");
  auto p = LoadPipeline(dir_.path(), {.check_settings = FakeBackendCheck});
  ASSERT_FALSE(p.ok());
  const std::string errors = p.status().message();
  EXPECT_NE(errors.find("sluice.yaml:3:1: store checked: ftp://h/x"), std::string::npos) << errors;
  EXPECT_NE(errors.find("sluice.yaml:4:1: executor checked: slurm"), std::string::npos) << errors;
  EXPECT_NE(errors.find("parallelism"), std::string::npos) << errors;
  // Without the hook, config alone has nothing against these URLs.
  dir_.Write("sluice.yaml", "name: x\nstore: ftp://h/x\nexecutor: local\n");
  EXPECT_EQ(Errors(), "");
}

TEST_F(PipelineTest, ExecutorIsANameOrAMapWithAType) {
  dir_.Write("sluice.yaml", "name: x\nexecutor: {type: slurm, partition: etl}\n");
  auto p = LoadPipeline(dir_.path());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->settings.executor, "slurm");
  ASSERT_NE(p->settings.executor_options.Get("partition"), nullptr);
  EXPECT_EQ(p->settings.executor_options.Get("partition")->scalar(), "etl");
  dir_.Write("sluice.yaml", "name: x\nexecutor: {partition: etl}\n");
  EXPECT_NE(Errors().find("missing required key \"type\" in sluice.yaml executor"),
            std::string::npos)
      << Errors();
  dir_.Write("sluice.yaml", "name: x\nexecutor: [local]\n");
  EXPECT_NE(Errors().find("\"executor\" must be a name (local) or a map with \"type\""),
            std::string::npos)
      << Errors();
}

TEST_F(PipelineTest, CompleteGetsOneErrorForWhatIsWrong) {
  auto with = [&](const std::string& complete) {
    std::string yaml = sluice::testing::PartnerYaml("acme");
    const std::string given = "complete: {marker: _SUCCESS}";
    yaml.replace(yaml.find(given), given.size(), "complete: " + complete);
    dir_.Write("partners/acme/partner.yaml", yaml);
    return Errors();
  };
  std::string e = with("{stable_seconds: -4}");
  EXPECT_NE(e.find("stable_seconds"), std::string::npos) << e;
  EXPECT_EQ(e.find("set"), std::string::npos) << e;
  e = with("{marker: \"\"}");
  EXPECT_NE(e.find("\"marker\" is empty; name the file the partner writes last"), std::string::npos)
      << e;
  e = with("{markr: _SUCCESS}");
  EXPECT_NE(e.find("markr"), std::string::npos) << e;
  EXPECT_EQ(e.find("set one"), std::string::npos) << e;
  e = with("{marker: _SUCCESS, stable_seconds: 30}");
  EXPECT_NE(e.find("set only one of \"marker\" and \"stable_seconds\""), std::string::npos) << e;
  e = with("{}");
  EXPECT_NE(e.find("set one of \"marker\" and \"stable_seconds\""), std::string::npos) << e;
  EXPECT_EQ(with("{marker: _SUCCESS}"), "");
  EXPECT_EQ(with("{stable_seconds: 30}"), "");
}

TEST_F(PipelineTest, MissingRequiredFieldNamesFileAndLine) {
  dir_.Write("partners/acme/partner.yaml", "id: acme\ntables:\n  orders: {file: o.csv}\n");
  EXPECT_NE(Errors().find("partners/acme/partner.yaml:1:1: missing required key \"archive\""),
            std::string::npos)
      << Errors();
}

TEST_F(PipelineTest, SchemaErrorsNameTheJsonLine) {
  dir_.Write(
      "partners/globex/schemas/orders.json",
      "{\"table\": \"orders\",\n \"columns\": [\n  {\"name\": \"id\", \"type\": \"int46\"}\n ]}\n");
  EXPECT_NE(Errors().find("partners/globex/schemas/orders.json:3:"), std::string::npos) << Errors();
  EXPECT_NE(Errors().find("unknown type \"int46\" (did you mean \"int64\"?)"), std::string::npos)
      << Errors();
}

TEST_F(PipelineTest, CycleIsNamed) {
  dir_.Write("workflow.yaml", R"(tasks:
  - {task_key: a, command: "true", depends_on: [c]}
  - {task_key: b, command: "true", depends_on: [a]}
  - {task_key: c, command: "true", depends_on: [b]}
)");
  std::string e = Errors();
  EXPECT_NE(e.find("dependency cycle"), std::string::npos) << e;
  for (const char* k : {"a", "b", "c"}) EXPECT_NE(e.find(k), std::string::npos) << e;
}

TEST_F(PipelineTest, TaskShapeErrors) {
  dir_.Write("workflow.yaml", R"(tasks:
  - {task_key: a, command: "true", builtin: extract}
  - {task_key: b}
  - {task_key: c, builtin: extrakt}
  - {task_key: c, command: "true", depends_on: [zz]}
  - {task_key: d, command: "true", run_if: SOMETIMES}
)");
  std::string e = Errors();
  EXPECT_NE(e.find("workflow.yaml:2:5: task \"a\": set only one of"), std::string::npos) << e;
  EXPECT_NE(e.find("workflow.yaml:3:5: task \"b\": set one of \"builtin\""), std::string::npos)
      << e;
  EXPECT_NE(e.find("unknown builtin \"extrakt\" (did you mean \"extract\"?)"), std::string::npos)
      << e;
  EXPECT_NE(e.find("duplicate task_key \"c\""), std::string::npos) << e;
  EXPECT_NE(e.find("depends on unknown task \"zz\""), std::string::npos) << e;
  EXPECT_NE(e.find("unknown run_if \"SOMETIMES\""), std::string::npos) << e;
}

TEST_F(PipelineTest, DatabricksKeysAreIgnoredWithAWarning) {
  dir_.Write("workflow.yaml", R"(name: job
job_clusters: []
tasks:
  - task_key: a
    command: "true"
    notebook_task: {notebook_path: /x}
    job_cluster_key: main
)");
  Diagnostics diags;
  auto p = LoadPipeline(dir_.path(), {.diagnostics = &diags});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  int warnings = 0;
  for (const auto& d : diags.items()) warnings += d.severity == Diagnostic::Severity::kWarning;
  EXPECT_EQ(warnings, 3);
}

TEST_F(PipelineTest, ATableNoMergeTaskLoadsIsAWarningUntilACatchAllMergeExists) {
  dir_.Write("partners/acme/partner.yaml",
             sluice::testing::PartnerYaml("acme") + "  refunds: {file: \"refunds*.csv\"}\n");
  std::string refunds = sluice::testing::kOrdersSchema;
  refunds.replace(refunds.find("\"orders\""), 8, "\"refunds\"");
  dir_.Write("partners/acme/schemas/refunds.json", refunds);
  auto warnings = [&]() {
    Diagnostics diags;
    auto p = LoadPipeline(dir_.path(), {.diagnostics = &diags});
    EXPECT_TRUE(p.ok()) << p.status().ToString();  // a warning: the other partners still run
    std::vector<std::string> out;
    for (const auto& d : diags.items()) {
      if (d.severity == Diagnostic::Severity::kWarning) out.push_back(d.ToString());
    }
    return out;
  };
  auto w = warnings();
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("partners/acme/partner.yaml:8:3"), std::string::npos) << w[0];
  EXPECT_NE(w[0].find("table \"refunds\" of partner acme is merged by no task of workflow.yaml "
                      "(its merge tasks name orders)"),
            std::string::npos)
      << w[0];
  EXPECT_NE(w[0].find("params: {table: refunds}"), std::string::npos) << w[0];
  auto p = LoadPipeline(dir_.path());
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(TablesNeverMerged(p->workflow, p->partners.at("acme")),
            std::vector<std::string>{"refunds"});
  EXPECT_TRUE(TablesNeverMerged(p->workflow, p->partners.at("globex")).empty());

  dir_.Write("workflow.yaml", std::string(sluice::testing::kWorkflowYaml) +
                                  "  - task_key: merge_rest\n    builtin: merge\n"
                                  "    for_each: partner\n    params: {table: \"*\"}\n");
  EXPECT_TRUE(warnings().empty());
  p = LoadPipeline(dir_.path());
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(TablesNeverMerged(p->workflow, p->partners.at("acme")).empty());
  EXPECT_EQ(TablesNoMergeTaskNames(p->workflow, p->partners.at("acme")),
            std::vector<std::string>{"refunds"});
}

TEST_F(PipelineTest, ATablePatternThatTakesALaterTablesFilesIsAWarning) {
  // "orders*.csv" listed first would take orders_extra.csv too: orders_extra never gets a file.
  auto warnings = [&](const std::string& tables) {
    std::string yaml = sluice::testing::PartnerYaml("acme");
    yaml.replace(yaml.find("tables:"), std::string::npos, tables);
    dir_.Write("partners/acme/partner.yaml", yaml);
    std::string extra = sluice::testing::kOrdersSchema;
    extra.replace(extra.find("\"orders\""), 8, "\"orders_extra\"");
    dir_.Write("partners/acme/schemas/orders_extra.json", extra);
    Diagnostics diags;
    auto p = LoadPipeline(dir_.path(), {.diagnostics = &diags});
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    std::vector<std::string> out;
    for (const auto& d : diags.items()) {
      const std::string text = d.ToString();
      if (d.severity == Diagnostic::Severity::kWarning &&
          text.find("would get no file") != std::string::npos) {
        out.push_back(text);
      }
    }
    return out;
  };
  auto w = warnings(
      "tables:\n  orders: {file: \"orders*.csv\"}\n  orders_extra: {file: "
      "\"orders_extra*.csv\"}\n");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("table \"orders_extra\" would get no file named like \"orders_extra.csv\": "
                      "table \"orders\", listed before it, has the pattern \"orders*.csv\""),
            std::string::npos)
      << w[0];
  EXPECT_NE(w[0].find("list \"orders_extra\" first"), std::string::npos) << w[0];
  // The specific pattern first, the general one after: each table gets its own files.
  EXPECT_TRUE(warnings("tables:\n  orders_extra: {file: \"orders_extra*.csv\"}\n  orders: {file: "
                       "\"orders*.csv\"}\n")
                  .empty());
  EXPECT_TRUE(warnings("tables:\n  orders: {file: \"orders_2*.csv\"}\n  orders_extra: {file: "
                       "\"orders_extra*.csv\"}\n")
                  .empty());
}

TEST_F(PipelineTest, ASummaryOrCheckThatDoesNotWaitForAMergeIsAWarning) {
  // README "Add a partner": a new merge task, but merge_summary and post_merge_check were not
  // told to wait for it; they could run first and report the day without its tables.
  auto warnings = [&](const std::string& summary_deps) {
    dir_.Write("workflow.yaml",
               std::string(sluice::testing::kWorkflowYaml) +
                   "  - task_key: merge_rest\n    depends_on: [batch_extract]\n"
                   "    builtin: merge\n    for_each: partner\n"
                   "    params: {table: \"*\"}\n"
                   "  - task_key: merge_summary\n    depends_on: " +
                   summary_deps +
                   "\n    builtin: summary\n"
                   "  - task_key: post_merge_check\n    depends_on: [merge_summary]\n"
                   "    builtin: check\n    for_each: partner\n");
    Diagnostics diags;
    auto p = LoadPipeline(dir_.path(), {.diagnostics = &diags});
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    std::vector<std::string> out;
    for (const auto& d : diags.items()) {
      if (d.severity == Diagnostic::Severity::kWarning) out.push_back(d.ToString());
    }
    return out;
  };
  auto w = warnings("[merge_orders]");
  ASSERT_EQ(w.size(), 2u) << ::testing::PrintToString(w);
  EXPECT_NE(w[0].find("task \"merge_summary\" (builtin summary) does not depend on merge task "
                      "\"merge_rest\", so it may run before that merge ends and miss its tables; "
                      "add \"merge_rest\" to its depends_on"),
            std::string::npos)
      << w[0];
  EXPECT_NE(w[1].find("task \"post_merge_check\" (builtin check)"), std::string::npos) << w[1];
  // Waiting for both (the check through the summary) is enough.
  EXPECT_TRUE(warnings("[merge_orders, merge_rest]").empty());
}

TEST_F(PipelineTest, BuiltinParamsAreCheckedLikeEveryOtherKey) {
  auto with = [&](const std::string& task) {
    dir_.Write("workflow.yaml", std::string(sluice::testing::kWorkflowYaml) + task);
    return Errors();
  };
  // A misspelt key used to be dropped silently: this check would have checked every table.
  std::string e = with(
      "  - task_key: chk\n    depends_on: [merge_orders]\n    builtin: check\n"
      "    for_each: partner\n    params: {tabel: orders}\n");
  EXPECT_NE(e.find("workflow.yaml:20:14:"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown key \"tabel\""), std::string::npos) << e;
  EXPECT_NE(e.find("(did you mean \"table\"?)"), std::string::npos) << e;
  e = with("  - task_key: s\n    builtin: summary\n    params: {table: orders}\n");
  EXPECT_NE(e.find("unknown key \"table\""), std::string::npos) << e;
  e = with("  - task_key: q\n    builtin: sql\n    params: {sql: \"SELECT 1\", file: x.sql}\n");
  EXPECT_NE(e.find("builtin sql needs exactly one of"), std::string::npos) << e;
  e = with("  - task_key: q\n    builtin: sql\n    params: {file: nosuch.sql}\n");
  EXPECT_NE(e.find("nosuch.sql does not exist"), std::string::npos) << e;
  dir_.Write("migrate.sql", "ALTER TABLE orders ADD COLUMN note TEXT;");
  EXPECT_EQ(with("  - task_key: q\n    builtin: sql\n    params: {file: migrate.sql}\n"), "");
}

TEST_F(PipelineTest, ConfigurationsThatWouldDoNothingAreCalledOut) {
  dir_.Write("sluice.yaml", std::string(sluice::testing::kSluiceYaml) +
                                "alerts:\n  - on: []\n    command: 'true'\n");
  EXPECT_NE(Errors().find("\"on\" lists no event"), std::string::npos) << Errors();
  dir_.Write("sluice.yaml", sluice::testing::kSluiceYaml);
  dir_.Write("workflow.yaml", "name: w\ntasks:\n  - task_key: a\n    command: ''\n");
  EXPECT_NE(Errors().find("\"command\" is empty"), std::string::npos) << Errors();
  dir_.Write("workflow.yaml", sluice::testing::kWorkflowYaml);
  for (const char* id : {"acme", "globex"}) {
    dir_.Write(std::string("partners/") + id + "/partner.yaml",
               sluice::testing::PartnerYaml(id) + "enabled: false\n");
  }
  Diagnostics diags;
  auto p = LoadPipeline(dir_.path(), {.diagnostics = &diags});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  bool warned = false;
  for (const auto& d : diags.items()) {
    warned |= d.ToString().find("every partner has enabled: false") != std::string::npos;
  }
  EXPECT_TRUE(warned);
}

TEST_F(PipelineTest, PartnerIdMustMatchFolderAndRule) {
  dir_.Write("partners/acme/partner.yaml", sluice::testing::PartnerYaml("Acme"));
  std::string e = Errors();
  EXPECT_NE(e.find("must match [a-z0-9][a-z0-9_-]{0,62}"), std::string::npos) << e;
  EXPECT_NE(e.find("must equal its folder name"), std::string::npos) << e;
}

TEST_F(PipelineTest, TableWithoutSchemaIsAnError) {
  std::filesystem::remove(dir_ / "partners/acme/schemas/orders.json");
  EXPECT_NE(Errors().find("table \"orders\" has no schema: add partners/acme/schemas/orders.json"),
            std::string::npos)
      << Errors();
}

TEST_F(PipelineTest, UpsertWithoutPrimaryKeyIsAnError) {
  dir_.Write(
      "partners/acme/schemas/orders.json",
      R"({"table": "orders", "columns": [{"name": "a", "type": "string"}], "merge": "upsert"})");
  EXPECT_NE(Errors().find("merge \"upsert\" needs a \"primary_key\""), std::string::npos)
      << Errors();
}

TEST_F(PipelineTest, AliasClashIsAnError) {
  dir_.Write("partners/acme/schemas/orders.json", R"({"table": "orders", "columns": [
    {"name": "a", "type": "string", "aliases": ["Code"]},
    {"name": "b", "type": "string", "aliases": ["code "]}]})");
  EXPECT_NE(Errors().find("is already used by column \"a\""), std::string::npos) << Errors();
  // The same folding as the header mapping: Greek capitals, accented capitals, a no-break space.
  for (const char* pair :
       {R"(["ΣΟΦΙΑ"]}, {"name": "b", "type": "string", "aliases": ["σοφια"])",
        R"(["Côte"]}, {"name": "b", "type": "string", "aliases": ["CÔTE"])",
        R"(["Ab\u00a0c"]}, {"name": "b", "type": "string", "aliases": ["ab c"])"}) {
    dir_.Write("partners/acme/schemas/orders.json", std::string(R"({"table": "orders", "columns": [
    {"name": "a", "type": "string", "aliases": )") + pair +
                                                        "}]}");
    EXPECT_NE(Errors().find("is already used by column \"a\""), std::string::npos)
        << pair << ": " << Errors();
  }
}

// A schema for table orders with `columns` and `extra` (more top-level keys) spliced in.
std::string OrdersSchema(const std::string& columns, const std::string& extra = "") {
  return "{\"table\": \"orders\",\n \"columns\": [\n" + columns + "\n ]" + extra + "}\n";
}

TEST_F(PipelineTest, TheColumnCountIsLeftToTheWarehouseBackEnd) {
  // config has no column limit of its own: the warehouse's TableRules decide
  // (tasks::CheckTableRules, tested in tests/tasks/load_pipeline_test.cpp).
  std::string cols;
  for (int i = 0; i < 2100; ++i) {
    cols += std::string(i ? ",\n" : "") + "  {\"name\": \"c" + std::to_string(i) +
            "\", \"type\": \"string\"}";
  }
  dir_.Write("partners/acme/schemas/orders.json", OrdersSchema(cols));
  EXPECT_EQ(Errors().find("columns;"), std::string::npos) << Errors().substr(0, 300);
}

TEST_F(PipelineTest, ColumnListedTwiceIsAnError) {
  dir_.Write("partners/acme/schemas/orders.json",
             OrdersSchema("  {\"name\": \"id\", \"type\": \"int64\"},\n"
                          "  {\"name\": \"amount\", \"type\": \"string\"},\n"
                          "  {\"name\": \"amount\", \"type\": \"int64\"}"));
  std::string e = Errors();
  EXPECT_NE(e.find("partners/acme/schemas/orders.json:5:"), std::string::npos) << e;
  EXPECT_NE(e.find("column \"amount\" is listed twice in \"columns\" (also at line 4): remove or "
                   "rename one"),
            std::string::npos)
      << e;
}

TEST_F(PipelineTest, ColumnListedTwiceInDifferentCaseIsAnError) {
  dir_.Write("partners/acme/schemas/orders.json",
             OrdersSchema("  {\"name\": \"id\", \"type\": \"int64\"},\n"
                          "  {\"name\": \"Amount\", \"type\": \"string\"},\n"
                          "  {\"name\": \"amount\", \"type\": \"int64\"}"));
  std::string e = Errors();
  EXPECT_NE(e.find("partners/acme/schemas/orders.json:5:"), std::string::npos) << e;
  EXPECT_NE(e.find("column \"amount\" is listed twice in \"columns\" (also at line 4 as "
                   "\"Amount\"); SQLite column names are case-insensitive"),
            std::string::npos)
      << e;
  // Reported once, not again as an alias clash.
  EXPECT_EQ(e.find("is already used by column"), std::string::npos) << e;
}

TEST_F(PipelineTest, TableNamesDifferingOnlyInCaseAreAnError) {
  dir_.Write("partners/acme/partner.yaml",
             "id: acme\narchive: \"acme_{date:%Y%m%d}.tar.gz\"\ntables:\n"
             "  orders: {file: \"orders*.csv\"}\n  Orders: {file: \"Orders*.csv\"}\n");
  dir_.Write("partners/acme/schemas/Orders.json",
             R"({"table": "Orders", "columns": [{"name": "a", "type": "string"}]})");
  std::string e = Errors();
  EXPECT_NE(e.find("partners/acme/partner.yaml:5:3: tables \"orders\" and \"Orders\" differ only "
                   "in case"),
            std::string::npos)
      << e;
}

TEST_F(PipelineTest, TableNamesTheMergeUsesAreReserved) {
  // SQLite's own reserved names are its TableRules (tests/tasks/load_pipeline_test.cpp).
  for (const char* name : {"sluice_rows_3", "Sluice_merges"}) {
    dir_.Write("partners/acme/partner.yaml",
               std::string("id: acme\narchive: \"acme_{date:%Y%m%d}.tar.gz\"\ntables:\n"
                           "  orders: {file: \"orders*.csv\"}\n  ") +
                   name + ": {file: \"s*.csv\"}\n");
    dir_.Write(std::string("partners/acme/schemas/") + name + ".json",
               std::string("{\"table\": \"") + name +
                   "\", \"columns\": [{\"name\": \"a\", \"type\": \"string\"}]}");
    std::string e = Errors();
    EXPECT_NE(e.find(std::string("partners/acme/partner.yaml:5:3: table name \"") + name +
                     "\" is reserved"),
              std::string::npos)
        << e;
    std::filesystem::remove(dir_ / (std::string("partners/acme/schemas/") + name + ".json"));
  }
}

TEST_F(PipelineTest, AMarkerIsAPlainFileName) {
  for (const char* marker : {"..", ".", "a/b", "a\\\\b"}) {
    std::string yaml = sluice::testing::PartnerYaml("acme");
    yaml.replace(yaml.find("{marker: _SUCCESS}"), 18, std::string("{marker: \"") + marker + "\"}");
    dir_.Write("partners/acme/partner.yaml", yaml);
    EXPECT_NE(Errors().find("\"marker\" must be a file name"), std::string::npos) << marker;
  }
}

TEST_F(PipelineTest, SqlCheckWithBlankQueryIsAnError) {
  for (const char* sql : {"", "   ", " \\n\\t "}) {
    dir_.Write("partners/acme/schemas/orders.json",
               OrdersSchema(
                   "  {\"name\": \"id\", \"type\": \"int64\"}",
                   ",\n \"checks\": [{\"type\": \"sql\", \"sql\": \"" + std::string(sql) + "\"}]"));
    std::string e = Errors();
    EXPECT_NE(e.find("partners/acme/schemas/orders.json:5:13: check \"sql\": needs \"sql\""),
              std::string::npos)
        << "sql \"" << sql << "\": " << e;
  }
}

TEST_F(PipelineTest, RowCountCheckWithMinAboveMaxIsAnError) {
  dir_.Write("partners/acme/schemas/orders.json",
             OrdersSchema("  {\"name\": \"id\", \"type\": \"int64\"}",
                          ",\n \"checks\": [{\"type\": \"row_count\", \"min\": 10, \"max\": 5}]"));
  std::string e = Errors();
  EXPECT_NE(e.find("partners/acme/schemas/orders.json:5:13: check \"row_count\": \"min\" (10) is "
                   "greater than \"max\" (5)"),
            std::string::npos)
      << e;
  dir_.Write("partners/acme/schemas/orders.json",
             OrdersSchema("  {\"name\": \"id\", \"type\": \"int64\"}",
                          ",\n \"checks\": [{\"type\": \"row_count\", \"min\": 5, \"max\": 5}]"));
  EXPECT_EQ(Errors(), "");
}

TEST_F(PipelineTest, OverlappingBoolSpellingsAreAnError) {
  dir_.Write("partners/acme/schemas/orders.json",
             OrdersSchema("  {\"name\": \"id\", \"type\": \"int64\"},\n"
                          "  {\"name\": \"vip\", \"type\": \"bool\", \"true_values\": [\"Oui\", "
                          "\"si\"], \"false_values\": [\"Non\", \"oui\"]}"));
  std::string e = Errors();
  EXPECT_NE(e.find("partners/acme/schemas/orders.json:4:"), std::string::npos) << e;
  EXPECT_NE(e.find("column \"vip\": \"oui\" is in both \"true_values\" and \"false_values\""),
            std::string::npos)
      << e;
  // A spelling that the built-in ones already read the other way is shadowed just the same.
  dir_.Write("partners/acme/schemas/orders.json",
             OrdersSchema("  {\"name\": \"id\", \"type\": \"int64\"},\n"
                          "  {\"name\": \"vip\", \"type\": \"bool\", \"true_values\": [\"0\"], "
                          "\"false_values\": [\"TRUE\"]}"));
  e = Errors();
  EXPECT_NE(e.find("column \"vip\": \"0\" in \"true_values\" is always read as false"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("column \"vip\": \"TRUE\" in \"false_values\" is always read as true"),
            std::string::npos)
      << e;
}

TEST_F(PipelineTest, NullValuesMustBeAList) {
  // A YAML null spelled NULL or ~ was dropped as if the key were absent.
  for (const char* value : {"NULL", "~", "null", "\"N/A\"", "N/A"}) {
    dir_.Write("partners/acme/partner.yaml",
               std::string("id: acme\narchive: \"acme_{date:%Y%m%d}.tar.gz\"\n"
                           "csv: {encoding: utf-8, null_values: ") +
                   value + "}\ntables:\n  orders: {file: \"orders*.csv\"}\n");
    std::string e = Errors();
    EXPECT_NE(e.find("partners/acme/partner.yaml:3:"), std::string::npos) << value << ": " << e;
    EXPECT_NE(e.find("\"null_values\" must be a list of strings"), std::string::npos)
        << value << ": " << e;
  }
  dir_.Write("partners/acme/partner.yaml",
             "id: acme\narchive: \"acme_{date:%Y%m%d}.tar.gz\"\n"
             "csv: {encoding: utf-8, null_values: [NULL, \"\"]}\n"
             "tables:\n  orders: {file: \"orders*.csv\"}\n");
  auto p = LoadPipeline(dir_.path());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->partners.at("acme").csv.null_values, (std::vector<std::string>{"NULL", ""}));
}

TEST_F(PipelineTest, EncodingIsOneOfTheSupportedOnes) {
  auto partner = [&](const std::string& encoding) {
    dir_.Write("partners/acme/partner.yaml",
               "id: acme\narchive: \"acme_{date:%Y%m%d}.tar.gz\"\n"
               "csv: {encoding: " +
                   encoding + "}\ntables:\n  orders: {file: \"orders*.csv\"}\n");
  };
  for (const char* ok : {"utf-8", "UTF_8", "utf-16", "utf-16le", "Shift_JIS", "windows-1252",
                         "CP1252", "iso-8859-15", "gbk", "big5", "euc-kr", "koi8-r"}) {
    partner(ok);
    EXPECT_EQ(Errors(), "") << ok;
  }
  partner("gb18030");
  std::string e = Errors();
  EXPECT_NE(e.find("partners/acme/partner.yaml:3:"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown encoding \"gb18030\""), std::string::npos) << e;
  EXPECT_NE(e.find("supported: utf-8, utf-16,"), std::string::npos) << e;
  partner("windows-1525");
  e = Errors();
  EXPECT_NE(e.find("(did you mean \"windows-125"), std::string::npos) << e;
}

TEST_F(PipelineTest, NumberSeparatorsAreCheckedAgainstTheColumnType) {
  dir_.Write(
      "partners/acme/schemas/orders.json",
      OrdersSchema("  {\"name\": \"id\", \"type\": \"int64\", \"thousands_separator\": \".\"},\n"
                   "  {\"name\": \"amount\", \"type\": \"decimal(12,2)\", "
                   "\"decimal_separator\": \",\", \"thousands_separator\": \"\u00a0\"},\n"
                   "  {\"name\": \"ratio\", \"type\": \"float64\", \"decimal_separator\": \",\"}"));
  ASSERT_EQ(Errors(), "");
  auto p = LoadPipeline(dir_.path());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const auto& cols = p->partners.at("acme").schemas.at("orders").columns;
  EXPECT_EQ(cols[0].thousands_separator, ".");
  EXPECT_EQ(cols[1].decimal_separator, ',');
  EXPECT_EQ(cols[1].thousands_separator, "\xC2\xA0");
  dir_.Write(
      "partners/acme/schemas/orders.json",
      OrdersSchema(
          "  {\"name\": \"id\", \"type\": \"int64\", \"decimal_separator\": \",\"},\n"
          "  {\"name\": \"a\", \"type\": \"float64\", \"decimal_separator\": \";\"},\n"
          "  {\"name\": \"b\", \"type\": \"float64\", \"thousands_separator\": \".\"},\n"
          "  {\"name\": \"c\", \"type\": \"string\", \"thousands_separator\": \",\"},\n"
          "  {\"name\": \"d\", \"type\": \"decimal(9,2)\", \"thousands_separator\": \"ab\"},\n"
          "  {\"name\": \"e\", \"type\": \"int64\", \"thousands_separator\": \"0\"}"));
  std::string e = Errors();
  for (const char* want :
       {"orders.json:3:", "\"decimal_separator\" applies only to float64 and decimal columns",
        "orders.json:4:", "\"decimal_separator\" must be \".\" or \",\"", "orders.json:5:",
        "\"thousands_separator\" \".\" is also the decimal mark", "orders.json:6:",
        "\"thousands_separator\" applies only to int64, float64 and decimal columns",
        "orders.json:7:", "\"thousands_separator\" \"ab\" must be one character",
        "orders.json:8:", "\"thousands_separator\" \"0\" must be one character"}) {
    EXPECT_NE(e.find(want), std::string::npos) << want << "\n" << e;
  }
}

TEST_F(PipelineTest, FormatIsOneOrAListOfFormats) {
  dir_.Write("partners/acme/schemas/orders.json",
             OrdersSchema("  {\"name\": \"id\", \"type\": \"int64\"},\n"
                          "  {\"name\": \"day\", \"type\": \"date\", \"format\": [\"%d.%m.%Y\", "
                          "\"%Y-%m-%d\"]},\n"
                          "  {\"name\": \"at\", \"type\": \"timestamp\", \"format\": \"%m/%d/%Y "
                          "%I:%M %p\"}"));
  ASSERT_EQ(Errors(), "");
  auto p = LoadPipeline(dir_.path());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const auto& cols = p->partners.at("acme").schemas.at("orders").columns;
  EXPECT_EQ(cols[1].formats, (std::vector<std::string>{"%d.%m.%Y", "%Y-%m-%d"}));
  EXPECT_EQ(cols[2].formats, (std::vector<std::string>{"%m/%d/%Y %I:%M %p"}));
  dir_.Write("partners/acme/schemas/orders.json",
             OrdersSchema("  {\"name\": \"id\", \"type\": \"int64\"},\n"
                          "  {\"name\": \"day\", \"type\": \"date\", \"format\": []},\n"
                          "  {\"name\": \"at\", \"type\": \"timestamp\", \"format\": [\"%Y\", "
                          "\"%I:%M\"]},\n"
                          "  {\"name\": \"n\", \"type\": \"int64\", \"format\": [\"%Y\"]},\n"
                          "  {\"name\": \"e\", \"type\": \"date\", \"format\": \"\"}"));
  std::string e = Errors();
  for (const char* want :
       {"orders.json:4:", "\"format\" lists no format",
        "orders.json:5:", "\"format\" \"%I:%M\" uses %I (12-hour clock) without %p (AM/PM)",
        "orders.json:6:", "\"format\" applies only to date and timestamp columns",
        "orders.json:7:", "\"format\" \"\" is empty"}) {
    EXPECT_NE(e.find(want), std::string::npos) << want << "\n" << e;
  }
}

TEST_F(PipelineTest, QuoteNoneTurnsQuotingOff) {
  for (const char* quote : {"none", "\"\"", "NONE"}) {
    dir_.Write("partners/acme/partner.yaml",
               std::string("id: acme\narchive: \"acme_{date:%Y%m%d}.tar.gz\"\n"
                           "csv: {delimiter: \"\\t\", quote: ") +
                   quote + "}\ntables:\n  orders: {file: \"orders*.tsv\"}\n");
    ASSERT_EQ(Errors(), "") << quote;
    auto p = LoadPipeline(dir_.path());
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_FALSE(p->partners.at("acme").csv.quoting) << quote;
    EXPECT_EQ(p->partners.at("acme").csv.delimiter, '\t');
  }
  dir_.Write("partners/acme/partner.yaml",
             "id: acme\narchive: \"acme_{date:%Y%m%d}.tar.gz\"\n"
             "csv: {quote: \"'\"}\ntables:\n  orders: {file: \"orders*.csv\"}\n");
  auto p = LoadPipeline(dir_.path());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(p->partners.at("acme").csv.quoting);
  EXPECT_EQ(p->partners.at("acme").csv.quote, '\'');
  dir_.Write("partners/acme/partner.yaml",
             "id: acme\narchive: \"acme_{date:%Y%m%d}.tar.gz\"\n"
             "csv: {quote: \"no\"}\ntables:\n  orders: {file: \"orders*.csv\"}\n");
  EXPECT_NE(Errors().find("\"quote\" must be one ASCII character"), std::string::npos);
}

// Found by fuzz/csv_tokenizer: a NUL delimiter split fields on the tokenizer's fast path and
// not on its general one, so rows depended on where reads fell. NUL is no delimiter or quote.
TEST_F(PipelineTest, NulIsNeitherADelimiterNorAQuote) {
  for (const char* key : {"delimiter", "quote"}) {
    dir_.Write("partners/acme/partner.yaml",
               std::string("id: acme\narchive: \"acme_{date:%Y%m%d}.tar.gz\"\ncsv: {") + key +
                   ": \"\\0\"}\ntables:\n  orders: {file: \"orders*.csv\"}\n");
    const std::string e = Errors();
    EXPECT_NE(e.find("partners/acme/partner.yaml:3:"), std::string::npos) << key << "\n" << e;
    EXPECT_NE(e.find("must be one ASCII character other than NUL, CR or LF"), std::string::npos)
        << key << "\n"
        << e;
  }
}

TEST_F(PipelineTest, SkipLinesIsASmallCount) {
  auto partner = [&](const std::string& csv) {
    dir_.Write("partners/acme/partner.yaml",
               "id: acme\narchive: \"acme_{date:%Y%m%d}.tar.gz\"\ncsv: " + csv +
                   "\ntables:\n  orders: {file: \"orders*.csv\"}\n");
  };
  partner("{skip_lines: 3}");
  ASSERT_EQ(Errors(), "");
  auto p = LoadPipeline(dir_.path());
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->partners.at("acme").csv.skip_lines, 3);
  partner("{skip_lines: -1}");
  EXPECT_NE(Errors().find("partners/acme/partner.yaml:3:"), std::string::npos);
  partner("{skip_lines: two}");
  EXPECT_NE(Errors().find("skip_lines"), std::string::npos);
}

TEST_F(PipelineTest, MaxRecordBytesIsASizeWithinBounds) {
  auto partner = [&](const std::string& csv) {
    dir_.Write("partners/acme/partner.yaml",
               "id: acme\narchive: \"acme_{date:%Y%m%d}.tar.gz\"\ncsv: " + csv +
                   "\ntables:\n  orders: {file: \"orders*.csv\"}\n");
  };
  auto p = LoadPipeline(dir_.path());
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->partners.at("acme").csv.max_record_bytes, int64_t{16} << 20);  // the default
  partner("{max_record_bytes: 256MiB}");
  ASSERT_EQ(Errors(), "");
  p = LoadPipeline(dir_.path());
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->partners.at("acme").csv.max_record_bytes, int64_t{256} << 20);
  partner("{max_record_bytes: 2GiB}");
  EXPECT_NE(Errors().find("\"max_record_bytes\" must be between 1KiB and 1GiB"), std::string::npos);
  partner("{max_record_bytes: 12}");
  EXPECT_NE(Errors().find("partners/acme/partner.yaml:3:"), std::string::npos);
}

TEST_F(PipelineTest, SqlSpellingsOfTypesAreRead) {
  dir_.Write("partners/acme/schemas/orders.json",
             OrdersSchema("  {\"name\": \"id\", \"type\": \"BIGINT\"},\n"
                          "  {\"name\": \"a\", \"type\": \"integer\"},\n"
                          "  {\"name\": \"b\", \"type\": \"varchar(20)\"},\n"
                          "  {\"name\": \"c\", \"type\": \"text\"},\n"
                          "  {\"name\": \"d\", \"type\": \"numeric(10, 3)\"},\n"
                          "  {\"name\": \"e\", \"type\": \"double\"},\n"
                          "  {\"name\": \"f\", \"type\": \"boolean\"},\n"
                          "  {\"name\": \"g\", \"type\": \"datetime\"}"));
  ASSERT_EQ(Errors(), "");
  auto p = LoadPipeline(dir_.path());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  std::vector<std::string> types;
  for (const auto& c : p->partners.at("acme").schemas.at("orders").columns) {
    types.push_back(c.TypeName());
  }
  EXPECT_EQ(types, (std::vector<std::string>{"int64", "int64", "string", "string", "decimal(10,3)",
                                             "float64", "bool", "timestamp"}));
  EXPECT_EQ(p->partners.at("acme").schemas.at("orders").columns[2].max_length, 0);
  dir_.Write("partners/acme/schemas/orders.json",
             OrdersSchema("  {\"name\": \"id\", \"type\": \"int64\"},\n"
                          "  {\"name\": \"b\", \"type\": \"varchar(x)\"},\n"
                          "  {\"name\": \"d\", \"type\": \"numeric(50,2)\"}"));
  std::string e = Errors();
  EXPECT_NE(e.find("orders.json:4:"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown type \"varchar(x)\""), std::string::npos) << e;
  EXPECT_NE(e.find("orders.json:5:"), std::string::npos) << e;
  EXPECT_NE(e.find("decimal needs precision 1..38"), std::string::npos) << e;
}

TEST_F(PipelineTest, UnknownFormatDirectiveIsAnError) {
  dir_.Write("partners/acme/schemas/orders.json",
             OrdersSchema("  {\"name\": \"id\", \"type\": \"int64\"},\n"
                          "  {\"name\": \"at\", \"type\": \"timestamp\", \"format\": \"%Y-%m-%d "
                          "%H:%M:%S.%Q\"},\n"
                          "  {\"name\": \"day\", \"type\": \"date\", \"format\": \"%d/%m/%Y%\"}"));
  std::string e = Errors();
  EXPECT_NE(e.find("partners/acme/schemas/orders.json:4:"), std::string::npos) << e;
  EXPECT_NE(e.find("partners/acme/schemas/orders.json:5:"), std::string::npos) << e;
  EXPECT_NE(e.find("column \"at\": \"format\" \"%Y-%m-%d %H:%M:%S.%Q\" has unknown directive %Q"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("column \"day\": \"format\" \"%d/%m/%Y%\" ends with a lone %"),
            std::string::npos)
      << e;
  // Every directive the parser knows passes.
  dir_.Write("partners/acme/schemas/orders.json",
             OrdersSchema("  {\"name\": \"id\", \"type\": \"int64\"},\n"
                          "  {\"name\": \"at\", \"type\": \"timestamp\", \"format\": "
                          "\"%%%Y%y%m%d%H%M%S%f%z\"},\n"
                          "  {\"name\": \"day\", \"type\": \"date\", \"format\": \"%d.%m.%y\"}"));
  EXPECT_EQ(Errors(), "");
}

TEST_F(PipelineTest, MissingFolderIsNotFound) {
  auto p = LoadPipeline(dir_ / "nope");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kNotFound);
}

TEST(NamePattern, ExpandsPlaceholdersAndRejectsUnknownOnes) {
  Date d{2026, 11, 24};
  EXPECT_EQ(*ExpandNamePattern("{partner}_{date:%Y%m%d}.tar.gz", "acme", d),
            "acme_20261124.tar.gz");
  EXPECT_EQ(*ExpandNamePattern("{date}.zip", "acme", d), "2026-11-24.zip");
  EXPECT_FALSE(ExpandNamePattern("{day}.zip", "acme", d).ok());
  EXPECT_FALSE(ExpandNamePattern("../{date}.zip", "acme", d).ok());
  EXPECT_FALSE(ExpandNamePattern("{date", "acme", d).ok());
}

}  // namespace
}  // namespace sluice::config
