// The ClickHouse table of the clickhouse sink: its columns for a given
// aggregation key, the CREATE TABLE statement, the comparison with a table
// that already exists, and the RowBinary encoding of a batch's rows.
// docs/clickhouse.md shows the schema and explains each choice.
//
// Columns, in insert order:
//   interval_start, interval_end  DateTime (UTC seconds; intervals are whole
//                                 seconds, a partial end is rounded down)
//   <each aggregate.key field>    addresses (src_addr, dst_addr, nexthop,
//                                 exporter) FixedString(16): IPv6 bytes, IPv4
//                                 v4-mapped (the layout of the IPv6 type of
//                                 current releases; 18.16 has neither IPv4 nor
//                                 IPv6 types); interfaces, AS, domain, sampler,
//                                 sampling UInt32; ports and vlan UInt16; the
//                                 rest UInt8
//   flows, packets, bytes         UInt64
//   first_ms, last_ms             Int64 (ms since the epoch)
//   tcp_flags_or                  UInt8 (OR over the row; "_or" because
//                                 tcp_flags may itself be a key column)
//   overflow, partial             UInt8 (0/1)
//   collector                     String (host name of the writing collector)
//   batch_id                      UInt64 (one INSERT; see clickhouse_sink.h)
// Engine: MergeTree PARTITION BY toYYYYMMDD(interval_start)
//         ORDER BY (interval_start, <key columns>).
//
// The RowBinary encoder writes each row with fixed offsets precomputed from
// the schema: packed key fields are already little-endian integers at known
// offsets (src/aggregate/key_codec.h), so a field is one memcpy.
//
// Thread safety: pure functions; a RowBinaryEncoder is immutable after
// construction and encode() only writes to its output argument.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <ringflow/flow_key.h>

#include "aggregate/flush_batch.h"
#include "aggregate/key_codec.h"

namespace ringflow {

struct ChColumn {
  std::string name;
  std::string type;
  friend bool operator==(const ChColumn&, const ChColumn&) = default;
};

// The table's columns for this key, in insert order.
std::vector<ChColumn> clickhouse_columns(const KeySchema& schema);

// `name` quoted as a ClickHouse identifier (backquotes, escaped).
std::string ch_quote_identifier(std::string_view name);
// `db`.`table`.
std::string ch_qualified_table(std::string_view database, std::string_view table);
// "`a`, `b`, ..." (the column list of an INSERT).
std::string ch_column_list(const std::vector<ChColumn>& columns);
// "`a` DateTime, `b` FixedString(16), ...": what a spooled INSERT was
// encoded for, names and types, so that a payload is replayed only into
// columns of the same layout (ringflow 0.1 spooled the names alone, and its
// UInt32 addresses must not be replayed into FixedString(16) columns).
std::string ch_spool_columns(const std::vector<ChColumn>& columns);

// CREATE TABLE IF NOT EXISTS for the key, valid on 18.16 and current releases.
std::string ch_create_table_sql(std::string_view database, std::string_view table,
                                const KeySchema& schema);

// Parses DESCRIBE TABLE ... FORMAT TabSeparated output (name \t type \t ...
// per line). Returns false + *error on a line without a tab.
bool ch_parse_describe(std::string_view tsv, std::vector<ChColumn>* out, std::string* error);

// "" when `actual` has exactly the `expected` columns (by name and type; the
// order does not matter since every INSERT names its columns); otherwise one
// sentence naming every difference, e.g.
//   "missing column dst_port UInt16; column src_addr is String, expected
//    UInt32; unexpected column foo Int8".
std::string ch_schema_difference(const std::vector<ChColumn>& expected,
                                 const std::vector<ChColumn>& actual);

// Whether `actual` is what ringflow 0.1 created for the same key: the same
// columns, except address columns UInt32 (IPv4 only) and interface / AS
// columns UInt16 where `expected` now has FixedString(16) and UInt32. Such a
// table is refused with a migration recipe instead of "drop it".
bool ch_is_ipv4_only_table(const std::vector<ChColumn>& expected,
                           const std::vector<ChColumn>& actual);

// Encodes rows of a FlushBatch as RowBinary for the columns of
// clickhouse_columns(schema).
class RowBinaryEncoder {
 public:
  // REQUIRES: collector.size() < 128 (one-byte length prefix).
  RowBinaryEncoder(const KeySchema& schema, std::string_view collector);

  // Bytes of one encoded row (all rows have the same size), without the
  // names of text key fields (key_field_is_text), which add a length and
  // their bytes each.
  size_t row_bytes() const { return row_bytes_; }

  // Appends rows [begin, end) of b. REQUIRES: b.schema has the layout of the
  // schema given to the constructor; begin <= end <= b.rows.size().
  // Allocation: grows *out once to its final size (callers reuse *out).
  void encode(const FlushBatch& b, size_t begin, size_t end, uint64_t batch_id,
              std::string* out) const;

 private:
  struct Field {
    KeyFieldSpec spec;  // offsets in each layout
    uint8_t width;      // bytes in RowBinary (16 for addresses, 0 for names)
    bool address;
    bool text;          // a name: a RowBinary String
  };
  bool has_text_ = false;
  std::vector<Field> fields_;
  std::string collector_;  // length byte + text, as RowBinary writes a String
  size_t row_bytes_ = 0;
};

}  // namespace ringflow
