// warehouse/sqlite_rows_vtab.cpp: the sluice_rows_<N> virtual tables through which one
// INSERT ... SELECT adds a whole batch of rows (see RowSource in sqlite_internal.h).
#include <sqlite3.h>

#include <string>
#include <string_view>

#include "core/strings.h"
#include "warehouse/sqlite_internal.h"

namespace sluice::warehouse::sqlite {

namespace {

struct RowsVtab {
  sqlite3_vtab base;
  RowSource* source;
};

struct RowsCursor {
  sqlite3_vtab_cursor base;
  size_t row;
};

// Eponymous-only (no xCreate: nobody can CREATE VIRTUAL TABLE with it) and DIRECTONLY (not
// usable from triggers or views), named sluice_rows_<N> for N schema columns plus "rescued".
int RowsConnect(sqlite3* db, void* aux, int argc, const char* const* argv, sqlite3_vtab** out,
                char** err) {
  size_t ncols = 0;
  std::string_view name = argc > 0 ? argv[0] : "";
  constexpr std::string_view kPrefix = "sluice_rows_";
  if (!StartsWith(name, kPrefix)) return SQLITE_ERROR;
  for (char c : name.substr(kPrefix.size())) {
    if (c < '0' || c > '9') return SQLITE_ERROR;
    ncols = ncols * 10 + static_cast<size_t>(c - '0');
  }
  std::string ddl = "CREATE TABLE x(";
  for (size_t i = 0; i < ncols; ++i) ddl += "c" + std::to_string(i) + ", ";
  ddl += "rescued)";
  int rc = sqlite3_declare_vtab(db, ddl.c_str());
  if (rc != SQLITE_OK) return rc;
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  auto* vtab = static_cast<RowsVtab*>(sqlite3_malloc(sizeof(RowsVtab)));
  if (vtab == nullptr) return SQLITE_NOMEM;
  *vtab = RowsVtab{};
  vtab->source = static_cast<RowSource*>(aux);
  *out = &vtab->base;
  (void)err;
  return SQLITE_OK;
}

int RowsDisconnect(sqlite3_vtab* vtab) {
  sqlite3_free(vtab);
  return SQLITE_OK;
}

int RowsBestIndex(sqlite3_vtab*, sqlite3_index_info* info) {
  info->estimatedCost = 1000;
  info->estimatedRows = 1000;
  return SQLITE_OK;
}

int RowsOpen(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
  auto* cursor = static_cast<RowsCursor*>(sqlite3_malloc(sizeof(RowsCursor)));
  if (cursor == nullptr) return SQLITE_NOMEM;
  *cursor = RowsCursor{};
  *out = &cursor->base;
  return SQLITE_OK;
}

int RowsClose(sqlite3_vtab_cursor* cursor) {
  sqlite3_free(cursor);
  return SQLITE_OK;
}

RowSource& SourceOf(sqlite3_vtab_cursor* cursor) {
  return *reinterpret_cast<RowsVtab*>(cursor->pVtab)->source;
}

int RowsFilter(sqlite3_vtab_cursor* cursor, int, const char*, int, sqlite3_value**) {
  reinterpret_cast<RowsCursor*>(cursor)->row = 0;
  SourceOf(cursor).current = 0;
  return SQLITE_OK;
}

int RowsNext(sqlite3_vtab_cursor* cursor) {
  SourceOf(cursor).current = ++reinterpret_cast<RowsCursor*>(cursor)->row;
  return SQLITE_OK;
}

int RowsEof(sqlite3_vtab_cursor* cursor) {
  return reinterpret_cast<RowsCursor*>(cursor)->row >= SourceOf(cursor).rows;
}

int RowsColumn(sqlite3_vtab_cursor* cursor, sqlite3_context* ctx, int col) {
  const RowSource& src = SourceOf(cursor);
  const size_t row = reinterpret_cast<RowsCursor*>(cursor)->row;
  const size_t c = static_cast<size_t>(col);
  if (c >= src.ncols) {  // "rescued", or a column of another schema width
    if (c == src.ncols && src.rescued != nullptr && !src.rescued[row].empty()) {
      const std::string_view r = src.rescued[row];
      sqlite3_result_text(ctx, r.data(), static_cast<int>(r.size()), SQLITE_STATIC);
    } else {
      sqlite3_result_null(ctx);
    }
    return SQLITE_OK;
  }
  const Value& v = src.values[row * src.ncols + c];
  switch (v.kind) {
    case ValueKind::kNull:
      sqlite3_result_null(ctx);
      break;
    case ValueKind::kInt:
      sqlite3_result_int64(ctx, v.i);
      break;
    case ValueKind::kReal:
      sqlite3_result_double(ctx, v.d);
      break;
    case ValueKind::kText:
      sqlite3_result_text(ctx, v.s.data(), static_cast<int>(v.s.size()), SQLITE_STATIC);
      break;
  }
  return SQLITE_OK;
}

int RowsRowid(sqlite3_vtab_cursor* cursor, sqlite3_int64* rowid) {
  *rowid = static_cast<sqlite3_int64>(reinterpret_cast<RowsCursor*>(cursor)->row);
  return SQLITE_OK;
}

}  // namespace

const sqlite3_module kRowsModule = {
    /* iVersion */ 0, /* xCreate */ nullptr,
    RowsConnect,      RowsBestIndex,
    RowsDisconnect,   /* xDestroy */ nullptr,
    RowsOpen,         RowsClose,
    RowsFilter,       RowsNext,
    RowsEof,          RowsColumn,
    RowsRowid,        /* xUpdate .. */ nullptr,
    nullptr,          nullptr,
    nullptr,          nullptr,
    nullptr,          nullptr,
    nullptr,          nullptr,
    nullptr,          nullptr};

}  // namespace sluice::warehouse::sqlite
