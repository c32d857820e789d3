// The collector's configuration: a typed, validated view of netflow.toml.
//
// load_config_file()/load_config_string() parse TOML (toml++), check every key
// against the schema in src/config/schema.cc (type, range, unknown keys with a
// "did you mean" suggestion, cross-key rules) and return a complete Config
// with defaults filled in plus every error found, each naming
// file:line:column, key, expected and found. Every key is documented in
// docs/config.md and commented in netflow.toml. The ringflow command line
// (src/config/cli.h) layers CLI overrides on top with apply_overrides().
//
// Thread safety: a Config is built once at start-up and then only read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

#include <ringflow/ip.h>

namespace ringflow {

enum class Backend : uint8_t { kAuto, kIoUring, kRecvmmsg };
enum class TimeMode : uint8_t { kArrival, kFlowEnd, kFlowStart };
enum class SinkType : uint8_t { kText, kCsv, kJsonl, kClickHouse };
// Each SinkType's name, in enum order (index = enum value): the `type` of a
// [[sink]] (src/config/schema.cc), the default sink name, and the name in logs
// (sink_type_name(), src/sink/sink.cc). A new sink type is one enumerator and
// one name here.
inline constexpr const char* kSinkTypeNames[] = {"text", "csv", "jsonl", "clickhouse"};
static_assert(std::size(kSinkTypeNames) == static_cast<size_t>(SinkType::kClickHouse) + 1,
              "one name per SinkType; keep kClickHouse last or update this check");

struct ReceiveConfig {
  std::vector<Endpoint> listen;          // loader default ["0.0.0.0:2055"]; never empty when loaded
  Backend backend = Backend::kAuto;
  uint32_t reactors = 0;                 // reactor threads = sockets (SO_REUSEPORT) per address; 0 = auto (CPUs / 3, at least 1), else 1..64
  uint32_t workers = 0;                  // 0 = auto (CPUs - reactors, at least 1), else 1..256
  uint64_t socket_buffer = 32ull << 20;  // SO_RCVBUF(FORCE) bytes, 64 KiB..2 GiB
  uint32_t buffer_size = 2048;           // largest datagram accepted, bytes, 1464..65535
  uint32_t ring_entries = 4096;          // receive buffers per reactor, power of two, 64..32768
  uint32_t batch = 64;                   // datagrams per recvmmsg / completions per batch, 1..1024
  uint32_t queue_depth = 16384;          // datagrams per worker queue, 256..1048576
  std::vector<Cidr> allow;               // empty = accept every exporter
  std::vector<Cidr> forwarded_from;      // senders whose ringflow-encapsulated datagrams are
                                         // unwrapped (docs/cluster.md); empty = refuse them
  std::string spread = "datagram";       // "datagram" (round robin) or "stream" (per exporter stream)
  std::vector<std::string> reactor_cpus; // CPU list per reactor (reactor i: entry i mod size); empty = not pinned
  std::vector<std::string> worker_cpus;  // CPU list per worker (worker i: entry i mod size); empty = not pinned
  uint32_t drain_timeout_s = 3;          // shutdown: keep receiving until quiet, at most this, 0..3600
};

struct SamplingOverride {
  IpAddr exporter;
  uint32_t interval = 1;  // 1..16383
};

struct DecodeConfig {
  bool accept_trailing = false;         // accept (and count) datagrams with trailing bytes
  int64_t future_tolerance_ms = 10000;  // records ending later than now + this are counted
  // sampling
  bool renormalize = true;              // multiply packets/bytes by the sampling interval
  uint32_t default_sampling = 1;        // used when an exporter sends interval 0, 1..16383
  uint32_t max_sampling_rate = 1048576; // larger announced rates are unknown, 16383..4294967295
  bool v9_variable_length = false;      // v9 field length 65535 = variable (H3C NetStream)
  std::vector<SamplingOverride> sampling_overrides;
  // sequence tracking
  uint32_t max_streams = 4096;          // exporter streams tracked per worker, 16..1048576
  uint32_t max_streams_per_address = 64; // of which one exporter address may hold; 0 = no quota
  uint32_t stream_idle_timeout_s = 3600; // streams silent this long are forgotten, 10..604800
  uint32_t full_table_idle_timeout_s = 60; // while the table is full: this long; 0 = off, 0..604800
  uint32_t reorder_window = 65536;      // flows behind expected still counted as late/duplicate
  uint32_t reset_threshold = 1u << 24;  // forward jump (flows) treated as an exporter reset
  // versions and templates (v9 / IPFIX)
  std::vector<std::string> versions = {"v5", "v9", "ipfix", "sflow"};  // on every listen address
  // sFlow bytes per sample: "frame_length" (layer 2 as sent, as sfcapd and
  // sfacctd count), "frame_minus_stripped", "ip_length" (layer 3)
  std::string sflow_bytes = "frame_length";
  // sFlow interfaces (agent, sub-agent, ifIndex) whose counters are tracked per reactor
  uint32_t sflow_max_interfaces = 4096;
  // interface names from options data (exporter, domain, ifIndex) kept per reactor; 0 = off
  uint32_t max_interface_names = 65536;
  uint32_t max_templates = 8192;           // templates (data + options) per reactor, 16..1048576
  uint32_t max_templates_per_stream = 512; // per (exporter, domain), 1..65535
  uint32_t template_timeout_s = 1800;      // unused and unrefreshed this long: forgotten, 10..604800
  uint64_t held_bytes = 4ull << 20;        // data waiting for its template, per reactor; 0 = off
  uint64_t held_bytes_per_stream = 1ull << 20;  // of which one stream may hold
  uint32_t held_timeout_s = 60;            // held data without a template this long: dropped, 1..86400
  bool persist_templates = true;           // keep templates in <output.directory>/templates.state
};

struct AggregateConfig {
  std::vector<std::string> key = {"src_addr", "dst_addr", "src_port", "dst_port", "protocol"};
  uint32_t interval_s = 60;             // 1..86400, flushed on wall-clock multiples
  TimeMode time = TimeMode::kArrival;
  uint32_t grace_s = 5;                 // flow_* modes: wait this long past the boundary, 0..3600
  uint64_t max_entries = 1000000;       // per worker table, 1024..100000000
};

struct SinkConfig {
  SinkType type = SinkType::kText;
  std::string name;                     // for logs/metrics; default = type; unique, [A-Za-z0-9_-]+
  // text
  uint32_t top = 10;                    // rows shown, 0..1000
  // csv / jsonl
  uint32_t keep = 0;                    // files kept, 0 = all
  // clickhouse
  std::string url = "http://127.0.0.1:8123";
  std::string database = "default";
  std::string table = "ringflow_flows";
  std::string user;                     // never logged
  std::string password;                 // never logged
  uint32_t timeout_ms = 10000;
  uint32_t batch_rows = 100000;         // rows per INSERT
  std::string spool_dir;                // default: <output.directory>/spool/<name>
  uint64_t spool_max_bytes = 1ull << 30;
  std::string collector;                // "" = host name; <= 127 bytes (checked by the sink)
};

struct OutputConfig {
  std::string directory = "flows";
  std::vector<SinkConfig> sinks;        // loader default (no [[sink]] in the file): text + csv
  // sFlow interface counter rows per interval: "none", "csv" or "jsonl"
  // (<directory>/counters.csv or counters.jsonl, appended)
  std::string counters = "none";
};

struct MetricsConfig {
  std::string listen = "127.0.0.1:9155";  // empty disables
  uint32_t max_streams = 1000;            // exporter streams exported as series
  uint32_t max_sflow_interfaces = 100;    // sFlow interfaces exported as series
  uint32_t max_connections = 64;          // open HTTP connections; more are refused
  uint32_t max_connections_per_ip = 16;   // from one client address; 0 = only max_connections
  uint32_t connection_timeout_s = 10;     // an idle HTTP connection is closed after this
  bool web = true;                        // the web view: / and /api/v1/* (docs/api.md)
  uint32_t top_k = 1000;                  // Top page: rows kept per sort, projection and interval
  uint32_t top_intervals = 30;            // Top page: flushed intervals kept
  // The Capture page (docs/api.md): the last datagrams of each exporter
  // stream, in a ring allocated at start (src/decode/capture_ring.h).
  uint32_t capture_datagrams = 0;         // kept per stream; 0 = off (no ring, no endpoints)
  uint32_t capture_snaplen = 2048;        // bytes kept of each datagram (longer ones are cut)
  uint32_t capture_bytes = 8u << 20;      // the rings' total size, every reactor together
  // Exposing the listener (docs/config.md): credentials, and the request bound.
  std::string auth_token_file;            // "Authorization: Bearer <its first line>"
  std::string auth_basic_file;            // "user:crypt(3) hash" lines, for Basic auth
  uint32_t max_request_bytes = 16384;     // request line + headers; more is refused (431)
};

struct LogConfig {
  uint32_t stats_interval_s = 10;       // 0 disables the stats line
  std::string level = "info";           // error | warn | info | debug
};

// Least privilege (src/common/privileges.h): after binding, SO_RCVBUFFORCE and
// io_uring set-up the collector switches to this user/group and clears its
// capabilities.
struct ProcessConfig {
  std::string user;                     // "" = keep the current user
  std::string group;                    // "" = the user's primary group (or keep, without user)
};

// Enrichment before aggregation (docs/enrichment.md): your networks, AS
// numbers and organisations, countries. Every file is optional; none = off.
// One [[enrich.snmp.agent]] table: the credentials for the exporters in
// `prefix` (src/enrich/snmp_poller.h, docs/enrichment.md "SNMP").
struct SnmpAgentConfig {
  std::vector<Cidr> exporters;          // exporter prefixes this entry covers (longest wins)
  uint32_t port = 161;                  // the agent's UDP port
  std::string version = "2c";           // 2c | 3
  std::string community;                // v2c
  std::string user;                     // v3 USM user
  std::string level = "authPriv";       // v3: noAuthNoPriv | authNoPriv | authPriv
  std::string auth_protocol = "SHA";    // v3: MD5 | SHA | SHA-224 | SHA-256 | SHA-384 | SHA-512
  std::string auth_password;            // v3: at least 8 characters
  std::string priv_protocol = "AES";    // v3: DES | AES (AES-128)
  std::string priv_password;            // v3: at least 8 characters
};

// [enrich.snmp]: interface names polled from the exporters' SNMP agents.
struct SnmpConfig {
  bool enabled = false;
  uint32_t refresh_s = 3600;            // an exporter's names are polled again after this
  uint32_t retry_s = 60;                // after a failed poll
  uint32_t timeout_ms = 1000;           // per request (each retry waits as long)
  uint32_t retries = 1;                 // per request
  uint32_t max_concurrent = 4;          // exporters polled at once (one thread each)
  uint32_t rate = 10;                   // polls started per second, at most
  uint32_t max_exporters = 1024;        // exporters kept in the cache
  uint32_t max_interfaces = 4096;       // interfaces kept per exporter
  std::vector<SnmpAgentConfig> agents;  // [[enrich.snmp.agent]]
};

struct EnrichConfig {
  std::string networks;                 // CSV networks file: prefix,name,role,site,region,tenant[,asn]
  std::string asn_mmdb;                 // MMDB with autonomous_system_number/_organization
  std::string country_mmdb;             // MMDB with country.iso_code (may be the same file)
  std::vector<std::string> as_sources = {"record", "networks", "mmdb"};  // AS precedence, first non-zero wins
  uint32_t mmdb_cache = 4096;           // per worker and database, slots, power of two 16..1048576
  uint32_t watch_interval_s = 5;        // check the files for changes every N s; 0 = SIGHUP only
  std::string catalogue;                // TOML exporter/interface catalogue and rules
  SnmpConfig snmp;                      // [enrich.snmp]
  // Whether a table of per-address enrichment (networks, MMDBs) is set.
  bool any_address() const { return !networks.empty() || !asn_mmdb.empty() || !country_mmdb.empty(); }
  bool any() const { return any_address() || !catalogue.empty() || snmp.enabled; }
};

// The filter stage ([filter]; docs/filter.md): records matching the
// expression are kept (action "keep") or dropped ("drop") after enrichment
// and before aggregation. "" = no filter.
struct FilterConfig {
  std::string expression;               // src/filter/filter_expr.h grammar
  std::string action = "keep";          // keep | drop
};

// One [[forward]] table: datagrams re-sent, before decode, to UDP targets
// (src/forward/forwarder.h, docs/cluster.md).
struct ForwardConfig {
  std::string name;                     // logs/metrics; default "forward<index>"
  std::vector<Endpoint> targets;        // host:port, UDP
  std::string mode = "replicate";       // replicate | balance
  std::string encapsulation = "none";   // none | ringflow | transparent (refused)
  std::vector<Cidr> exporters;          // select by exporter prefix; empty = every exporter
  std::vector<std::string> versions;    // select by format (decode.versions names); empty = all
  uint32_t queue = 4096;                // datagrams queued per target and reactor
  uint32_t retry_ms = 2000;             // a dead target's back-off before it is probed
  std::vector<std::string> cpus;        // the forwarder thread's CPU list (entry 0); [] = auto
};

struct Config {
  std::string source;                   // file it came from ("" = defaults)
  ReceiveConfig receive;
  DecodeConfig decode;
  AggregateConfig aggregate;
  OutputConfig output;
  MetricsConfig metrics;
  LogConfig log;
  ProcessConfig process;
  EnrichConfig enrich;
  FilterConfig filter;
  std::vector<ForwardConfig> forwards;  // [[forward]]
};

// One validation problem, formatted as
// "FILE:LINE:COL: KEY: expected EXPECTED, found FOUND" (see ConfigError::str).
struct ConfigError {
  std::string file;
  uint32_t line = 0, column = 0;  // 0 = unknown (e.g. a CLI override)
  std::string key;                // dotted path, e.g. "aggregate.interval"
  std::string message;            // complete sentence after the key
  std::string str() const;
};

struct ConfigResult {
  Config config;
  std::vector<ConfigError> errors;  // empty = valid
  bool ok() const { return errors.empty(); }
};

// Parses and validates. Never throws; every problem found is returned.
ConfigResult load_config_file(const std::string& path);
ConfigResult load_config_string(std::string_view toml, const std::string& source_name);

// A CLI override "dotted.key=value" (value in TOML syntax or bare string),
// applied on top of a parsed config with the same validation.
struct Override {
  std::string key;
  std::string value;
  std::string origin;  // names the source in errors, e.g. "--workers"; "" = "--set"
};
void apply_overrides(ConfigResult* result, const std::vector<Override>& overrides);

// The effective configuration as TOML (defaults filled in), for --check-config.
// Loading the dump gives the same Config, except that a non-empty
// sink password is printed as "********".
std::string dump_config(const Config& config);

// The TOML spelling of the enum values ("io_uring", "flow_end"), for logs.
// (Sink types: kSinkTypeNames above, and sink_type_name() in src/sink/sink.h.)
const char* backend_name(Backend b);
const char* time_mode_name(TimeMode t);

}  // namespace ringflow
