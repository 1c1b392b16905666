// config/pipeline_config.h: the shapes of a pipeline folder's files and the loader that reads
// and validates all of them (sluice.yaml, workflow.yaml, partners/*/partner.yaml, schemas).
//
// Every struct is plain data with defaults. LoadPipeline() collects every problem of every file
// into one InvalidArgument whose lines read "file:line:col: message".
// Thread-safety: the loaded structs are immutable values.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/node.h"
#include "config/reader.h"
#include "core/date.h"
#include "core/status.h"

namespace sluice::config {

// ---- sluice.yaml ---------------------------------------------------------------------------

struct S3Config {
  std::string endpoint;  // "" means AWS's regional endpoint
  std::string region = "us-east-1";
  bool path_style = false;
  // Objects larger than this are uploaded in parts (S3's minimum part is 5 MiB).
  int64_t multipart_threshold = int64_t{64} << 20;
  // Bytes per part; 0: 8 MiB, or multipart_threshold when that is smaller.
  int64_t multipart_part_size = 0;
  // PUTs (whole objects or parts) in flight at once per store handle (one extract task).
  int upload_concurrency = 4;
};

struct AlertConfig {
  std::vector<std::string> on;    // failure | success | duration_warning
  std::string webhook;            // may hold ${ENV_VAR}; expanded when sent
  std::string command;            // shell command; run with SLUICE_* variables
  int64_t threshold_seconds = 0;  // for duration_warning
  int64_t timeout_seconds = 10;
  Location loc;
};

// How a sqlite:// warehouse journals its writes, from the URL's `?journal=` (wal by default).
//   wal       readers never wait for a merge; every page a merge writes is written twice (to the
//             WAL, then checkpointed into the database).
//   rollback  SQLite's rollback journal: pages a merge appends are written once (only pages that
//             held rows before are journaled), ~25% faster bulk loads; readers wait while a
//             merge writes to the file, and a merge waits for readers to finish before it does.
enum class SqliteJournal { kWal, kRollback };

struct SqliteWarehouseUrl {
  std::string dir;  // as written: relative to the pipeline folder unless absolute
  SqliteJournal journal = SqliteJournal::kWal;
};

// Parses "sqlite://DIR[?journal=wal|rollback]". InvalidArgument names what is wrong.
Result<SqliteWarehouseUrl> ParseSqliteWarehouseUrl(std::string_view url);

// retention: in sluice.yaml, each a duration in seconds ("30d", "12h", "2w"); 0 keeps forever.
struct RetentionConfig {
  int64_t raw_seconds = 0;      // raw/<partner>/<date>/ (and the date's extract manifests)
  int64_t rejects_seconds = 0;  // rejects/<partner>/<date>/
  int64_t logs_seconds = 0;     // logs/<run>/ of ended runs
  int64_t runs_seconds = 0;     // ended runs in the ledger (and their logs)
  bool Any() const { return raw_seconds || rejects_seconds || logs_seconds || runs_seconds; }
};

// Parses a duration: an integer and a unit s, m, h, d or w ("30d"). InvalidArgument otherwise.
Result<int64_t> ParseDurationSeconds(std::string_view text);

struct PipelineSettings {
  std::string name;
  std::string timezone = "UTC";
  std::string store = "file://./data";
  S3Config s3;
  std::string warehouse = "sqlite://./warehouse";
  std::string ledger = "sqlite://./state/ledger.db";
  std::string executor = "local";  // `executor:` as a name, or its map's `type`
  Node executor_options;           // the map form of `executor:` (null for a name)
  // "none", or "roles": each partner's schema is owned by a role of its own and that partner's
  // merge, check and sql tasks act as it (PostgreSQL warehouse only; postgres_warehouse.h).
  std::string isolation = "none";
  std::string logs = "./logs";
  int parallelism = 0;  // 0: number of cores
  std::vector<AlertConfig> alerts;
  // Names of environment variables whose values are masked in attempt logs, besides the
  // credentials sluice reads itself (AWS_*, PGPASSWORD, webhook URLs).
  std::vector<std::string> redact_env;
  RetentionConfig retention;
  Location loc;
  // Where store, warehouse, ledger and executor are written in sluice.yaml (the file's own
  // location when absent), for the back-end checks above config (LoadOptions::check_settings).
  Location store_loc;
  Location warehouse_loc;
  Location ledger_loc;
  Location executor_loc;
};

// ---- workflow.yaml -------------------------------------------------------------------------

enum class RunIf {
  kAllSuccess,
  kAllDone,
  kNoneFailed,
  kAtLeastOneSuccess,
  kAtLeastOneFailed,
  kAllFailed,
};
std::string_view RunIfName(RunIf run_if);

// The builtin task names sluice knows (tasks/registry.cpp implements each).
const std::vector<std::string>& BuiltinNames();

// What one attempt of a task asks of a cluster executor (workflow.yaml `resources:`; 0: the
// executor's default). The local executor ignores them (parallelism bounds this machine).
struct TaskResources {
  int cpus = 0;                    // Slurm --cpus-per-task
  int64_t memory_bytes = 0;        // Slurm --mem (rounded up to MiB)
  int64_t time_limit_seconds = 0;  // Slurm --time, instead of timeout_seconds plus a margin
};

struct TaskConfig {
  std::string task_key;
  std::vector<std::string> depends_on;
  std::string builtin;  // exactly one of builtin and command is set
  std::string command;
  bool for_each_partner = false;
  int max_retries = 0;
  int64_t min_retry_interval_millis = 1000;  // backoff base, doubled per attempt
  bool retry_on_timeout = false;
  int64_t timeout_seconds = 0;  // 0: no timeout
  RunIf run_if = RunIf::kAllSuccess;
  TaskResources resources;
  Node params;  // a map (possibly empty); builtins validate their own keys
  Location loc;
};

struct WorkflowConfig {
  std::string name;
  std::vector<TaskConfig> tasks;  // in file order
  Location loc;
  const TaskConfig* Find(std::string_view task_key) const;
};

// ---- partners/<id>/partner.yaml ------------------------------------------------------------

struct CsvDialect {
  std::string encoding = "utf-8";  // a label of config/encodings.h
  char delimiter = ',';
  char quote = '"';
  bool quoting = true;  // false (`quote: none`): quote characters are plain text (TSV dumps)
  bool header = true;
  // Records before the header (or the first row) that are not data: a report title, a
  // "generated at" line. Blank lines are skipped anyway and not counted.
  int skip_lines = 0;
  std::vector<std::string> null_values = {""};
  // The longest record (line, or lines inside quotes) a file may hold; a longer one fails the
  // file, naming its line. Bounds the merge's memory.
  int64_t max_record_bytes = int64_t{16} << 20;
  // The most fields a header may have (csv.max_columns). A wider header fails the file, naming
  // its line: it is usually a wrong delimiter, and every column costs the merge memory and time.
  int64_t max_columns = 10000;
};

struct ExtractLimits {
  int64_t max_entries = 10000;
  int64_t max_entry_bytes = int64_t{20} << 30;
  int64_t max_total_bytes = int64_t{50} << 30;
  double max_ratio = 200;
};

struct CompletionRule {
  std::string marker;          // e.g. "_SUCCESS": complete when this file exists beside the archive
  int64_t stable_seconds = 0;  // complete when size and mtime are unchanged this long
};

// How a table's files are written: CSV (the partner's csv: dialect), JSON lines (one object
// per line, fields matched to the schema by name and aliases as CSV headers are), or an Excel
// workbook's sheet (its first non-empty row is the header).
enum class TableFormat { kCsv, kNdjson, kXlsx };

struct TableSource {
  std::string name;
  std::string file;  // glob matched against archive members
  TableFormat format = TableFormat::kCsv;
  std::string sheet;  // xlsx: the sheet's name; "" for the first sheet
  // xlsx: the most bytes of text the workbook's shared strings table may hold (it is read whole
  // before the sheet is streamed: the one structure held in memory).
  int64_t max_shared_strings_bytes = int64_t{256} << 20;
  // True when the partner may leave the table out of a delivery: its merge then succeeds and
  // says so. Otherwise a delivery without a file for the table fails the table's merge.
  bool optional = false;
  Location loc;
  // Whether an archive member belongs to this table by its pattern: the member's base name is
  // matched, or its whole normalized path when the pattern holds a '/'.
  bool Matches(std::string_view normalized_path) const;
};

enum class ColumnType { kString, kInt64, kFloat64, kDecimal, kBool, kDate, kTimestamp };

struct ColumnSchema {
  std::string name;
  ColumnType type = ColumnType::kString;
  int precision = 0;  // decimal(p,s)
  int scale = 0;
  bool nullable = true;
  std::vector<std::string> aliases;
  // date/timestamp: strptime-style formats, tried in order (a partner that changed its format
  // keeps both); empty means ISO 8601. Written "format": "..." or "format": ["...", "..."].
  std::vector<std::string> formats;
  int64_t max_length = 0;                 // string: 0 means unlimited (bytes of UTF-8)
  std::vector<std::string> true_values;   // bool: extra spellings of true
  std::vector<std::string> false_values;  // bool: extra spellings of false
  // int64/float64/decimal written the local way ("1.234,56"): the decimal mark ('.' or ',')
  // and the digit-grouping character ("" for none; " " also matches no-break spaces).
  char decimal_separator = '.';
  std::string thousands_separator;
  Location loc;
  // "int64", "decimal(12,2)", ...
  std::string TypeName() const;
};

enum class MergeMode { kUpsert, kAppend, kReplaceDate };
enum class ExtraColumnsPolicy { kIgnore, kRescue, kFail };
enum class MissingColumnsPolicy { kNull, kFail };

struct CheckConfig {
  std::string type;  // not_null | unique | accepted_values | row_count | reject_ratio |
                     // change_vs_previous | sql
  std::vector<std::string> columns;
  std::vector<std::string> values;
  std::optional<int64_t> min;
  std::optional<int64_t> max;
  std::optional<double> max_ratio;           // reject_ratio
  std::optional<double> max_change_percent;  // change_vs_previous
  std::string sql;
  std::string severity = "error";  // error | warn
  std::string name;                // optional label for messages
  Location loc;
};

struct TableSchema {
  std::string table;
  std::vector<ColumnSchema> columns;
  std::vector<std::string> primary_key;
  MergeMode merge = MergeMode::kAppend;
  ExtraColumnsPolicy on_extra_columns = ExtraColumnsPolicy::kIgnore;
  MissingColumnsPolicy on_missing_columns = MissingColumnsPolicy::kNull;
  double max_reject_ratio = 0.01;
  std::vector<CheckConfig> checks;
  std::string file;  // path of the schema file, for messages
  Location loc;
  Location columns_loc;  // where "columns" is written
  const ColumnSchema* FindColumn(std::string_view name) const;
};

struct PartnerConfig {
  std::string id;
  std::string name;
  bool enabled = true;
  std::string archive;  // pattern: {partner}, {date}, {date:%Y%m%d}
  CompletionRule complete;
  // "HH:MM" in the pipeline's time zone: a late_partner alert fires once when the day's
  // delivery is not complete by then (-1: no deadline).
  int expected_by_minute = -1;
  std::string expected_by;
  CsvDialect csv;
  ExtractLimits limits;
  std::vector<TableSource> tables;
  std::map<std::string, TableSchema> schemas;  // by table name
  std::filesystem::path dir;
  Location loc;
  const TableSource* FindTable(std::string_view name) const;
  // The archive file name for `date` ("acme_20261124.tar.gz").
  Result<std::string> ArchiveName(const Date& date) const;
};

// ---- the whole folder ----------------------------------------------------------------------

// A partner whose partner.yaml or schemas are invalid, set aside by a load with
// LoadOptions::isolate_partners: its chain fails at once with `errors`, the others run.
struct BrokenPartner {
  std::vector<std::string> errors;  // "partners/<id>/...:line:col: message", in file order
  bool enabled = true;              // as far as its partner.yaml could be read
};

struct Pipeline {
  std::filesystem::path dir;  // absolute
  PipelineSettings settings;
  WorkflowConfig workflow;
  std::map<std::string, PartnerConfig> partners;  // by id, enabled or not
  // By partner folder name: partners with configuration errors (isolate_partners only; a strict
  // load fails instead). Never in `partners`.
  std::map<std::string, BrokenPartner> broken_partners;
  // Resolves a path relative to the pipeline folder ("./data" -> "<dir>/data").
  std::filesystem::path Resolve(const std::string& relative) const;
  // Enabled partners, sorted by id.
  std::vector<const PartnerConfig*> EnabledPartners() const;
  const PartnerConfig* FindPartner(std::string_view id) const;
};

// `params: {table: "*"}` of a merge task: every table of the partner that no other merge task
// of the workflow names.
inline constexpr char kEveryOtherTable[] = "*";
// The `table` param of every merge task of `workflow`, in order ("*" included).
std::vector<std::string> MergeTaskTables(const WorkflowConfig& workflow);
// The tables of `partner` (in partner.yaml order) that no merge task of `workflow` names.
std::vector<std::string> TablesNoMergeTaskNames(const WorkflowConfig& workflow,
                                                const PartnerConfig& partner);
// The tables of `partner` that no merge task loads: those no task names, unless a merge task
// takes every other table ({table: "*"}), or the workflow has no merge task at all (it loads
// tables its own way). Their rows would be extracted and never loaded.
std::vector<std::string> TablesNeverMerged(const WorkflowConfig& workflow,
                                           const PartnerConfig& partner);

struct LoadOptions {
  // Warnings (ignored Databricks keys) are appended here when non-null.
  Diagnostics* diagnostics = nullptr;
  // Only sluice.yaml (where the ledger and logs are): for the commands that read past runs,
  // which must work while a workflow or partner file is being fixed.
  bool settings_only = false;
  // Called with sluice.yaml's settings as soon as they are read, to add what is wrong with
  // them to `diags` among every other problem. The back-end registries (store, warehouse,
  // ledger, executor) live in modules above config, so their check is passed in from there:
  // tasks::CheckBackends (tasks/load_pipeline.h). nullptr: not checked here (the factories still
  // refuse a bad URL when opening it, with the same message but without file:line).
  void (*check_settings)(const PipelineSettings& settings, Diagnostics* diags) = nullptr;
  // Called with the loaded pipeline (partners and schemas read) to add what the chosen back-ends
  // refuse: the warehouse's table rules (column count, reserved table names), which config does
  // not know (tasks::CheckTableRules). nullptr: not checked.
  void (*check_pipeline)(const Pipeline& pipeline, Diagnostics* diags) = nullptr;
  // Only these partners' folders (partners/<id>/partner.yaml and its schemas): what an attempt
  // of a per-partner task loads, so its cost does not grow with the pipeline's partners. The
  // checks across partners (a merge or check task naming a table no partner has, every partner
  // disabled) are left to the whole load that run and repair do once, at their start. A
  // partner without a folder is an error. nullopt: every partner.
  std::optional<std::vector<std::string>> only_partners = std::nullopt;
  // When non-null, the path of every configuration file read is appended, in order.
  std::vector<std::filesystem::path>* files_read = nullptr;
  // A partner whose own files (partners/<id>/partner.yaml, its schemas) have errors does not
  // fail the load: it moves to Pipeline::broken_partners with its errors (still in the
  // diagnostics too), and the other partners load. Errors anywhere else (sluice.yaml,
  // workflow.yaml, partners/ itself) still fail it. What `sluice run` does without
  // --strict-config; validate and --strict-config load strictly.
  bool isolate_partners = false;
};

// The partner folder a configuration file belongs to ("acme" for "partners/acme/partner.yaml"
// or "partners/acme/schemas/orders.json"), or "" for a file of the whole pipeline.
std::string PartnerFolderOf(std::string_view file);

// Loads and validates every file of the pipeline folder (or of the partners in
// options.only_partners). InvalidArgument lists every error (with isolate_partners, only when
// one is outside every partner's own files). Nothing is cached: every call
// reads the files as they are now.
Result<Pipeline> LoadPipeline(const std::filesystem::path& dir, const LoadOptions& options = {});

// Each file's own reader; they add problems to `diags` and return what they could read.
PipelineSettings ReadSettings(const Node& root, Diagnostics* diags);
WorkflowConfig ReadWorkflow(const Node& root, Diagnostics* diags);
PartnerConfig ReadPartner(const Node& root, Diagnostics* diags);
TableSchema ReadSchema(const Node& root, Diagnostics* diags);

// A bool column reads these (any case) without true_values/false_values.
inline constexpr std::string_view kBuiltinTrue[] = {"true", "1", "yes", "y", "t"};
inline constexpr std::string_view kBuiltinFalse[] = {"false", "0", "no", "n", "f"};

// The % directives (the letters after %) of a date/timestamp column's `format`, exactly those
// csv's format parser (csv/conform_time.cpp ParseWithFormat) reads: %Y %m %d %H %M %S %y %f %z, %I
// with %p (12-hour clock, AM/PM), %b/%B (English month names or abbreviations), %s (Unix time)
// and %%.
inline constexpr char kTimeFormatDirectives[] = "YmdHMSyfzIpbBs%";
// "" when `format` uses only kTimeFormatDirectives; otherwise why not ("has unknown directive
// %Q; ..."), for a message that names the column.
std::string CheckTimeFormat(std::string_view format);

// Parses "int64", "decimal(12,2)", ...; false when unknown.
bool ParseColumnType(std::string_view text, ColumnSchema* column, std::string* error);

// [A-Za-z_][A-Za-z0-9_]{0,62}: names that are safe to use as SQL identifiers.
bool IsValidIdentifier(std::string_view name);

// True when `pattern` with placeholders {partner}, {date}, {date:FMT} is well-formed.
Status CheckNamePattern(std::string_view pattern);
// Expands {partner}, {date} (YYYY-MM-DD) and {date:FMT} (strftime subset).
Result<std::string> ExpandNamePattern(std::string_view pattern, std::string_view partner,
                                      const Date& date);

// Params of the wait_for_sources builtin (workflow.yaml), checked by LoadPipeline and read by
// the sensor: poke_interval_seconds 1..86400 (default 30), timeout_seconds 0..7 days (default
// 6 h, the sensor's own deadline), mode all (default) | each.
struct SensorParams {
  int64_t poke_interval_seconds = 30;
  int64_t timeout_seconds = 6 * 3600;
  bool each = false;
};
SensorParams ReadSensorParams(const Node& params, const std::string& what, Diagnostics* diags);

}  // namespace sluice::config
