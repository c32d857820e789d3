#include "sink/clickhouse_sink.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <random>

#include "common/clock.h"
#include "common/log.h"

namespace ringflow {
namespace {

// One of the sink's counters, for its metric family table (applied only to
// the ClickHouseSink whose metric_families() returned the table).
template <const Counter ClickHouseCounters::*F>
uint64_t counter_of(const Sink& sink) {
  return (static_cast<const ClickHouseSink&>(sink).counters().*F).load();
}

constexpr Family<Sink> kFamilies[] = {
    {"ringflow_clickhouse_rows_inserted_total", kCounter,
     "Rows the ClickHouse server acknowledged.", &counter_of<&ClickHouseCounters::rows_inserted>},
    {"ringflow_clickhouse_inserts_total", kCounter, "INSERTs acknowledged (direct and replayed).",
     &counter_of<&ClickHouseCounters::batches_inserted>},
    {"ringflow_clickhouse_inserts_replayed_total", kCounter, "INSERTs replayed from the spool.",
     &counter_of<&ClickHouseCounters::batches_replayed>},
    {"ringflow_clickhouse_duplicates_skipped_total", kCounter,
     "Spooled INSERTs found already in the table and skipped.",
     &counter_of<&ClickHouseCounters::duplicates_skipped>},
    {"ringflow_clickhouse_retries_total", kCounter, "Replay attempts that failed.",
     &counter_of<&ClickHouseCounters::retries>},
    {"ringflow_clickhouse_errors_total", kCounter, "Failed requests of any kind.",
     &counter_of<&ClickHouseCounters::errors>},
    {"ringflow_clickhouse_spooled_inserts_total", kCounter,
     "INSERTs written to the spool (server down or slow).",
     &counter_of<&ClickHouseCounters::spooled_batches_total>},
    {"ringflow_clickhouse_spooled_rows_total", kCounter, "Rows written to the spool.",
     &counter_of<&ClickHouseCounters::spooled_rows_total>},
    {"ringflow_clickhouse_spool_inserts", kGauge, "INSERTs waiting in the spool now.",
     &counter_of<&ClickHouseCounters::spool_batches>},
    {"ringflow_clickhouse_spool_bytes", kGauge, "Bytes in the spool now.",
     &counter_of<&ClickHouseCounters::spool_bytes>},
    {"ringflow_clickhouse_spool_dropped_rows_total", kCounter,
     "Rows refused because the spool was full (spool_max_bytes): lost.",
     &counter_of<&ClickHouseCounters::spool_dropped_rows>},
    {"ringflow_clickhouse_spool_corrupt_total", kCounter, "Spool files set aside as corrupt.",
     &counter_of<&ClickHouseCounters::spool_corrupt>},
    {"ringflow_clickhouse_spool_rejected_total", kCounter,
     "Spool files set aside because the table cannot take them (other columns, or 0.1's "
     "IPv4-only layout).",
     &counter_of<&ClickHouseCounters::spool_rejected>},
};


uint64_t mix(uint64_t a, uint64_t b) {
  __uint128_t r = static_cast<__uint128_t>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}
uint64_t hash_text(uint64_t h, std::string_view s) {
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;  // FNV-1a
  return h;
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "ringflow";
  return std::string(buf).substr(0, 127);
}

// ClickHouse error codes that no retry will fix: the credentials.
bool is_auth_error(const ChResult& r) {
  return r.status == 401 || r.status == 403 || r.code == 192 /* UNKNOWN_USER */ ||
         r.code == 193 /* WRONG_PASSWORD */ || r.code == 194 /* REQUIRED_PASSWORD */ ||
         r.code == 497 /* ACCESS_DENIED */ || r.code == 516 /* AUTHENTICATION_FAILED */;
}

std::string hex16(uint64_t v) {
  char buf[17];
  snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

bool clickhouse_sink_options(const SinkConfig& s, const OutputConfig& output,
                             const AggregateConfig& aggregate, ClickHouseSinkOptions* o,
                             std::string* error) {
  o->name = s.name.empty() ? "clickhouse" : s.name;
  o->endpoint.url = s.url;
  o->endpoint.user = s.user;
  o->endpoint.password = s.password;
  o->endpoint.timeout_ms = s.timeout_ms;
  o->database = s.database;
  o->table = s.table;
  o->batch_rows = std::max<uint32_t>(1, s.batch_rows);
  o->spool_dir = s.spool_dir.empty() ? output.directory + "/spool/" + o->name : s.spool_dir;
  o->spool_max_bytes = s.spool_max_bytes;
  if (s.collector.size() > 127) {
    *error = "sink \"" + o->name + "\": collector: expected at most 127 bytes, found " +
             std::to_string(s.collector.size());
    return false;
  }
  o->collector = s.collector;
  std::string why;
  if (!KeySchema::parse(aggregate.key, &o->key, &why)) {
    *error = "sink \"" + o->name + "\": aggregate.key: " + why;
    return false;
  }
  return true;
}

ClickHouseSink::ClickHouseSink(ClickHouseSinkOptions options)
    : opt_(std::move(options)),
      qualified_(ch_qualified_table(opt_.database, opt_.table)),
      columns_(clickhouse_columns(opt_.key)),
      column_list_(ch_column_list(columns_)),
      spool_columns_(ch_spool_columns(columns_)),
      key_str_(opt_.key.str()),
      collector_(opt_.collector.empty() ? host_name() : opt_.collector.substr(0, 127)),
      encoder_(opt_.key, collector_) {
  insert_sql_ = "INSERT INTO " + qualified_ + " (" + column_list_ + ") FORMAT RowBinary";
  collector_literal_ = "'";
  for (char c : collector_) {
    if (c == '\'' || c == '\\') collector_literal_ += '\\';
    collector_literal_ += c;
  }
  collector_literal_ += '\'';
  // The run nonce: ids must differ between runs (see the header), and
  // between collectors writing one table.
  std::random_device rd;
  uint64_t seed = (uint64_t{rd()} << 32 | rd()) ^
                  static_cast<uint64_t>(monotonic_ns()) ^
                  (static_cast<uint64_t>(getpid()) << 40);
  uint64_t h = hash_text(0xcbf29ce484222325ull, collector_);
  h = hash_text(h, qualified_);
  nonce_ = mix(h ^ seed, 0x9E3779B97F4A7C15ull);
}

uint64_t ClickHouseSink::batch_id(uint64_t seq, uint32_t chunk) const {
  return mix(mix(nonce_ ^ seq, 0xa0761d6478bd642full) ^ chunk, 0xe7037ed1a0b428dbull);
}

std::unique_ptr<ClickHouseSink> ClickHouseSink::create(ClickHouseSinkOptions options,
                                                       std::string* error) {
  ch_http_global_init();
  std::unique_ptr<ClickHouseSink> s(new ClickHouseSink(std::move(options)));
  const std::string who = "sink \"" + s->opt_.name + "\"";
  if (s->opt_.spool_dir.empty()) {
    *error = who + ": no spool directory";
    return nullptr;
  }
  std::string why;
  if (!s->spool_.open(s->opt_.spool_dir, s->opt_.spool_max_bytes, &why)) {
    *error = who + ": " + why;
    return nullptr;
  }
  s->direct_ = std::make_unique<ChHttp>(s->opt_.endpoint);
  s->replay_ = std::make_unique<ChHttp>(s->opt_.endpoint, &s->stop_);
  s->update_spool_gauges();
  const std::string url = ch_redact_url(s->opt_.endpoint.url);
  switch (s->ensure_schema(*s->direct_, &why)) {
    case SchemaState::kOk:
      RF_LOG_INFO("%s: ClickHouse %s table %s ready (collector \"%s\")", who.c_str(), url.c_str(),
                  s->qualified_.c_str(), s->collector_.c_str());
      break;
    case SchemaState::kMismatch:
    case SchemaState::kAuth:
      *error = who + ": " + why;
      return nullptr;
    case SchemaState::kUnavailable:
      RF_LOG_WARN("%s: ClickHouse %s not available at start-up (%s); batches will be spooled "
                  "in %s and inserted when it answers",
                  who.c_str(), url.c_str(), why.c_str(), s->opt_.spool_dir.c_str());
      break;
  }
  if (s->spool_.entries() > 0) {
    RF_LOG_INFO("%s: %zu INSERT(s) (%llu rows) left in the spool by a previous run will be "
                "replayed first",
                who.c_str(), s->spool_.entries(), static_cast<unsigned long long>(s->spool_.rows()));
  }
  if (s->spool_.corrupt() > 0) {
    RF_LOG_WARN("%s: %llu unreadable spool file(s) set aside as *.corrupt in %s", who.c_str(),
                static_cast<unsigned long long>(s->spool_.corrupt()), s->opt_.spool_dir.c_str());
  }
  ClickHouseSink* raw = s.get();
  s->replay_thread_ = std::thread([raw] { raw->replay_loop(); });
  return s;
}

ClickHouseSink::~ClickHouseSink() { close(); }

void ClickHouseSink::close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
  }
  cv_.notify_all();
  if (replay_thread_.joinable()) replay_thread_.join();
}

void ClickHouseSink::reopen() { schema_ok_.store(false); }

ClickHouseSink::SchemaState ClickHouseSink::ensure_schema(ChHttp& http, std::string* message,
                                                         bool wait) {
  std::unique_lock<std::mutex> lock(schema_mu_, std::defer_lock);
  if (wait) {
    lock.lock();
  } else if (!lock.try_lock()) {
    *message = "the table is being checked by the replay thread";
    return SchemaState::kUnavailable;
  }
  if (schema_ok_.load()) return SchemaState::kOk;
  auto fail = [&](const ChResult& r, const char* what) {
    *message = std::string(what) + ": " + r.error;
    if (is_auth_error(r)) {
      *message = "ClickHouse refused the credentials of user \"" +
                 (opt_.endpoint.user.empty() ? std::string("default") : opt_.endpoint.user) +
                 "\": " + r.error;
      return SchemaState::kAuth;
    }
    return SchemaState::kUnavailable;
  };
  if (opt_.database != "default") {
    ChResult r = http.query("CREATE DATABASE IF NOT EXISTS " + ch_quote_identifier(opt_.database));
    if (!r.ok && (r.transport || is_auth_error(r))) return fail(r, "CREATE DATABASE");
    // Otherwise (e.g. no right to create databases) the DESCRIBE below tells.
  }
  ChResult r = http.query(ch_create_table_sql(opt_.database, opt_.table, opt_.key));
  // Enriched names are LowCardinality(String) columns, experimental before
  // ClickHouse 19.x (Debian's 18.16 refuses them without this setting; later
  // servers know it as obsolete). Asked only when the server says so.
  if (!r.ok && r.body.find("allow_experimental_low_cardinality_type") != std::string::npos) {
    r = http.query(ch_create_table_sql(opt_.database, opt_.table, opt_.key),
                   "&allow_experimental_low_cardinality_type=1");
  }
  if (!r.ok && (r.transport || is_auth_error(r))) return fail(r, "CREATE TABLE");
  ChResult d = http.query("DESCRIBE TABLE " + qualified_ + " FORMAT TabSeparated");
  if (!d.ok) {
    if (!r.ok) return fail(r, "CREATE TABLE");
    return fail(d, "DESCRIBE TABLE");
  }
  std::vector<ChColumn> actual;
  std::string why;
  if (!ch_parse_describe(d.body, &actual, &why)) {
    *message = "DESCRIBE TABLE " + qualified_ + ": " + why;
    return SchemaState::kUnavailable;
  }
  std::string diff = ch_schema_difference(columns_, actual);
  if (!diff.empty()) {
    *message = "ClickHouse table " + qualified_ + " exists with other columns than aggregate.key [" +
               key_str_ + "] needs: " + diff + ". ";
    if (ch_is_ipv4_only_table(columns_, actual)) {
      *message += "It was made by ringflow 0.1, whose address columns held IPv4 only (UInt32); "
                  "migrate it as docs/clickhouse.md shows (\"Migrating a table of ringflow "
                  "0.1\"): RENAME TABLE " + qualified_ + " TO <old name>, let ringflow create "
                  "the table, then INSERT INTO it SELECT ... with each address column as "
                  "IPv4ToIPv6(<column>) FROM <old name>.";
    } else {
      *message += "Drop or rename that table, or set sink.table to another name.";
    }
    return SchemaState::kMismatch;
  }
  schema_ok_.store(true);
  std::lock_guard<std::mutex> lk(mu_);
  counters_.schema_ok.set(1);
  return SchemaState::kOk;
}

ClickHouseSink::Delivery ClickHouseSink::deliver(ChHttp& http, uint64_t id, int64_t start_ms,
                                                 uint64_t rows, std::string_view payload,
                                                 bool check_first, std::string* error) {
  // The same query_id for the check and the INSERT: see the header.
  const std::string params = "&query_id=ringflow-" + hex16(id);
  if (check_first) {
    std::string sql = "SELECT count() FROM " + qualified_ +
                      " WHERE interval_start = toDateTime(" +
                      std::to_string(start_ms > 0 ? start_ms / 1000 : 0) +
                      ") AND batch_id = " + std::to_string(id) +
                      " AND collector = " + collector_literal_ + " FORMAT TabSeparated";
    ChResult r = http.query(sql, params);
    if (!r.ok) {
      *error = "checking batch " + hex16(id) + ": " + r.error;
      return Delivery::kFailed;
    }
    uint64_t n = 0;
    std::from_chars(r.body.data(), r.body.data() + r.body.size(), n);
    if (n >= rows) return Delivery::kAlreadyThere;
    if (n > 0) {
      *error = "batch " + hex16(id) + " is in the table with " + std::to_string(n) + " of " +
               std::to_string(rows) + " rows";
      return Delivery::kPartial;
    }
  }
  // One block per INSERT (all or nothing), and through a Distributed table
  // acknowledged only once the shard has written it: see the header.
  std::string p = params + "&insert_distributed_sync=1&max_insert_block_size=" +
                  std::to_string(std::max<uint64_t>(rows + 1, 1048576));
  ChResult r = http.insert(insert_sql_, payload, p);
  if (!r.ok) {
    *error = "INSERT of batch " + hex16(id) + " (" + std::to_string(rows) + " rows): " + r.error;
    // A dropped or altered table shows here first: check it again before
    // the next INSERT (it is re-created if missing).
    if (!r.transport) schema_ok_.store(false);
    return Delivery::kFailed;
  }
  return Delivery::kInserted;
}

void ClickHouseSink::count_insert(uint64_t rows, bool replayed) {
  std::lock_guard<std::mutex> lock(mu_);
  counters_.rows_inserted.add(rows);
  counters_.batches_inserted.add();
  if (replayed) counters_.batches_replayed.add();
  counters_.last_success_ms.set(static_cast<uint64_t>(wall_ms()));
}

void ClickHouseSink::update_spool_gauges() {
  std::lock_guard<std::mutex> lock(mu_);
  counters_.spool_batches.set(spool_.entries());
  counters_.spool_rows.set(spool_.rows());
  counters_.spool_bytes.set(spool_.bytes());
}

bool ClickHouseSink::write(const FlushBatch& batch) {
  last_loss_ = {};
  if (batch.rows.empty()) return true;  // nothing to insert (e.g. an empty final interval)
  if (!batch.schema || batch.schema->str() != key_str_) {
    last_loss_ = {batch.rows.size(), batch.totals.flows};
    last_error_ = "batch key [" + (batch.schema ? batch.schema->str() : std::string()) +
                  "] differs from the sink's [" + key_str_ + "]";
    std::lock_guard<std::mutex> lock(mu_);
    counters_.errors.add();
    return false;
  }
  const size_t n = batch.rows.size();
  const size_t per = opt_.batch_rows;
  bool all_inserted = true;
  std::string cause;
  uint64_t spooled = 0, dropped_rows = 0;
  std::string drop_why;
  for (size_t begin = 0, chunk = 0; begin < n; begin += per, ++chunk) {
    const size_t end = std::min(n, begin + per);
    chunk_.batch_id = batch_id(batch.seq, static_cast<uint32_t>(chunk));
    chunk_.rows = end - begin;
    chunk_.start_ms = batch.start_ms;
    chunk_.payload.clear();
    encoder_.encode(batch, begin, end, chunk_.batch_id, &chunk_.payload);

    // Direct only while nothing waits in the spool (order), and only until
    // the first failure of this write (one timeout at most).
    if (all_inserted && spool_.entries() == 0) {
      SchemaState st = SchemaState::kOk;
      // try_lock: if the replay thread is checking the table right now (and
      // perhaps waiting for its timeout), do not wait for it as well.
      if (!schema_ok_.load()) st = ensure_schema(*direct_, &cause, /*wait=*/false);
      if (st == SchemaState::kOk &&
          deliver(*direct_, chunk_.batch_id, chunk_.start_ms, chunk_.rows, chunk_.payload, false,
                  &cause) == Delivery::kInserted) {
        count_insert(chunk_.rows, false);
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      counters_.errors.add();
    } else if (all_inserted) {
      cause = "earlier INSERTs are still waiting in the spool";
    }
    all_inserted = false;
    if (spool_chunk(chunk_, &drop_why)) {
      ++spooled;
    } else {
      dropped_rows += chunk_.rows;
      last_loss_.rows += chunk_.rows;
      for (size_t i = begin; i < end; ++i) last_loss_.flows += batch.rows[i].c->flows;
    }
  }
  if (all_inserted) {
    spool_full_logged_ = false;
    last_error_.clear();
    return true;
  }
  last_error_ = cause;
  if (spooled > 0) {
    last_error_ += "; " + std::to_string(spooled) + " INSERT(s) spooled (" +
                   std::to_string(spool_.entries()) + " waiting)";
  }
  if (dropped_rows > 0) {
    last_error_ += "; dropped " + std::to_string(dropped_rows) + " rows: " + drop_why;
  }
  return false;
}

bool ClickHouseSink::spool_chunk(SpoolRecord& rec, std::string* why) {
  rec.columns = spool_columns_;
  Spool::Append a = spool_.append(rec, why);
  if (a == Spool::Append::kOk) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      counters_.spooled_batches_total.add();
      counters_.spooled_rows_total.add(rec.rows);
      counters_.spooled_bytes_total.add(Spool::kHeaderBytes + rec.columns.size() + rec.payload.size());
      kick_ = true;
    }
    cv_.notify_all();
    update_spool_gauges();
    return true;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    counters_.spool_dropped_batches.add();
    counters_.spool_dropped_rows.add(rec.rows);
    counters_.errors.add();
  }
  // Logged once per episode (the flusher logs the failing state too; this
  // says that data is being lost, which must not be missed).
  if (!spool_full_logged_) {
    RF_LOG_ERROR("sink \"%s\": DROPPING rows: %s (counted as spool_dropped_rows)",
                 opt_.name.c_str(), why->c_str());
    spool_full_logged_ = true;
  }
  return false;
}

bool ClickHouseSink::wait_spool_empty(uint32_t timeout_ms) const {
  const int64_t deadline = monotonic_ns() + int64_t{timeout_ms} * 1000000;
  while (spool_.entries() > 0) {
    if (monotonic_ns() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

void ClickHouseSink::replay_loop() {
  const std::string who = "sink \"" + opt_.name + "\"";
  uint32_t backoff = opt_.retry_min_ms;
  bool failing = false;          // logged the current outage
  uint64_t replayed_in_episode = 0;
  SpoolRecord rec;
  auto wait = [&](uint32_t ms) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stop_.load(); });
  };
  auto failed = [&](const std::string& why) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      counters_.retries.add();
      counters_.errors.add();
    }
    if (!failing) {
      RF_LOG_WARN("%s: ClickHouse unavailable (%s); %zu INSERT(s) (%llu rows) spooled, retrying",
                  who.c_str(), why.c_str(), spool_.entries(),
                  static_cast<unsigned long long>(spool_.rows()));
      failing = true;
    }
    wait(backoff);
    backoff = std::min(opt_.retry_max_ms, backoff * 2);
  };

  while (!stop_.load()) {
    if (spool_.entries() == 0) {
      if (replayed_in_episode > 0) {
        RF_LOG_INFO("%s: spool drained: %llu INSERT(s) replayed", who.c_str(),
                    static_cast<unsigned long long>(replayed_in_episode));
        replayed_in_episode = 0;
      }
      failing = false;
      backoff = opt_.retry_min_ms;
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stop_.load() || kick_; });
      kick_ = false;
      continue;
    }
    std::string why;
    if (!schema_ok_.load()) {
      SchemaState st = ensure_schema(*replay_, &why);
      if (st == SchemaState::kMismatch || st == SchemaState::kAuth) {
        // Cannot fix itself; keep the data and say so at every back-off
        // step that reaches the maximum, not on every try.
        if (!failing || backoff >= opt_.retry_max_ms) RF_LOG_ERROR("%s: %s", who.c_str(), why.c_str());
        failing = true;
      }
      if (st != SchemaState::kOk) {
        failed(why);
        continue;
      }
    }
    Spool::Read rd = spool_.read_front(&rec, &why);
    if (rd == Spool::Read::kEmpty) continue;
    if (rd == Spool::Read::kCorrupt) {
      RF_LOG_ERROR("%s: %s", who.c_str(), why.c_str());
      std::lock_guard<std::mutex> lock(mu_);
      counters_.spool_corrupt.add();
      continue;
    }
    if (rd == Spool::Read::kError) {
      failed(why);
      continue;
    }
    if (rec.columns != spool_columns_) {
      // Written by a run with another aggregation key, or by ringflow 0.1
      // (names only, IPv4 addresses as UInt32): this table cannot take it.
      // Keep the file for the operator, out of the queue. Counted before
      // it leaves the queue: whoever sees the spool empty (wait_spool_empty)
      // also sees the count.
      {
        std::lock_guard<std::mutex> lock(mu_);
        counters_.spool_rejected.add();
      }
      spool_.set_aside_front("rejected", &why);
      RF_LOG_ERROR("%s: spooled INSERT %s has other columns than the table (%s); set aside as "
                   ".rejected in %s",
                   who.c_str(), hex16(rec.batch_id).c_str(), rec.columns.c_str(),
                   opt_.spool_dir.c_str());
      continue;
    }
    Delivery d = deliver(*replay_, rec.batch_id, rec.start_ms, rec.rows, rec.payload, true, &why);
    if (d == Delivery::kFailed) {
      if (stop_.load()) break;
      failed(why);
      continue;
    }
    if (d == Delivery::kPartial) {
      // Cannot happen with one-block INSERTs; never insert twice. Counted
      // before it leaves the queue, as above.
      {
        std::lock_guard<std::mutex> lock(mu_);
        counters_.spool_rejected.add();
      }
      spool_.set_aside_front("partial", &why);
      RF_LOG_ERROR("%s: %s; not inserted again, set aside as .partial", who.c_str(), why.c_str());
      continue;
    }
    if (d == Delivery::kInserted) {
      count_insert(rec.rows, true);
    } else {
      std::lock_guard<std::mutex> lock(mu_);
      counters_.duplicates_skipped.add();
    }
    if (failing) {
      RF_LOG_INFO("%s: ClickHouse answers again; replaying %zu spooled INSERT(s)", who.c_str(),
                  spool_.entries());
      failing = false;
    }
    ++replayed_in_episode;
    backoff = opt_.retry_min_ms;
    if (!spool_.pop_front(&why)) RF_LOG_ERROR("%s: %s", who.c_str(), why.c_str());
    update_spool_gauges();
  }
}

void register_clickhouse_sink(const AggregateConfig& aggregate) {
  ch_http_global_init();
  register_sink_factory(
      SinkType::kClickHouse,
      [aggregate](const SinkConfig& s, const OutputConfig& out,
                  std::string* error) -> std::unique_ptr<Sink> {
        ClickHouseSinkOptions o;
        if (!clickhouse_sink_options(s, out, aggregate, &o, error)) return nullptr;
        return ClickHouseSink::create(std::move(o), error);
      });
}

std::span<const Family<Sink>> ClickHouseSink::metric_families() const { return kFamilies; }

}  // namespace ringflow
