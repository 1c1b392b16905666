// warehouse/postgres_copy_binary.h: rows in COPY's binary format (FORMAT binary), which the
// server stores without parsing text: every bigint, numeric, date and timestamp arrives in the
// type's own send format. On a first load the server's text parsing (splitting the fields and
// the input function of each) was half of its CPU. Not thread-safe state: plain functions that
// append to a buffer.
//
// Layout (PostgreSQL's documentation, "COPY" / "Binary Format"): the 19-byte header, then per
// row an int16 field count and per field an int32 byte length (-1 for NULL) and the bytes, and
// an int16 -1 after the last row. All integers big-endian.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/pipeline_config.h"
#include "warehouse/warehouse.h"

namespace sluice::warehouse::pg {

// The signature, flags and header extension that open a binary COPY's data.
void AppendBinaryHeader(std::string* out);
// The int16 -1 that ends it.
void AppendBinaryTrailer(std::string* out);
// A row's int16 field count.
void AppendBinaryRowStart(int fields, std::string* out);
void AppendBinaryNull(std::string* out);
void AppendBinaryInt8(int64_t v, std::string* out);
void AppendBinaryDate(int32_t days, std::string* out);
void AppendBinaryText(std::string_view s, std::string* out);

// Days from 2000-01-01 (PostgreSQL's date) of "YYYY-MM-DD"; false when `s` is not one.
bool BinaryDate(std::string_view s, int32_t* days);
// Microseconds from 2000-01-01 00:00:00 (PostgreSQL's timestamp) of "YYYY-MM-DD[ T]HH:MM:SS"
// with an optional fraction of up to 9 digits, rounded to microseconds as the server rounds
// text; false when `s` is not one.
bool BinaryTimestamp(std::string_view s, int64_t* micros);

// One value of `column` in the send format of the column's PostgreSQL type (PgType); NULL as
// -1. False, with *error saying why, for a value the type cannot take in this form (the text
// back-end would have had the server refuse it).
bool AppendBinaryValue(const Value& v, const config::ColumnSchema& column, std::string* out,
                       std::string* error);

}  // namespace sluice::warehouse::pg
