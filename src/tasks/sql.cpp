// The sql builtin: runs SQL statements in each partner's warehouse (transformations), all of a
// partner's statements in one transaction. params: {sql: "..."} or {file: path relative to the
// pipeline folder}. {date}, {partner} and {run_id} are replaced by quoted SQL literals.
// Per partner, or every enabled partner when the task is not per-partner.
#include <fstream>
#include <sstream>

#include "core/logging.h"
#include "tasks/builtins.h"
#include "warehouse/warehouse.h"

namespace sluice::tasks {

Status RunSql(TaskContext& ctx) {
  std::string sql;
  const config::Node* sql_node = ctx.task->params.Get("sql");
  const config::Node* file_node = ctx.task->params.Get("file");
  if (sql_node != nullptr && sql_node->IsScalar()) {
    sql = sql_node->scalar();
  } else if (file_node != nullptr && file_node->IsScalar()) {
    std::filesystem::path path = ctx.pipeline->Resolve(file_node->scalar());
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return Status::NotFound("sql file " + path.string() + " cannot be read")
          .WithFile(ctx.task->loc.file, ctx.task->loc.line);
    }
    std::ostringstream s;
    s << in.rdbuf();
    sql = s.str();
  }
  if (sql.empty()) {
    return Status::InvalidArgument("the sql builtin needs params: {sql: \"...\"} or {file: PATH}")
        .WithFile(ctx.task->loc.file, ctx.task->loc.line);
  }
  SLUICE_ASSIGN_OR_RETURN(auto partners, ctx.TargetPartners());
  nlohmann::json done = nlohmann::json::array();
  for (const config::PartnerConfig* p : partners) {
    std::string text = ExpandSqlPlaceholders(sql, ctx, p->id);
    SLUICE_ASSIGN_OR_RETURN(
        auto wh,
        warehouse::OpenWarehouse(ctx.pipeline->settings.warehouse, ctx.pipeline->dir, p->id,
                                 {.partner_roles = ctx.pipeline->settings.isolation == "roles"}));
    Status st = wh->Execute(text);
    if (!st.ok()) return std::move(st).WithPartner(p->id);
    log::Info("sql: ran on {}", wh->Describe());
    done.push_back(p->id);
  }
  ctx.result = {{"partners", done}};
  return Status::Ok();
}

}  // namespace sluice::tasks
