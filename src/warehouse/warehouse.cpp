// warehouse/warehouse.cpp: what the table-sink interface does for every back-end.
#include "warehouse/warehouse.h"

namespace sluice::warehouse {

Status TableWriter::AddRows(std::span<const Value> values, size_t rows,
                            std::string_view source_file, std::span<const std::string_view> rescued,
                            size_t* failed_row) {
  if (rows == 0) return Status::Ok();
  const size_t ncols = values.size() / rows;
  for (size_t r = 0; r < rows; ++r) {
    Status st = Add(values.subspan(r * ncols, ncols), source_file,
                    rescued.empty() ? std::string_view() : rescued[r]);
    if (!st.ok()) {
      if (failed_row) *failed_row = r;
      return st;
    }
  }
  return Status::Ok();
}

}  // namespace sluice::warehouse
