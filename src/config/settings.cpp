// Reading of sluice.yaml.
#include "config/pipeline_config.h"
#include "core/date.h"

namespace sluice::config {

Result<SqliteWarehouseUrl> ParseSqliteWarehouseUrl(std::string_view url) {
  constexpr std::string_view kScheme = "sqlite://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return Status::InvalidArgument("\"" + std::string(url) + "\" is not a sqlite:// URL");
  }
  SqliteWarehouseUrl out;
  std::string_view rest = url.substr(kScheme.size());
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  out.dir = std::string(rest);
  if (out.dir.empty()) {
    return Status::InvalidArgument("sqlite:// needs a folder, as in sqlite://./warehouse");
  }
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view param = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = param.find('=');
    std::string_view key = param.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : param.substr(eq + 1);
    if (key != "journal") {
      return Status::InvalidArgument("unknown sqlite:// option \"" + std::string(key) +
                                     "\"; the only option is journal=wal|rollback");
    }
    if (value == "wal") {
      out.journal = SqliteJournal::kWal;
    } else if (value == "rollback") {
      out.journal = SqliteJournal::kRollback;
    } else {
      return Status::InvalidArgument("journal=" + std::string(value) +
                                     " is not a journal mode; use journal=wal (readers never "
                                     "wait) or journal=rollback (faster bulk loads)");
    }
  }
  return out;
}

Result<int64_t> ParseDurationSeconds(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 9 || text.size() != digits + 1) {
    return Status::InvalidArgument("\"" + std::string(text) +
                                   "\" is not a duration; write a number and a unit s, m, h, d "
                                   "or w, as in \"30d\"");
  }
  int64_t n = std::stoll(std::string(text.substr(0, digits)));
  switch (text.back()) {
    case 's':
      return n;
    case 'm':
      return n * 60;
    case 'h':
      return n * 3600;
    case 'd':
      return n * 86400;
    case 'w':
      return n * 7 * 86400;
    default:
      return Status::InvalidArgument("\"" + std::string(text) + "\": unknown unit '" +
                                     std::string(1, text.back()) + "'; use s, m, h, d or w");
  }
}

PipelineSettings ReadSettings(const Node& root, Diagnostics* diags) {
  PipelineSettings s;
  s.loc = root.location();
  MapReader r(root, "sluice.yaml", diags);
  if (auto v = r.String("name")) s.name = *v;
  if (auto v = r.String("timezone")) {
    s.timezone = *v;
    if (auto today = Today(*v); !today.ok()) r.ErrorAtKey("timezone", today.status().message());
  }
  // The back-end URLs and the executor are checked against the back-ends' own registries by
  // LoadOptions::check_settings (tasks/load_pipeline.h): config sits below the modules that own
  // them.
  auto located = [&](const char* key, std::string* value, Location* loc) {
    *loc = root.KeyLocation(key);
    if (auto v = r.String(key)) *value = *v;
  };
  located("store", &s.store, &s.store_loc);
  located("warehouse", &s.warehouse, &s.warehouse_loc);
  located("ledger", &s.ledger, &s.ledger_loc);
  s.executor_loc = root.KeyLocation("executor");
  if (const Node* e = r.Value("executor")) {
    // `executor: local`, or a map `{type: slurm, partition: etl, ...}` whose other keys belong
    // to the executor named by `type` (kept in executor_options for it to read).
    if (e->IsScalar()) {
      s.executor = e->scalar();
    } else if (e->IsMap()) {
      MapReader er(*e, "sluice.yaml executor", diags);
      if (auto v = er.String("type", /*required=*/true)) s.executor = *v;
      for (const Node::MapItem& item : e->map_items()) er.Allow(item.key);
      er.Finish();
      s.executor_options = *e;
    } else {
      r.ErrorAt(*e,
                "\"executor\" must be a name (local) or a map with \"type\", got " + e->KindName());
    }
  }
  if (auto v = r.String("logs")) s.logs = *v;
  if (auto v = r.Int("parallelism", false, 0, 1024)) s.parallelism = static_cast<int>(*v);
  if (auto v = r.StringList("redact_env", false, true)) {
    for (const std::string& name : *v) {
      if (name.empty() || name.find_first_of("=${} ") != std::string::npos) {
        r.ErrorAtKey("redact_env", "\"" + name +
                                       "\" is not an environment variable name; list names "
                                       "such as PARTNER_API_TOKEN, without $ or braces");
      }
    }
    s.redact_env = *v;
  }
  if (const Node* ret = r.Value("retention")) {
    MapReader rr(*ret, "sluice.yaml retention", diags);
    auto read = [&](const char* key, int64_t* out) {
      if (auto v = rr.String(key)) {
        if (auto seconds = ParseDurationSeconds(*v); seconds.ok()) {
          *out = *seconds;
        } else {
          rr.ErrorAtKey(key, seconds.status().message());
        }
      }
    };
    read("raw", &s.retention.raw_seconds);
    read("rejects", &s.retention.rejects_seconds);
    read("logs", &s.retention.logs_seconds);
    read("runs", &s.retention.runs_seconds);
    rr.Finish();
  }
  if (const Node* s3 = r.Value("s3")) {
    MapReader sr(*s3, "sluice.yaml s3", diags);
    if (auto v = sr.String("endpoint")) s.s3.endpoint = *v;
    if (auto v = sr.String("region")) s.s3.region = *v;
    if (auto v = sr.Bool("path_style")) s.s3.path_style = *v;
    if (auto v = sr.Int("multipart_threshold", false, int64_t{5} << 20, int64_t{5} << 30)) {
      s.s3.multipart_threshold = *v;
    }
    if (auto v = sr.Int("multipart_part_size", false, int64_t{5} << 20, int64_t{5} << 30)) {
      s.s3.multipart_part_size = *v;
    }
    if (auto v = sr.Int("upload_concurrency", false, 1, 64)) {
      s.s3.upload_concurrency = static_cast<int>(*v);
    }
    sr.Finish();
  }
  if (auto v = r.String("isolation")) {
    s.isolation = *v;
    if (*v != "none" && *v != "roles") {
      r.ErrorAtKey("isolation", "isolation must be none or roles, got \"" + *v + "\"");
    } else if (*v == "roles" && s.warehouse.rfind("postgres", 0) != 0) {
      r.ErrorAtKey("isolation",
                   "isolation: roles needs a postgresql:// warehouse (each partner's schema owned "
                   "by its own role); SQLite keeps partners apart by file already: remove the key");
    }
  }
  if (const Node* alerts = r.Value("alerts")) {
    if (!alerts->IsSequence()) {
      r.ErrorAt(*alerts, "\"alerts\" must be a list, got " + alerts->KindName());
    } else {
      for (const Node& item : alerts->items()) {
        AlertConfig a;
        a.loc = item.location();
        MapReader ar(item, "alert", diags);
        if (auto v = ar.StringList("on", true, true)) {
          a.on = *v;
          if (v->empty()) {
            ar.ErrorAtKey("on",
                          "\"on\" lists no event, so the alert would never be sent; use "
                          "failure, success, duration_warning, late_partner or schema_drift");
          }
        }
        for (const std::string& event : a.on) {
          if (event != "failure" && event != "success" && event != "duration_warning" &&
              event != "late_partner" && event != "schema_drift") {
            ar.ErrorAtKey("on", "unknown event \"" + event +
                                    "\" (use failure, success, duration_warning, late_partner or "
                                    "schema_drift)");
          }
        }
        if (auto v = ar.String("webhook")) a.webhook = *v;
        if (auto v = ar.String("command")) a.command = *v;
        if (auto v = ar.Int("threshold_seconds", false, 1)) a.threshold_seconds = *v;
        if (auto v = ar.Int("timeout_seconds", false, 1, 600)) a.timeout_seconds = *v;
        if (a.webhook.empty() == a.command.empty() && ar.ok()) {
          diags->Error(a.loc, "alert: set exactly one of \"webhook\" and \"command\"");
        }
        bool wants_threshold = false;
        for (const std::string& event : a.on) wants_threshold |= event == "duration_warning";
        if (wants_threshold && a.threshold_seconds == 0) {
          diags->Error(a.loc, "alert: \"duration_warning\" needs \"threshold_seconds\"");
        }
        ar.Finish();
        s.alerts.push_back(std::move(a));
      }
    }
  }
  r.Finish();
  return s;
}

}  // namespace sluice::config
