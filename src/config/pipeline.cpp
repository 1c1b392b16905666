// LoadPipeline: reads every file of a pipeline folder and validates them against each other.
#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <vector>

#include "config/pipeline_config.h"
#include "config/reader.h"
#include "core/strings.h"

namespace sluice::config {

namespace fs = std::filesystem;

fs::path Pipeline::Resolve(const std::string& relative) const {
  fs::path p(relative);
  if (p.is_absolute()) return p;
  return (dir / p).lexically_normal();
}

std::vector<const PartnerConfig*> Pipeline::EnabledPartners() const {
  std::vector<const PartnerConfig*> out;
  for (const auto& [id, p] : partners) {
    if (p.enabled) out.push_back(&p);
  }
  return out;
}

const PartnerConfig* Pipeline::FindPartner(std::string_view id) const {
  auto it = partners.find(std::string(id));
  return it == partners.end() ? nullptr : &it->second;
}

namespace {

// Loads one file into `diags`; returns nullopt when it could not be parsed.
std::optional<Node> LoadInto(const fs::path& path, const fs::path& base, Diagnostics* diags,
                             const LoadOptions& options) {
  if (options.files_read != nullptr) options.files_read->push_back(path);
  std::string display = path.lexically_relative(base).string();
  if (display.empty() || display.starts_with("..")) display = path.string();
  auto node = LoadFile(path, display);
  if (!node.ok()) {
    diags->Add(node.status());
    return std::nullopt;
  }
  return std::move(node).value();
}

}  // namespace

Result<Pipeline> LoadPipeline(const fs::path& dir, const LoadOptions& options) {
  Diagnostics local;
  Diagnostics* diags = options.diagnostics ? options.diagnostics : &local;
  std::error_code ec;
  fs::path abs = fs::absolute(dir, ec).lexically_normal();
  if (!fs::is_directory(abs, ec)) {
    return Status::NotFound("pipeline folder " + dir.string() +
                            " does not exist; create one with `sluice init " + dir.string() + "`");
  }
  Pipeline p;
  p.dir = abs;
  const size_t first_diag = diags->items().size();  // the caller's own come before

  if (auto root = LoadInto(abs / "sluice.yaml", abs, diags, options)) {
    p.settings = ReadSettings(*root, diags);
    if (options.check_settings != nullptr) options.check_settings(p.settings, diags);
  }
  if (options.settings_only) {
    if (diags->HasErrors()) return diags->ToStatus();
    return p;
  }
  if (auto root = LoadInto(abs / "workflow.yaml", abs, diags, options)) {
    p.workflow = ReadWorkflow(*root, diags);
  }

  fs::path partners_dir = abs / "partners";
  if (!fs::is_directory(partners_dir, ec)) {
    diags->Error(Location{"partners/"}, "no partners/ folder; add partners/<id>/partner.yaml");
  } else {
    std::vector<fs::path> folders;
    if (options.only_partners) {
      // One attempt's partner: its folder only, however many the pipeline has.
      for (const std::string& id : *options.only_partners) {
        if (!IsValidPartnerId(id)) {
          diags->Error(Location{"partners/"},
                       "partner id \"" + Printable(id) + "\" must match [a-z0-9][a-z0-9_-]{0,62}");
        } else if (!fs::is_directory(partners_dir / id, ec)) {
          diags->Error(Location{"partners/" + id + "/"},
                       "no partner \"" + id + "\": partners/" + id +
                           "/partner.yaml does not exist (was it removed during the run?)");
        } else {
          folders.push_back(partners_dir / id);
        }
      }
    } else {
      for (const auto& entry : fs::directory_iterator(partners_dir, ec)) {
        if (entry.is_directory()) folders.push_back(entry.path());
      }
    }
    std::sort(folders.begin(), folders.end());
    for (const fs::path& folder : folders) {
      std::string folder_name = folder.filename().string();
      if (folder_name.starts_with(".")) continue;
      auto root = LoadInto(folder / "partner.yaml", abs, diags, options);
      if (!root) continue;
      PartnerConfig partner = ReadPartner(*root, diags);
      partner.dir = folder;
      if (!partner.id.empty() && partner.id != folder_name) {
        diags->Error(
            root->KeyLocation("id"),
            "partner id \"" + partner.id + "\" must equal its folder name \"" + folder_name + "\"");
      }
      // Each table needs its schema, and each schema file a table.
      fs::path schemas_dir = folder / "schemas";
      for (const TableSource& t : partner.tables) {
        fs::path schema_path = schemas_dir / (t.name + ".json");
        if (!fs::exists(schema_path, ec)) {
          diags->Error(t.loc, "table \"" + t.name + "\" has no schema: add " +
                                  schema_path.lexically_relative(abs).string());
          continue;
        }
        auto schema_root = LoadInto(schema_path, abs, diags, options);
        if (!schema_root) continue;
        TableSchema schema = ReadSchema(*schema_root, diags);
        if (!schema.table.empty() && schema.table != t.name) {
          diags->Error(schema_root->KeyLocation("table"), "schema says table \"" + schema.table +
                                                              "\" but its file is named for \"" +
                                                              t.name + "\"");
        }
        partner.schemas.emplace(t.name, std::move(schema));
      }
      if (fs::is_directory(schemas_dir, ec)) {
        for (const auto& entry : fs::directory_iterator(schemas_dir, ec)) {
          if (entry.path().extension() != ".json") continue;
          std::string table = entry.path().stem().string();
          if (partner.FindTable(table) == nullptr) {
            diags->Warn(Location{entry.path().lexically_relative(abs).string()},
                        "schema for table \"" + table +
                            "\" is not listed under tables: in partner.yaml; it is not used");
          }
        }
      }
      if (!partner.id.empty()) {
        std::string id = partner.id;
        p.partners.emplace(id, std::move(partner));
      }
    }
    if (options.only_partners) {
      // Whether the pipeline as a whole has partners, enabled ones, is the whole load's
      // question (run and repair ask it once).
    } else if (p.partners.empty() && !diags->HasErrors()) {
      diags->Error(Location{"partners/"}, "no partners: add partners/<id>/partner.yaml");
    } else if (!p.partners.empty() &&
               std::none_of(p.partners.begin(), p.partners.end(),
                            [](const auto& kv) { return kv.second.enabled; })) {
      diags->Warn(Location{"partners/"},
                  "every partner has enabled: false, so a run would load nothing; enable one in "
                  "its partner.yaml");
    }
  }

  if (options.check_pipeline != nullptr) options.check_pipeline(p, diags);

  // Cross-file checks: builtins' params, and merge tasks must name tables that partners have.
  for (const TaskConfig& t : p.workflow.tasks) {
    if ((t.builtin == "merge" || t.builtin == "extract") && !t.for_each_partner) {
      diags->Error(t.loc, "task \"" + t.task_key + "\": builtin " + t.builtin +
                              " works on one partner at a time; add \"for_each: partner\"");
    }
    if (t.builtin == "wait_for_sources") {
      (void)ReadSensorParams(t.params, "task \"" + t.task_key + "\" params", diags);
    } else if (!t.builtin.empty() && t.params.IsMap()) {
      // The other builtins' params: a misspelt key would be dropped without a word (a check
      // meant for one table checking every table).
      static const std::map<std::string, std::vector<std::string>> kParams = {
          {"set_date", {}}, {"extract", {}},      {"merge", {"table"}},
          {"summary", {}},  {"check", {"table"}}, {"sql", {"sql", "file"}}};
      if (auto known = kParams.find(t.builtin); known != kParams.end()) {
        MapReader r(t.params, "task \"" + t.task_key + "\" params (builtin " + t.builtin + ")",
                    diags);
        for (const std::string& key : known->second) r.Allow(key);
        r.Finish();
      }
    }
    if (t.builtin == "sql") {
      const Node* sql = t.params.Get("sql");
      const Node* file = t.params.Get("file");
      const bool has_sql = sql != nullptr && sql->IsScalar() && !sql->scalar().empty();
      const bool has_file = file != nullptr && file->IsScalar() && !file->scalar().empty();
      if (has_sql == has_file) {
        diags->Error(t.loc, "task \"" + t.task_key + "\": builtin sql needs exactly one of " +
                                "params: {sql: \"...\"} or {file: PATH}");
      } else if (has_file && !std::filesystem::is_regular_file(p.Resolve(file->scalar()))) {
        diags->Error(file->location(), "task \"" + t.task_key + "\": sql file " +
                                           p.Resolve(file->scalar()).string() +
                                           " does not exist (paths are relative to the pipeline "
                                           "folder)");
      }
    }
    if (t.builtin == "check") {
      if (const Node* table = t.params.Get("table"); table != nullptr && table->IsScalar()) {
        bool any = false;
        for (const auto& [id, partner] : p.partners) {
          any |= partner.FindTable(table->scalar()) != nullptr;
        }
        if (!any && !p.partners.empty() && !options.only_partners) {
          diags->Error(table->location(), "task \"" + t.task_key + "\": no partner has table \"" +
                                              table->scalar() +
                                              "\", so the check would check nothing");
        }
      }
    }
    if (t.builtin == "merge") {
      const Node* table = t.params.Get("table");
      if (table == nullptr || !table->IsScalar()) {
        diags->Error(t.loc, "task \"" + t.task_key +
                                "\": builtin merge needs params: {table: NAME} (or {table: \"*\"} "
                                "for every table no other merge task names)");
        continue;
      }
      if (table->scalar() == kEveryOtherTable) continue;
      bool any = false;
      for (const auto& [id, partner] : p.partners)
        any |= partner.FindTable(table->scalar()) != nullptr;
      if (!any && !p.partners.empty() && !options.only_partners) {
        diags->Error(table->location(), "task \"" + t.task_key + "\": no partner has table \"" +
                                            table->scalar() + "\"");
      }
    }
  }

  // A table no merge task loads is extracted every day and never reaches the warehouse: say so
  // here, and the partner's check task fails on it at run time (tasks/check.cpp).
  if (!diags->HasErrors()) {
    const std::vector<std::string> merged = MergeTaskTables(p.workflow);
    for (const auto& [id, partner] : p.partners) {
      if (!partner.enabled) continue;
      for (const std::string& name : TablesNeverMerged(p.workflow, partner)) {
        const TableSource* source = partner.FindTable(name);
        diags->Warn(source ? source->loc : partner.loc,
                    "table \"" + name + "\" of partner " + id +
                        " is merged by no task of workflow.yaml (its merge tasks name " +
                        (merged.empty() ? std::string("no table") : Join(merged, ", ")) +
                        "), so its rows would be extracted but never loaded; add a merge task "
                        "with params: {table: " +
                        name + "}, or one with {table: \"*\"} for every table no other task names");
      }
    }
  }

  // A summary or check task reads what the merges wrote: one that does not wait for a merge
  // task may run before it ends, and report or check the day without that merge's tables.
  if (!diags->HasErrors()) {
    std::map<std::string, const TaskConfig*> by_key;
    for (const TaskConfig& t : p.workflow.tasks) by_key[t.task_key] = &t;
    for (const TaskConfig& t : p.workflow.tasks) {
      if (t.builtin != "summary" && t.builtin != "check") continue;
      std::set<std::string> upstream;
      std::vector<std::string> todo = t.depends_on;
      while (!todo.empty()) {
        std::string k = std::move(todo.back());
        todo.pop_back();
        if (!upstream.insert(k).second) continue;
        if (auto it = by_key.find(k); it != by_key.end()) {
          todo.insert(todo.end(), it->second->depends_on.begin(), it->second->depends_on.end());
        }
      }
      for (const TaskConfig& m : p.workflow.tasks) {
        if (m.builtin != "merge" || upstream.count(m.task_key)) continue;
        diags->Warn(t.loc, "task \"" + t.task_key + "\" (builtin " + t.builtin +
                               ") does not depend on merge task \"" + m.task_key +
                               "\", so it may run before that merge ends and miss its tables; "
                               "add \"" +
                               m.task_key + "\" to its depends_on");
      }
    }
  }

  if (diags->HasErrors() && options.isolate_partners) {
    // Errors inside one partner's folder stop that partner only; any other error stops all.
    std::map<std::string, BrokenPartner> broken;
    bool whole = false;
    for (size_t i = first_diag; i < diags->items().size(); ++i) {
      const Diagnostic& d = diags->items()[i];
      if (d.severity != Diagnostic::Severity::kError) continue;
      const std::string folder = PartnerFolderOf(d.loc.file);
      if (folder.empty()) {
        whole = true;
        break;
      }
      broken[folder].errors.push_back(d.ToString());
    }
    if (!whole) {
      for (auto& [folder, b] : broken) {
        for (auto it = p.partners.begin(); it != p.partners.end();) {
          if (it->second.dir.filename() == folder || it->first == folder) {
            b.enabled = it->second.enabled;
            it = p.partners.erase(it);
          } else {
            ++it;
          }
        }
      }
      p.broken_partners = std::move(broken);
      return p;
    }
  }
  if (diags->HasErrors()) return diags->ToStatus();
  return p;
}

std::string PartnerFolderOf(std::string_view file) {
  constexpr std::string_view kPrefix = "partners/";
  if (!file.starts_with(kPrefix)) return "";
  file.remove_prefix(kPrefix.size());
  const size_t slash = file.find('/');
  if (slash == std::string_view::npos || slash == 0) return "";
  return std::string(file.substr(0, slash));
}

std::vector<std::string> MergeTaskTables(const WorkflowConfig& workflow) {
  std::vector<std::string> tables;
  for (const TaskConfig& t : workflow.tasks) {
    const Node* table = t.params.Get("table");
    if (t.builtin == "merge" && table != nullptr && table->IsScalar()) {
      tables.push_back(table->scalar());
    }
  }
  return tables;
}

std::vector<std::string> TablesNoMergeTaskNames(const WorkflowConfig& workflow,
                                                const PartnerConfig& partner) {
  const std::vector<std::string> named = MergeTaskTables(workflow);
  std::vector<std::string> left;
  for (const TableSource& source : partner.tables) {
    if (std::find(named.begin(), named.end(), source.name) == named.end()) {
      left.push_back(source.name);
    }
  }
  return left;
}

std::vector<std::string> TablesNeverMerged(const WorkflowConfig& workflow,
                                           const PartnerConfig& partner) {
  const std::vector<std::string> named = MergeTaskTables(workflow);
  // A workflow without the merge builtin loads tables its own way (command tasks), and one
  // with {table: "*"} merges whatever the others do not name.
  const bool any_merge = std::any_of(workflow.tasks.begin(), workflow.tasks.end(),
                                     [](const TaskConfig& t) { return t.builtin == "merge"; });
  if (!any_merge || std::find(named.begin(), named.end(), kEveryOtherTable) != named.end()) {
    return {};
  }
  return TablesNoMergeTaskNames(workflow, partner);
}

SensorParams ReadSensorParams(const Node& params, const std::string& what, Diagnostics* diags) {
  SensorParams p;
  if (params.IsNull()) return p;
  MapReader r(params, what, diags);
  if (auto v = r.Int("poke_interval_seconds", false, 1, 86400)) p.poke_interval_seconds = *v;
  if (auto v = r.Int("timeout_seconds", false, 0, 7 * 86400)) p.timeout_seconds = *v;
  if (auto v = r.String("mode")) {
    if (*v == "each") {
      p.each = true;
    } else if (*v != "all") {
      r.ErrorAtKey("mode", "\"mode\" must be all or each, got \"" + Printable(*v) + "\"");
    }
  }
  r.Finish();
  return p;
}

}  // namespace sluice::config
