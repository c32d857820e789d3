// ClickHouseSink: writes every flushed interval to a ClickHouse table over the
// HTTP interface, and keeps what it cannot deliver in an on-disk spool until
// the server is back. docs/clickhouse.md is the user's guide (set-up, schema,
// queries, scale-out); this header is the contract.
//
// Start-up (create()): opens the spool (src/sink/spool_dir.h), then creates
// the table if missing and compares an existing one with the columns the
// aggregation key needs (src/sink/clickhouse_schema.h). A table with other
// columns, or a server that refuses our credentials, fails create() with a
// message naming the difference: ringflow does not start. A server that
// does not answer is not an error: batches are spooled and the check runs
// again before the first replay.
//
// write() (flusher thread): splits the batch into INSERTs of at most
// batch_rows rows (RowBinary), each with its own batch id. While the spool
// is empty it sends them at once, each bounded by timeout_ms; the first that
// fails, and every later one while the spool is not empty, is appended to
// the spool instead (order is kept: nothing overtakes a spooled INSERT), and
// write() returns false so the flusher logs the outage. The flusher is thus
// held at most one timeout per interval, and never when the spool already
// has entries. When the spool is full the newest INSERT is refused, counted
// (spool_dropped_*) and logged; nothing older is ever discarded.
//
// Replay thread: takes the oldest spool entry, makes sure it is not in the
// table already, INSERTs it, deletes it; on failure waits (250 ms doubling
// to 10 s) and tries again. Entries of a previous run are replayed first.
//
// Idempotence (18.16 has no insert deduplication for MergeTree): every row
// carries batch_id = hash(collector, table, run nonce, batch seq, chunk
// index), fixed when the INSERT is first built and stored with it in the
// spool. Before replaying, the sink asks
//   SELECT count() FROM t WHERE interval_start = S AND batch_id = X
//                           AND collector = C
// (the interval_start condition lets the primary key skip all other
// intervals; the collector condition keeps collectors that share a table
// apart whatever their ids) and skips the INSERT when the rows are there:
// this covers
// "inserted but the answer was lost" and "inserted, then crashed before the
// spool file was deleted". The check and the INSERT use the same query_id
// ("ringflow-<id>"), so while an earlier INSERT of that batch still runs on
// the server the check is refused (query id already running) instead of
// reading a count about to change. An INSERT is one block (one part: its
// rows share one interval and max_insert_block_size >= batch_rows), so it is
// all or nothing and the count is 0 or complete. One writer per batch id
// makes this exact.
//
// Clusters: the table may be a Distributed table over per-shard MergeTree
// tables (docs/clickhouse.md, "A cluster"). Every INSERT carries
// insert_distributed_sync=1, so the server acknowledges only after the shard
// that the sharding key picks has written the block (without it a
// Distributed INSERT is acknowledged when queued on the receiving server,
// and the check above could miss queued rows and insert them twice); the
// setting is ignored by other engines. The check reads the Distributed
// table, i.e. every shard; while a shard is down it fails and is retried. The run nonce keeps two runs that flush the same
// interval (a restart within it) from sharing ids.
//
// Thread safety: write/reopen/close on the flusher thread (Sink contract);
// counters() readable from any thread. Counter updates of the two threads
// are serialized by an internal mutex (once per INSERT, not per row).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <ringflow/config.h>
#include <ringflow/flow_key.h>
#include <ringflow/stats.h>

#include "sink/clickhouse_http.h"
#include "sink/clickhouse_schema.h"
#include "sink/sink.h"
#include "sink/spool_dir.h"

namespace ringflow {

struct ClickHouseSinkOptions {
  std::string name = "clickhouse";
  ChEndpoint endpoint;
  std::string database = "default";
  std::string table = "ringflow_flows";
  uint32_t batch_rows = 100000;  // rows per INSERT, >= 1
  std::string spool_dir;         // REQUIRED: not empty
  uint64_t spool_max_bytes = 1ull << 30;
  KeySchema key;                 // aggregate.key
  std::string collector;         // "" = this host's name; at most 127 bytes
  uint32_t retry_min_ms = 250;   // replay back-off, doubling up to retry_max_ms
  uint32_t retry_max_ms = 10000;
};

// Builds the options of one [[sink]] entry: spool_dir defaults to
// <output.directory>/spool/<name>. false + *error when aggregate.key does
// not parse.
bool clickhouse_sink_options(const SinkConfig& sink, const OutputConfig& output,
                             const AggregateConfig& aggregate, ClickHouseSinkOptions* out,
                             std::string* error);

// Everything is counted per INSERT ("batch" below = one INSERT of at most
// batch_rows rows; a flushed interval larger than that is several).
struct alignas(64) ClickHouseCounters {
  Counter rows_inserted;          // rows the server acknowledged
  Counter batches_inserted;       // INSERTs acknowledged (direct + replayed)
  Counter batches_replayed;       // of which from the spool
  Counter duplicates_skipped;     // spooled INSERTs found already in the table
  Counter retries;                // replay attempts that failed (each waits)
  Counter errors;                 // failed requests of any kind
  Counter spooled_batches_total;  // INSERTs written to the spool
  Counter spooled_rows_total;
  Counter spooled_bytes_total;
  Counter spool_batches;          // gauge: entries in the spool now
  Counter spool_rows;             // gauge
  Counter spool_bytes;            // gauge
  Counter spool_dropped_batches;  // refused: spool full (or unwritable)
  Counter spool_dropped_rows;
  Counter spool_corrupt;          // spool files set aside as corrupt
  Counter spool_rejected;         // set aside: the table no longer takes them
  Counter last_success_ms;        // wall clock of the last acknowledged INSERT, 0 = never
  Counter schema_ok;              // gauge: 1 once the table was checked
};

class ClickHouseSink : public Sink {
 public:
  // Opens the spool, checks/creates the table, starts the replay thread.
  // null + *error (a sentence naming the sink) on a schema mismatch, bad
  // credentials or an unusable spool directory.
  static std::unique_ptr<ClickHouseSink> create(ClickHouseSinkOptions options, std::string* error);
  ~ClickHouseSink() override;

  const std::string& name() const override { return opt_.name; }
  bool write(const FlushBatch& batch) override;
  void reopen() override;  // re-checks the table before the next INSERT
  void close() override;   // stops the replay thread; the spool stays for the next run
  std::string last_error() const override { return last_error_; }
  // Spooled chunks are not lost (they are replayed): only the chunks the
  // spool could not take, or a whole batch of the wrong key schema.
  SinkLoss last_loss(const FlushBatch&) const override { return last_loss_; }
  // ringflow_clickhouse_*: inserts, the spool and its bound (from counters()).
  std::span<const Family<Sink>> metric_families() const override;

  const ClickHouseCounters& counters() const { return counters_; }
  const std::vector<ChColumn>& columns() const { return columns_; }
  const std::string& collector() const { return collector_; }

  // For tests and shutdown: waits until the spool is empty (true) or
  // timeout_ms passed (false).
  bool wait_spool_empty(uint32_t timeout_ms) const;

 private:
  enum class SchemaState { kOk, kMismatch, kAuth, kUnavailable };
  enum class Delivery { kInserted, kAlreadyThere, kPartial, kFailed };

  explicit ClickHouseSink(ClickHouseSinkOptions options);
  SchemaState ensure_schema(ChHttp& http, std::string* message, bool wait = true);
  Delivery deliver(ChHttp& http, uint64_t batch_id, int64_t start_ms, uint64_t rows,
                   std::string_view payload, bool check_first, std::string* error);
  uint64_t batch_id(uint64_t seq, uint32_t chunk) const;
  bool spool_chunk(SpoolRecord& rec, std::string* why);  // false: dropped (counted)
  void replay_loop();
  void update_spool_gauges();
  void count_insert(uint64_t rows, bool replayed);

  ClickHouseSinkOptions opt_;
  std::string qualified_;     // `db`.`table`
  std::vector<ChColumn> columns_;
  std::string column_list_;   // as in the INSERT
  std::string spool_columns_; // names and types, in the spool files
  std::string insert_sql_;
  std::string key_str_;       // opt_.key.str(), to check each batch's schema
  std::string collector_;
  std::string collector_literal_;  // collector_ as a quoted SQL string
  uint64_t nonce_ = 0;
  RowBinaryEncoder encoder_;
  Spool spool_;

  std::atomic<bool> stop_{false};
  std::atomic<bool> schema_ok_{false};
  std::mutex schema_mu_;  // one schema check at a time (flusher or replay)
  std::unique_ptr<ChHttp> direct_;  // flusher thread
  std::unique_ptr<ChHttp> replay_;  // replay thread

  // Flusher-thread state.
  SpoolRecord chunk_;        // reused: the INSERT being built
  std::string last_error_;
  SinkLoss last_loss_;       // of the last write()
  bool spool_full_logged_ = false;

  mutable std::mutex mu_;  // counters' writers; wakes the replay thread
  mutable std::condition_variable cv_;
  bool kick_ = false;  // GUARDED_BY(mu_): a new entry was spooled
  ClickHouseCounters counters_;
  std::thread replay_thread_;
};

// Registers the "clickhouse" sink type with make_sinks() (src/sink/sink.h)
// for the given aggregation key. Start-up only, before make_sinks().
void register_clickhouse_sink(const AggregateConfig& aggregate);

}  // namespace ringflow
