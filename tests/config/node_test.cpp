#include "config/node.h"

#include <gtest/gtest.h>

#include "config/reader.h"

namespace sluice::config {
namespace {

TEST(ParseYaml, RemembersLineAndColumnOfKeysAndValues) {
  auto node = ParseYaml("name: x\ntasks:\n  - task_key: a\n    max_retries: 3\n", "wf.yaml");
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  const Node* tasks = node->Get("tasks");
  ASSERT_NE(tasks, nullptr);
  ASSERT_TRUE(tasks->IsSequence());
  const Node& task = tasks->items()[0];
  EXPECT_EQ(task.KeyLocation("max_retries").ToString(), "wf.yaml:4:5");
  EXPECT_EQ(task.Get("max_retries")->location().line, 4);
  EXPECT_EQ(task.Get("max_retries")->scalar(), "3");
}

TEST(ParseYaml, SyntaxErrorNamesFileAndLine) {
  auto node = ParseYaml("a: 1\nb: [1, 2\nc: 3\n", "bad.yaml");
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(node.status().context().file, "bad.yaml");
  EXPECT_GE(node.status().context().line, 2);
  EXPECT_NE(node.status().ToString().find("bad.yaml:"), std::string::npos);
}

TEST(ParseYaml, DuplicateKeyIsAnError) {
  auto node = ParseYaml("a: 1\nb: 2\na: 3\n", "dup.yaml");
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.status().ToString(), "dup.yaml:3:1: duplicate key \"a\"");
}

TEST(ParseYaml, QuotedScalarsAreMarked) {
  auto node = ParseYaml("a: '1'\nb: 1\n", "q.yaml");
  ASSERT_TRUE(node.ok());
  EXPECT_TRUE(node->Get("a")->quoted());
  EXPECT_FALSE(node->Get("b")->quoted());
}

TEST(ParseJson, RemembersLinesOfNestedKeys) {
  std::string text =
      "{\n"
      "  \"table\": \"orders\",\n"
      "  \"columns\": [\n"
      "    {\"name\": \"order_id\", \"type\": \"int64\"},\n"
      "    {\"name\": \"amount\",\n"
      "     \"type\": \"decimal(12,2)\"}\n"
      "  ]\n"
      "}\n";
  auto node = ParseJson(text, "orders.json");
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  const Node& cols = *node->Get("columns");
  ASSERT_EQ(cols.items().size(), 2u);
  EXPECT_EQ(cols.items()[0].KeyLocation("type").line, 4);
  EXPECT_EQ(cols.items()[1].KeyLocation("type").line, 6);
  EXPECT_EQ(cols.items()[1].Get("type")->location().line, 6);
  EXPECT_EQ(cols.items()[1].Get("type")->scalar(), "decimal(12,2)");
  EXPECT_EQ(node->KeyLocation("table").line, 2);
}

TEST(ParseJson, ScalarsKeepTheirKind) {
  auto node = ParseJson(R"({"a": true, "b": 12.5, "c": null, "d": "x"})", "k.json");
  ASSERT_TRUE(node.ok());
  EXPECT_EQ(node->Get("a")->scalar(), "true");
  EXPECT_FALSE(node->Get("a")->quoted());
  EXPECT_EQ(node->Get("b")->scalar(), "12.5");
  EXPECT_TRUE(node->Get("c")->IsNull());
  EXPECT_TRUE(node->Get("d")->quoted());
}

TEST(ParseJson, SyntaxErrorNamesFileLineAndColumn) {
  auto node = ParseJson("{\n  \"a\": 1,\n  \"b\": ,\n}\n", "bad.json");
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.status().context().file, "bad.json");
  EXPECT_EQ(node.status().context().line, 3);
  EXPECT_NE(node.status().message().find("invalid JSON"), std::string::npos);
}

TEST(ParseJson, DuplicateKeyIsAnError) {
  auto node = ParseJson("{\"a\": 1,\n \"a\": 2}", "dup.json");
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.status().context().line, 2);
  EXPECT_NE(node.status().message().find("duplicate key \"a\""), std::string::npos);
}

// Found by fuzz/config_files: converting a recursive alias recursed until the stack overflowed.
TEST(ParseYaml, RecursiveAliasIsRefusedInsteadOfOverflowingTheStack) {
  auto node = ParseYaml("a: 1\nb: &x [*x]\n", "loop.yaml");
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(node.status().ToString().find("loop.yaml:"), std::string::npos);
  EXPECT_NE(node.status().message().find("nest deeper than 64 levels"), std::string::npos)
      << node.status().ToString();
}

TEST(ParseYaml, AliasesThatRepeatAliasesAreRefusedBeforeExpandingThem) {
  // "Billion laughs": nine levels of ten aliases each would expand to 10^9 values.
  std::string yaml = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {
    const std::string prev = "*l" + std::to_string(i - 1);
    yaml += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) yaml += (k ? ", " : "") + prev;
    yaml += "]\n";
  }
  auto node = ParseYaml(yaml, "laughs.yaml");
  ASSERT_FALSE(node.ok());
  EXPECT_NE(node.status().message().find("more than 1000000 values"), std::string::npos)
      << node.status().ToString();
}

TEST(ParseYaml, NestingUpToTheLimitLoadsAndDeeperIsRefused) {
  auto nested = [](int depth) {
    return "a: " + std::string(static_cast<size_t>(depth), '[') + "1" +
           std::string(static_cast<size_t>(depth), ']') + "\n";
  };
  EXPECT_TRUE(ParseYaml(nested(60), "ok.yaml").ok());
  auto deep = ParseYaml(nested(200), "deep.yaml");
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.status().code(), StatusCode::kInvalidArgument);
}

TEST(ParseJson, NestingDeeperThanTheLimitIsRefusedAtItsBracket) {
  auto node = ParseJson("{\"a\":\n" + std::string(100000, '['), "deep.json");
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.status().code(), StatusCode::kInvalidArgument);
  // The 65th level opens at line 2, column 64.
  EXPECT_EQ(node.status().ToString(),
            "deep.json:2:64: values nest deeper than 64 levels; a schema needs a few");
}

TEST(ParseJson, BracketsInsideStringsDoNotCountAsNesting) {
  auto node = ParseJson("{\"a\": \"" + std::string(100, '[') + "\\\"[\"}", "s.json");
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  EXPECT_EQ(node->Get("a")->scalar(), std::string(100, '[') + "\"[");
}

TEST(MapReader, UnknownKeySuggestsNearestKnownKey) {
  auto node = ParseYaml("max_retires: 3\n", "t.yaml");
  ASSERT_TRUE(node.ok());
  Diagnostics diags;
  MapReader r(*node, "task \"a\"", &diags);
  (void)r.Int("max_retries");
  r.Finish();
  ASSERT_TRUE(diags.HasErrors());
  EXPECT_EQ(
      diags.ToStatus().message(),
      "t.yaml:1:1: unknown key \"max_retires\" in task \"a\" (did you mean \"max_retries\"?)");
}

TEST(MapReader, WrongTypeAndMissingRequiredNameTheLine) {
  auto node = ParseYaml("x: 1\nmax_retries: many\nflag: perhaps\nlist: 3\n", "t.yaml");
  ASSERT_TRUE(node.ok());
  Diagnostics diags;
  MapReader r(*node, "task", &diags);
  (void)r.Int("x");
  EXPECT_FALSE(r.Int("max_retries").has_value());
  EXPECT_FALSE(r.Bool("flag").has_value());
  EXPECT_FALSE(r.StringList("list").has_value());
  EXPECT_FALSE(r.String("task_key", true).has_value());
  r.Finish();
  auto& items = diags.items();
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[0].ToString(),
            "t.yaml:2:14: task: \"max_retries\" must be an integer, got \"many\"");
  EXPECT_EQ(items[1].loc.line, 3);
  EXPECT_EQ(items[2].loc.line, 4);
  EXPECT_EQ(items[3].ToString(), "t.yaml:1:1: missing required key \"task_key\" in task");
}

TEST(MapReader, IntRangeIsChecked) {
  auto node = ParseYaml("parallelism: -3\n", "s.yaml");
  ASSERT_TRUE(node.ok());
  Diagnostics diags;
  MapReader r(*node, "sluice.yaml", &diags);
  EXPECT_FALSE(r.Int("parallelism", false, 0, 64).has_value());
  EXPECT_NE(diags.ToStatus().message().find("between 0 and 64"), std::string::npos);
}

TEST(MapReader, IgnoredKeysWarnButDoNotFail) {
  auto node = ParseYaml("notebook_task: {path: x}\n", "w.yaml");
  ASSERT_TRUE(node.ok());
  Diagnostics diags;
  MapReader r(*node, "task", &diags);
  r.Ignore("notebook_task", "Databricks-only");
  r.Finish();
  EXPECT_FALSE(diags.HasErrors());
  ASSERT_EQ(diags.items().size(), 1u);
  EXPECT_EQ(diags.items()[0].severity, Diagnostic::Severity::kWarning);
}

TEST(MapReader, NotAMapIsAnError) {
  auto node = ParseYaml("- a\n- b\n", "l.yaml");
  ASSERT_TRUE(node.ok());
  Diagnostics diags;
  MapReader r(*node, "sluice.yaml", &diags);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.String("name").has_value());
  EXPECT_NE(diags.ToStatus().message().find("must be a map"), std::string::npos);
}

}  // namespace
}  // namespace sluice::config
