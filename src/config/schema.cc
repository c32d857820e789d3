#include "config/schema.h"

#include <charconv>
#include <iterator>
#include <cstdio>
#include <string_view>
#include <type_traits>

#include <ringflow/flow_key.h>

#include "decode/sflow_decoder.h"
#include "decode/wire_formats.h"

namespace ringflow::schema {
namespace {

// A captureless lambda turned into the accessor function pointer that picks
// the Ref alternative (the unary + forces the conversion).
#define RF_FIELD(T, member) +[](T& o) -> auto& { return o.member; }

constexpr const char* kBackendArr[] = {"auto", "io_uring", "recvmmsg"};
constexpr const char* kSpreadArr[] = {"datagram", "stream"};
constexpr const char* kCountersOutputArr[] = {"none", "csv", "jsonl", "clickhouse"};
constexpr const char* kTimeModeArr[] = {"arrival", "flow_end", "flow_start"};
constexpr const char* kLogLevelArr[] = {"error", "warn", "info", "debug"};
constexpr const char* kSectionArr[] = {"receive", "decode", "aggregate", "output", "metrics", "log",
                                       "process", "enrich", "filter"};
constexpr const char* kFilterActionArr[] = {"keep", "drop"};
constexpr const char* kAsSourceArr[] = {"record", "networks", "mmdb"};
// Order matters only for the docs; the address fields come first.
constexpr const char* kKeyFieldArr[] = {
    "src_addr", "dst_addr",  "nexthop", "exporter", "src_port",    "dst_port",
    "protocol", "tos",       "tcp_flags", "input",  "output",      "src_as",
    "dst_as",   "src_mask",  "dst_mask",  "engine_type", "engine_id", "ip_version",
    "direction", "vlan", "domain", "sampler", "version", "sampling",
    // enrichment ([enrich])
    "src_net", "dst_net", "src_net_role", "dst_net_role", "src_net_site", "dst_net_site",
    "src_net_region", "dst_net_region", "src_net_tenant", "dst_net_tenant", "src_as_name",
    "dst_as_name", "src_country", "dst_country", "src_as_source", "dst_as_source",
    // the exporter and interface catalogue (enrich.catalogue)
    "exporter_name", "exporter_site", "exporter_region", "exporter_role", "exporter_tenant",
    "in_if_name", "out_if_name", "in_if_description", "out_if_description", "in_if_speed",
    "out_if_speed", "in_if_boundary", "out_if_boundary", "in_if_provider", "out_if_provider",
    "in_if_connectivity", "out_if_connectivity"};

// A key field is registered once, in kKeyFieldInfo (include/ringflow/flow_key.h);
// this list must name the same fields, which the compiler checks.
constexpr bool lists_every_key_field() {
  if (std::size(kKeyFieldArr) != kKeyFieldCount) return false;
  for (const KeyFieldInfo& f : kKeyFieldInfo) {
    bool found = false;
    for (const char* name : kKeyFieldArr) found = found || f.name == std::string_view(name);
    if (!found) return false;
  }
  return true;
}
static_assert(lists_every_key_field(),
              "kKeyFieldArr must list exactly the fields of kKeyFieldInfo (ringflow/flow_key.h)");

constexpr int64_t kKiB = 1024, kMiB = kKiB * 1024, kGiB = kMiB * 1024, kTiB = kGiB * 1024;

const Key<Config> kConfigArr[] = {
    // [receive]
    {.name = "receive.listen", .ref = RF_FIELD(Config, receive.listen),
     .help = "UDP addresses to receive NetFlow, IPFIX and sFlow on (any port takes every format decode.versions enables): \"host:port\", \"[v6]:port\" or \":port\" (all addresses, dual-stack)",
     .rule = Rule::kNonEmpty},
    {.name = "receive.backend", .ref = RF_FIELD(Config, receive.backend),
     .help = "receive loop: io_uring, recvmmsg, or auto (io_uring if the kernel allows it, else recvmmsg)",
     .choices = kBackendArr},
    {.name = "receive.reactors", .ref = RF_FIELD(Config, receive.reactors),
     .help = "receive threads, each with one SO_REUSEPORT socket per listen address; 0 = auto (a third of the CPUs this process may use, at least 1)",
     .min = 0, .max = 64},
    {.name = "receive.workers", .ref = RF_FIELD(Config, receive.workers),
     .help = "decode/aggregate threads; 0 = auto (the CPUs this process may use - reactors, at least 1)",
     .min = 0, .max = 256},
    {.name = "receive.socket_buffer", .ref = RF_FIELD(Config, receive.socket_buffer),
     .help = "SO_RCVBUF per socket, bytes (SO_RCVBUFFORCE when permitted)",
     .min = 64 * kKiB, .max = 2 * kGiB},
    {.name = "receive.buffer_size", .ref = RF_FIELD(Config, receive.buffer_size),
     .help = "largest datagram accepted, bytes; larger ones are counted as oversize",
     .min = 1464, .max = 65535},
    {.name = "receive.ring_entries", .ref = RF_FIELD(Config, receive.ring_entries),
     .help = "receive buffers per reactor",
     .min = 64, .max = 32768, .rule = Rule::kPowerOfTwo},
    {.name = "receive.batch", .ref = RF_FIELD(Config, receive.batch),
     .help = "datagrams per recvmmsg call / completions handled per batch",
     .min = 1, .max = 1024},
    {.name = "receive.queue_depth", .ref = RF_FIELD(Config, receive.queue_depth),
     .help = "datagrams each worker's queue holds; a full queue drops (and counts)",
     .min = 256, .max = 1048576},
    {.name = "receive.allow", .ref = RF_FIELD(Config, receive.allow),
     .help = "exporter allow-list (CIDR prefixes); empty = accept every exporter"},
    {.name = "receive.forwarded_from", .ref = RF_FIELD(Config, receive.forwarded_from),
     .help = "senders (CIDR prefixes, e.g. a front ringflow) whose ringflow-encapsulated "
             "datagrams are unwrapped and taken as from the exporter inside; empty = refuse "
             "every encapsulated datagram (counted)"},
    {.name = "receive.drain_timeout", .ref = RF_FIELD(Config, receive.drain_timeout_s),
     .help = "at shutdown, seconds to keep receiving until no datagram arrived for 200 ms; "
             "later ones are dropped and counted by the kernel; 0 = take only what the sockets hold",
     .min = 0, .max = 3600},
    {.name = "receive.spread", .ref = RF_FIELD(Config, receive.spread),
     .help = "how datagrams go to workers: datagram (each to the next worker: one busy exporter uses every worker) or stream (each exporter stream to one worker: fewer keys per worker table)",
     .choices = kSpreadArr},
    {.name = "receive.reactor_cpus", .ref = RF_FIELD(Config, receive.reactor_cpus),
     .help = "pin reactor i to the CPUs of entry i (i mod the number of entries), each a CPU list such as \"0\" or \"0,2-3\"; [] = not pinned",
     .rule = Rule::kCpuLists},
    {.name = "receive.worker_cpus", .ref = RF_FIELD(Config, receive.worker_cpus),
     .help = "pin worker i to the CPUs of entry i (i mod the number of entries), each a CPU list; [] = not pinned",
     .rule = Rule::kCpuLists},
    // [decode]
    {.name = "decode.accept_trailing", .ref = RF_FIELD(Config, decode.accept_trailing),
     .help = "accept (and count) datagrams with bytes after the last record instead of rejecting them"},
    {.name = "decode.future_tolerance_ms", .ref = RF_FIELD(Config, decode.future_tolerance_ms),
     .help = "records ending later than now + this many ms are counted as future (not dropped)",
     .min = 0, .max = 86400000},
    {.name = "decode.renormalize", .ref = RF_FIELD(Config, decode.renormalize),
     .help = "multiply packets and bytes by the sampling interval"},
    {.name = "decode.default_sampling", .ref = RF_FIELD(Config, decode.default_sampling),
     .help = "sampling interval assumed when an exporter sends 0",
     .min = 1, .max = 16383},
    {.name = "decode.v9_variable_length", .ref = RF_FIELD(Config, decode.v9_variable_length),
     .help = "read a NetFlow v9 field length of 65535 as IPFIX variable length (H3C NetStream); "
             "off: a fixed length no datagram holds, so such templates are refused"},
    {.name = "decode.max_sampling_rate", .ref = RF_FIELD(Config, decode.max_sampling_rate),
     .help = "largest sampling rate (1 in N) believed from an exporter; a larger one is taken "
             "as unknown (decode.default_sampling) and counted",
     .min = 16383, .max = 4294967295},
    {.name = "decode.versions", .ref = RF_FIELD(Config, decode.versions),
     .help = "export versions accepted on every listen address; others are rejected and counted",
     .choices = kWireFormatConfigNames, .rule = Rule::kChoiceList},
    {.name = "decode.sflow_bytes", .ref = RF_FIELD(Config, decode.sflow_bytes),
     .help = "bytes of an sFlow sample: frame_length (layer 2 as the agent sent it, as sfcapd "
             "and sfacctd count), frame_minus_stripped, or ip_length (layer 3)",
     .choices = kSflowBytesNames},
    {.name = "decode.sflow_max_interfaces", .ref = RF_FIELD(Config, decode.sflow_max_interfaces),
     .help = "sFlow interfaces (agent, sub-agent, ifIndex) whose counter samples are turned into "
             "deltas and reconciled with the flow samples, per reactor; more are counted, not "
             "tracked",
     .min = 1, .max = 1048576},
    {.name = "decode.max_interface_names",
     .ref = RF_FIELD(Config, decode.max_interface_names),
     .help = "interface names and descriptions (exporter, domain, ifIndex) learnt from v9/IPFIX "
             "options data (interfaceName 82, interfaceDescription 83), per reactor; more are "
             "counted, not kept; 0 = do not learn them",
     .min = 0, .max = 1048576},
    {.name = "decode.max_streams", .ref = RF_FIELD(Config, decode.max_streams),
     .help = "exporter streams (address, version, domain) tracked per reactor",
     .min = 16, .max = 1048576},
    {.name = "decode.max_streams_per_address",
     .ref = RF_FIELD(Config, decode.max_streams_per_address),
     .help = "streams one exporter address may have tracked (by version and domain); 0 = no quota",
     .min = 0, .max = 1048576},
    {.name = "decode.stream_idle_timeout", .ref = RF_FIELD(Config, decode.stream_idle_timeout_s),
     .help = "seconds of silence after which a stream is forgotten",
     .min = 10, .max = 604800},
    {.name = "decode.full_table_idle_timeout",
     .ref = RF_FIELD(Config, decode.full_table_idle_timeout_s),
     .help = "while the stream table is full, seconds of silence after which a stream is "
             "forgotten to make room (0: only decode.stream_idle_timeout)",
     .min = 0, .max = 604800},
    {.name = "decode.reorder_window", .ref = RF_FIELD(Config, decode.reorder_window),
     .help = "flows behind the expected sequence still classified as late or duplicate",
     .min = 0, .max = int64_t{1} << 31},
    {.name = "decode.reset_threshold", .ref = RF_FIELD(Config, decode.reset_threshold),
     .help = "forward sequence jump (flows) treated as an exporter reset rather than loss",
     .min = 1, .max = int64_t{1} << 31},
    {.name = "decode.max_templates", .ref = RF_FIELD(Config, decode.max_templates),
     .help = "v9/IPFIX templates (data and options) kept per reactor; more are refused and counted",
     .min = 16, .max = 1048576},
    {.name = "decode.max_templates_per_stream", .ref = RF_FIELD(Config, decode.max_templates_per_stream),
     .help = "templates one exporter stream (address, domain) may have; more are refused and counted",
     .min = 1, .max = 65535},
    {.name = "decode.template_timeout", .ref = RF_FIELD(Config, decode.template_timeout_s),
     .help = "seconds a template lives without a refresh or a data set using it",
     .min = 10, .max = 604800},
    {.name = "decode.held_bytes", .ref = RF_FIELD(Config, decode.held_bytes),
     .help = "v9/IPFIX data sets that arrive before their template, held per reactor until it comes (bytes, in receive.buffer_size slots); 0 = drop them (counted)",
     .min = 0, .max = 1 * kGiB},
    {.name = "decode.held_bytes_per_stream", .ref = RF_FIELD(Config, decode.held_bytes_per_stream),
     .help = "of decode.held_bytes, what one exporter stream may hold",
     .min = 0, .max = 1 * kGiB},
    {.name = "decode.held_timeout", .ref = RF_FIELD(Config, decode.held_timeout_s),
     .help = "seconds a held data set waits for its template before it is dropped (counted)",
     .min = 1, .max = 86400},
    {.name = "decode.persist_templates", .ref = RF_FIELD(Config, decode.persist_templates),
     .help = "keep templates and options sampling rates across restarts in <output.directory>/templates.state"},
    // [aggregate]
    {.name = "aggregate.key", .ref = RF_FIELD(Config, aggregate.key),
     .help = "fields that make a row, address fields optionally with a prefix (\"src_addr/24\"); [] = totals only",
     .choices = kKeyFieldArr, .rule = Rule::kKeyFields},
    {.name = "aggregate.interval", .ref = RF_FIELD(Config, aggregate.interval_s),
     .help = "seconds per interval, flushed on wall-clock multiples",
     .min = 1, .max = 86400},
    {.name = "aggregate.time", .ref = RF_FIELD(Config, aggregate.time),
     .help = "which time puts a flow in an interval: arrival, flow_end or flow_start",
     .choices = kTimeModeArr},
    {.name = "aggregate.grace", .ref = RF_FIELD(Config, aggregate.grace_s),
     .help = "flow_end/flow_start: seconds to wait past an interval's end for late flows",
     .min = 0, .max = 3600},
    {.name = "aggregate.max_entries", .ref = RF_FIELD(Config, aggregate.max_entries),
     .help = "rows per worker table (memory bound); new keys beyond go to a counted overflow row",
     .min = 1024, .max = 100000000},
    // [output]
    {.name = "output.directory", .ref = RF_FIELD(Config, output.directory),
     .help = "where the csv and jsonl sinks write (created if missing)",
     .rule = Rule::kNonEmpty},
    {.name = "output.counters", .ref = RF_FIELD(Config, output.counters),
     .help = "sFlow interface counter rows per interval (deltas, flow-estimated bytes, coverage): "
             "none, csv (<output.directory>/counters.csv) or jsonl (counters.jsonl), appended, or "
             "clickhouse (table <table>_counters beside the first clickhouse sink's, created if "
             "missing)",
     .choices = kCountersOutputArr},
    // [metrics]
    {.name = "metrics.listen", .ref = RF_FIELD(Config, metrics.listen),
     .help = "Prometheus /metrics HTTP address \"host:port\"; \"\" disables",
     .rule = Rule::kEndpointOrEmpty},
    {.name = "metrics.max_streams", .ref = RF_FIELD(Config, metrics.max_streams),
     .help = "most exporter streams exported as per-stream series",
     .min = 0, .max = 1048576},
    {.name = "metrics.max_sflow_interfaces", .ref = RF_FIELD(Config, metrics.max_sflow_interfaces),
     .help = "most sFlow interfaces (agent, sub-agent, ifIndex) exported as per-interface series, "
             "the busiest by octets; the rest summed under agent=\"other\"",
     .min = 0, .max = 1048576},
    {.name = "metrics.max_connections", .ref = RF_FIELD(Config, metrics.max_connections),
     .help = "most open HTTP connections on metrics.listen; more are closed at once (lowered at start-up to leave file descriptors for the sinks)",
     .min = 1, .max = 65536},
    {.name = "metrics.max_connections_per_ip",
     .ref = RF_FIELD(Config, metrics.max_connections_per_ip),
     .help = "most open HTTP connections from one client address; 0 = only metrics.max_connections",
     .min = 0, .max = 65536},
    {.name = "metrics.connection_timeout",
     .ref = RF_FIELD(Config, metrics.connection_timeout_s),
     .help = "seconds after which an idle HTTP connection (nothing received or sent) is closed",
     .min = 1, .max = 3600},
    {.name = "metrics.web", .ref = RF_FIELD(Config, metrics.web),
     .help = "serve the web view on metrics.listen: the page at / and its JSON API /api/v1/overview (docs/api.md); false serves /metrics only"},
    {.name = "metrics.top_k", .ref = RF_FIELD(Config, metrics.top_k),
     .help = "Top page (/api/v1/top): rows kept per interval, projection and sort (bytes, packets, flows)",
     .min = 1, .max = 100000},
    {.name = "metrics.top_intervals", .ref = RF_FIELD(Config, metrics.top_intervals),
     .help = "Top page (/api/v1/top): flushed intervals kept for its sums and time series",
     .min = 1, .max = 1440},
    {.name = "metrics.auth_token_file", .ref = RF_FIELD(Config, metrics.auth_token_file),
     .help = "file whose first line (at least 16 characters) is the bearer token every request to metrics.listen must carry (Authorization: Bearer ...); \"\" = none"},
    {.name = "metrics.auth_basic_file", .ref = RF_FIELD(Config, metrics.auth_basic_file),
     .help = "file of user:hash lines (crypt(3) hashes: mkpasswd -m sha-256 or openssl passwd -5) for HTTP basic auth on metrics.listen; \"\" = none"},
    {.name = "metrics.max_request_bytes", .ref = RF_FIELD(Config, metrics.max_request_bytes),
     .help = "most bytes of an HTTP request's line and headers on metrics.listen; a larger request is refused (431)",
     .min = 4096, .max = 1048576},
    {.name = "metrics.capture_datagrams", .ref = RF_FIELD(Config, metrics.capture_datagrams),
     .help = "Capture page (/api/v1/capture): the last datagrams kept per exporter stream, downloadable as pcap; 0 = off (no ring, no endpoint)",
     .min = 0, .max = 65536},
    {.name = "metrics.capture_snaplen", .ref = RF_FIELD(Config, metrics.capture_snaplen),
     .help = "Capture page: bytes kept of each datagram (a longer one is cut, its length kept); a stream's ring holds capture_datagrams x capture_snaplen bytes",
     .min = 64, .max = 65535},
    {.name = "metrics.capture_bytes", .ref = RF_FIELD(Config, metrics.capture_bytes),
     .help = "Capture page: the rings' total size in bytes (every reactor together); the streams captured are this / (capture_datagrams x capture_snaplen), later streams are counted, not kept",
     .min = 65536, .max = 1u << 30},
    // [log]
    {.name = "log.stats_interval", .ref = RF_FIELD(Config, log.stats_interval_s),
     .help = "seconds between stats lines on stderr; 0 disables",
     .min = 0, .max = 86400},
    {.name = "log.level", .ref = RF_FIELD(Config, log.level),
     .help = "least severe level logged: error, warn, info or debug",
     .choices = kLogLevelArr},
    // [process]
    {.name = "process.user", .ref = RF_FIELD(Config, process.user),
     .help = "user to run as once sockets and io_uring are set up (capabilities are then cleared); \"\" = stay"},
    {.name = "process.group", .ref = RF_FIELD(Config, process.group),
     .help = "group to run as after set-up; \"\" = the user's primary group (or stay, without process.user)"},
    // [enrich]
    {.name = "enrich.networks", .ref = RF_FIELD(Config, enrich.networks),
     .help = "your networks: a CSV file of prefix,name,role,site,region,tenant[,asn] (IPv4 and IPv6, longest prefix wins), read at start, on SIGHUP and when it changes; \"\" = none"},
    {.name = "enrich.asn_mmdb", .ref = RF_FIELD(Config, enrich.asn_mmdb),
     .help = "MMDB file giving autonomous_system_number and autonomous_system_organization (GeoLite2-ASN, DB-IP ASN Lite, IPinfo); \"\" = none"},
    {.name = "enrich.country_mmdb", .ref = RF_FIELD(Config, enrich.country_mmdb),
     .help = "MMDB file giving country.iso_code (GeoLite2-Country, DB-IP Country Lite, IPinfo); may be the ASN file; \"\" = none"},
    {.name = "enrich.as_sources", .ref = RF_FIELD(Config, enrich.as_sources),
     .help = "where src_as/dst_as come from, in order; the first non-zero wins: record (the exporter's BGP AS), networks (the networks file's asn), mmdb",
     .choices = kAsSourceArr, .rule = Rule::kChoiceList},
    {.name = "enrich.mmdb_cache", .ref = RF_FIELD(Config, enrich.mmdb_cache),
     .help = "per worker and MMDB file: addresses whose answer is cached (96 bytes each)",
     .min = 16, .max = 1048576, .rule = Rule::kPowerOfTwo},
    {.name = "enrich.watch_interval", .ref = RF_FIELD(Config, enrich.watch_interval_s),
     .help = "seconds between checks of the enrichment files for a change (a changed file is reloaded); 0 = reload on SIGHUP only",
     .min = 0, .max = 86400},
    {.name = "enrich.catalogue", .ref = RF_FIELD(Config, enrich.catalogue),
     .help = "exporter and interface catalogue: a TOML file of [[exporter]] (name, site, region, role, tenant, [[exporter.interface]] name, description, speed, boundary, provider, connectivity) and ordered [[rule]] classifiers, read at start, on SIGHUP and when it changes; \"\" = none"},
    // [enrich.snmp] (src/enrich/snmp_poller.h); the agents: kSnmpAgentKeys
    {.name = "enrich.snmp.enabled", .ref = RF_FIELD(Config, enrich.snmp.enabled),
     .help = "poll the interface names (ifName), descriptions (ifAlias) and speeds (ifHighSpeed) of the exporters seen from their SNMP agents ([[enrich.snmp.agent]]); the catalogue overrides them"},
    {.name = "enrich.snmp.refresh", .ref = RF_FIELD(Config, enrich.snmp.refresh_s),
     .help = "seconds before an exporter's names are polled again after a successful poll",
     .min = 10, .max = 604800},
    {.name = "enrich.snmp.retry", .ref = RF_FIELD(Config, enrich.snmp.retry_s),
     .help = "seconds before an exporter is polled again after a failed poll (the names it had are kept)",
     .min = 1, .max = 86400},
    {.name = "enrich.snmp.timeout_ms", .ref = RF_FIELD(Config, enrich.snmp.timeout_ms),
     .help = "ms to wait for each SNMP answer (and each retry's): a dead agent holds one of max_concurrent polls for timeout_ms x (retries + 1)",
     .min = 10, .max = 60000},
    {.name = "enrich.snmp.retries", .ref = RF_FIELD(Config, enrich.snmp.retries),
     .help = "times an unanswered SNMP request is sent again", .min = 0, .max = 10},
    {.name = "enrich.snmp.max_concurrent", .ref = RF_FIELD(Config, enrich.snmp.max_concurrent),
     .help = "exporters polled at the same time (all on one thread, rf-snmp)",
     .min = 1, .max = 256},
    {.name = "enrich.snmp.rate", .ref = RF_FIELD(Config, enrich.snmp.rate),
     .help = "polls started per second, at most (each is 3 to a few GETBULK requests per exporter)",
     .min = 1, .max = 10000},
    {.name = "enrich.snmp.max_exporters", .ref = RF_FIELD(Config, enrich.snmp.max_exporters),
     .help = "exporters whose names are kept; more are not polled (ringflow_enrich_snmp_exporters{state=\"refused\"})",
     .min = 1, .max = 1000000},
    {.name = "enrich.snmp.max_interfaces", .ref = RF_FIELD(Config, enrich.snmp.max_interfaces),
     .help = "interfaces kept per exporter; a poll that finds more keeps the first (by ifIndex) and counts too_many_interfaces",
     .min = 1, .max = 1000000},
    // [filter]
    {.name = "filter.expression", .ref = RF_FIELD(Config, filter.expression),
     .help = "keep (or drop, filter.action) the records matching this expression, after enrichment and before aggregation and --print-flows: nfdump-like terms such as \"src net 10.0.0.0/8 and proto tcp\", \"port in [80 443]\", or any key field: \"dst_net_role = customer\" (docs/filter.md); \"\" = keep every record",
     .rule = Rule::kFilterExpr},
    {.name = "filter.action", .ref = RF_FIELD(Config, filter.action),
     .help = "keep: only the matching records are aggregated; drop: the matching records are dropped; either way counted in ringflow_filter_records_total",
     .choices = kFilterActionArr},
};

constexpr uint8_t kText = sink_bit(SinkType::kText);
constexpr uint8_t kFiles = sink_bit(SinkType::kCsv) | sink_bit(SinkType::kJsonl);
constexpr uint8_t kClickHouse = sink_bit(SinkType::kClickHouse);

const Key<SinkConfig> kSinkArr[] = {
    {.name = "type", .ref = RF_FIELD(SinkConfig, type),
     .help = "text (summary on stdout), csv or jsonl (one file per interval), clickhouse (HTTP INSERT)",
     .choices = kSinkTypeNames, .required = true},
    {.name = "name", .ref = RF_FIELD(SinkConfig, name),
     .help = "unique name used in logs, metrics and the spool path; default = the type",
     .rule = Rule::kName},
    {.name = "top", .ref = RF_FIELD(SinkConfig, top),
     .help = "rows (largest by bytes) shown per interval",
     .min = 0, .max = 1000, .sinks = kText},
    {.name = "keep", .ref = RF_FIELD(SinkConfig, keep),
     .help = "interval files kept in output.directory; 0 = keep all",
     .min = 0, .max = 1000000, .sinks = kFiles},
    {.name = "url", .ref = RF_FIELD(SinkConfig, url),
     .help = "ClickHouse HTTP interface", .rule = Rule::kHttpUrl, .sinks = kClickHouse},
    {.name = "database", .ref = RF_FIELD(SinkConfig, database),
     .help = "ClickHouse database", .rule = Rule::kNonEmpty, .sinks = kClickHouse},
    {.name = "table", .ref = RF_FIELD(SinkConfig, table),
     .help = "ClickHouse table", .rule = Rule::kNonEmpty, .sinks = kClickHouse},
    {.name = "user", .ref = RF_FIELD(SinkConfig, user),
     .help = "ClickHouse user; \"\" = server default", .sinks = kClickHouse},
    {.name = "password", .ref = RF_FIELD(SinkConfig, password),
     .help = "ClickHouse password; never logged, masked in --check-config", .sinks = kClickHouse},
    {.name = "timeout_ms", .ref = RF_FIELD(SinkConfig, timeout_ms),
     .help = "HTTP request timeout, ms", .min = 100, .max = 3600000, .sinks = kClickHouse},
    {.name = "batch_rows", .ref = RF_FIELD(SinkConfig, batch_rows),
     .help = "rows per INSERT", .min = 1, .max = 10000000, .sinks = kClickHouse},
    {.name = "spool_dir", .ref = RF_FIELD(SinkConfig, spool_dir),
     .help = "where failed batches wait for retry; \"\" = <output.directory>/spool/<name>",
     .sinks = kClickHouse},
    {.name = "spool_max_bytes", .ref = RF_FIELD(SinkConfig, spool_max_bytes),
     .help = "upper bound on the spool's size, bytes",
     .min = kMiB, .max = kTiB, .sinks = kClickHouse},
    {.name = "collector", .ref = RF_FIELD(SinkConfig, collector),
     .help = "this collector's name in the collector column and in batch ids (at most 127 "
             "bytes); \"\" = the host name",
     .sinks = kClickHouse},
};

constexpr const char* kForwardModeArr[] = {"replicate", "balance"};
constexpr const char* kEncapsulationArr[] = {"none", "ringflow", "transparent"};

const Key<ForwardConfig> kForwardArr[] = {
    {.name = "name", .ref = RF_FIELD(ForwardConfig, name),
     .help = "unique name in logs and metrics; default = forward<index>",
     .rule = Rule::kName},
    {.name = "targets", .ref = RF_FIELD(ForwardConfig, targets),
     .help = "UDP targets \"host:port\" the selected datagrams are sent to",
     .rule = Rule::kNonEmpty, .required = true},
    {.name = "mode", .ref = RF_FIELD(ForwardConfig, mode),
     .help = "replicate (every target gets every datagram) or balance (each exporter stream to "
             "one live target by rendezvous hash; v9/IPFIX templates and options to all)",
     .choices = kForwardModeArr},
    {.name = "encapsulation", .ref = RF_FIELD(ForwardConfig, encapsulation),
     .help = "none (plain re-send: the target sees this collector as the exporter), ringflow "
             "(a versioned header with the exporter's address and port, unwrapped by a ringflow "
             "target's receive.forwarded_from), transparent (the exporter's own source address and "
             "port, from a raw IPv4 socket: needs CAP_NET_RAW, refused at start without it)",
     .choices = kEncapsulationArr},
    {.name = "exporters", .ref = RF_FIELD(ForwardConfig, exporters),
     .help = "forward only datagrams from these exporter prefixes; empty = every exporter"},
    {.name = "versions", .ref = RF_FIELD(ForwardConfig, versions),
     .help = "forward only datagrams of these formats (names as in decode.versions); not set = "
             "every format ringflow recognises",
     .choices = kWireFormatConfigNames, .rule = Rule::kChoiceList},
    {.name = "queue", .ref = RF_FIELD(ForwardConfig, queue),
     .help = "datagrams queued per target and reactor (preallocated); a full queue drops and "
             "counts",
     .min = 16, .max = 1048576, .rule = Rule::kPowerOfTwo},
    {.name = "retry_ms", .ref = RF_FIELD(ForwardConfig, retry_ms),
     .help = "a target found dead (ICMP port unreachable: ECONNREFUSED) is probed again after "
             "this many ms; its streams go to the other targets meanwhile",
     .min = 100, .max = 600000},
    {.name = "cpus", .ref = RF_FIELD(ForwardConfig, cpus),
     .help = "pin this forward's thread to the CPUs of the first entry, a CPU list such as \"1\"; "
             "[] = the CPUs no reactor is pinned to (receive.reactor_cpus), when any is left, "
             "else not pinned",
     .rule = Rule::kCpuLists},
};

const Key<SamplingOverride> kSamplingArr[] = {
    {.name = "exporter", .ref = RF_FIELD(SamplingOverride, exporter),
     .help = "exporter address the override applies to", .required = true},
    {.name = "interval", .ref = RF_FIELD(SamplingOverride, interval),
     .help = "sampling interval used for it, whatever the exporter sends",
     .min = 1, .max = 16383, .required = true},
};

constexpr const char* kSnmpVersionArr[] = {"2c", "3"};
constexpr const char* kSnmpLevelArr[] = {"noAuthNoPriv", "authNoPriv", "authPriv"};
constexpr const char* kSnmpAuthArr[] = {"MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512"};
constexpr const char* kSnmpPrivArr[] = {"DES", "AES"};

const Key<SnmpAgentConfig> kSnmpAgentArr[] = {
    {.name = "exporters", .ref = RF_FIELD(SnmpAgentConfig, exporters),
     .help = "exporter prefixes whose agents these credentials reach (the exporter's own address is polled); the longest prefix over all entries wins",
     .rule = Rule::kNonEmpty, .required = true},
    {.name = "port", .ref = RF_FIELD(SnmpAgentConfig, port),
     .help = "the agents' UDP port", .min = 1, .max = 65535},
    {.name = "version", .ref = RF_FIELD(SnmpAgentConfig, version),
     .help = "SNMP version: 2c (community) or 3 (USM user)", .choices = kSnmpVersionArr},
    {.name = "community", .ref = RF_FIELD(SnmpAgentConfig, community),
     .help = "v2c community; never logged, masked in --check-config"},
    {.name = "user", .ref = RF_FIELD(SnmpAgentConfig, user), .help = "v3 USM user name"},
    {.name = "level", .ref = RF_FIELD(SnmpAgentConfig, level),
     .help = "v3 security level", .choices = kSnmpLevelArr},
    {.name = "auth_protocol", .ref = RF_FIELD(SnmpAgentConfig, auth_protocol),
     .help = "v3 authentication protocol", .choices = kSnmpAuthArr},
    {.name = "auth_password", .ref = RF_FIELD(SnmpAgentConfig, auth_password),
     .help = "v3 authentication passphrase (at least 8 characters); masked in --check-config"},
    {.name = "priv_protocol", .ref = RF_FIELD(SnmpAgentConfig, priv_protocol),
     .help = "v3 privacy protocol (AES = AES-128)", .choices = kSnmpPrivArr},
    {.name = "priv_password", .ref = RF_FIELD(SnmpAgentConfig, priv_password),
     .help = "v3 privacy passphrase (at least 8 characters); masked in --check-config"},
};

#undef RF_FIELD

std::string join_quoted(std::span<const char* const> names) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) s += ", ";
    s += quote(names[i]);
  }
  return s;
}

bool is_address_field(std::string_view f) {
  return f == "src_addr" || f == "dst_addr" || f == "nexthop" || f == "exporter";
}

template <class T>
std::string type_name(const Key<T>& key) {
  return std::visit(
      [&](auto ref) -> std::string {
        using F = std::remove_reference_t<decltype(ref(std::declval<T&>()))>;
        if constexpr (std::is_same_v<F, bool>) return "boolean";
        else if constexpr (std::is_integral_v<F>) return "integer";
        else if constexpr (std::is_enum_v<F>) return "string (enum)";
        else if constexpr (std::is_same_v<F, IpAddr>) return "string (address)";
        else if constexpr (std::is_same_v<F, std::string>)
          return key.choices.empty() ? "string" : "string (enum)";
        else return "array of strings";
      },
      key.ref);
}

template <class T>
void add_docs(std::span<const Key<T>> keys, std::string_view prefix, std::vector<KeyDoc>* out) {
  for (const auto& key : keys) {
    T defaults{};
    KeyDoc d;
    d.path = std::string(prefix) + key.name;
    d.type = type_name(key);
    d.expected = expected_text(key);
    d.default_value = key.required ? "(required)" : render_value(key, defaults);
    d.help = key.help;
    if constexpr (std::is_same_v<T, SinkConfig>) {
      for (size_t i = 0; i < std::size(kSinkTypeNames); ++i) {
        if (!(key.sinks & (1u << i))) continue;
        if (!d.sink_types.empty()) d.sink_types += ", ";
        d.sink_types += kSinkTypeNames[i];
      }
    }
    out->push_back(std::move(d));
  }
}

}  // namespace

const std::span<const Key<Config>> kConfigKeys = kConfigArr;
const std::span<const Key<SinkConfig>> kSinkKeys = kSinkArr;
const std::span<const Key<SamplingOverride>> kSamplingKeys = kSamplingArr;
const std::span<const Key<SnmpAgentConfig>> kSnmpAgentKeys = kSnmpAgentArr;
const std::span<const Key<ForwardConfig>> kForwardKeys = kForwardArr;
const std::span<const char* const> kSections = kSectionArr;
const std::span<const char* const> kBackendNames = kBackendArr;
const std::span<const char* const> kTimeModeNames = kTimeModeArr;
const std::span<const char* const> kLogLevelNames = kLogLevelArr;
const std::span<const char* const> kKeyFieldNames = kKeyFieldArr;

std::vector<Endpoint> default_listen() {
  // NetFlow's customary port and sFlow's IANA port (6343).
  return {*Endpoint::parse("0.0.0.0:2055"), *Endpoint::parse("0.0.0.0:6343")};
}

std::vector<SinkConfig> default_sinks() {
  SinkConfig text;
  text.type = SinkType::kText;
  text.name = "text";
  SinkConfig csv;
  csv.type = SinkType::kCsv;
  csv.name = "csv";
  return {text, csv};
}

std::string check_key_field(std::string_view entry) {
  auto slash = entry.find('/');
  std::string_view field = entry.substr(0, slash);
  bool known = false;
  for (const char* f : kKeyFieldArr) known = known || field == f;
  if (!known) return "unknown field " + quote(field);
  if (slash == std::string_view::npos) return "";
  if (!is_address_field(field))
    return "prefix length only allowed on address fields (src_addr, dst_addr, nexthop, exporter), not on " +
           std::string(field);
  // "/N" or "/N/M": the rules of KeySchema::parse (include/ringflow/flow_key.h),
  // worded for the config file; config_errors_test checks that the two agree.
  std::string_view rest = entry.substr(slash + 1);
  const size_t second = rest.find('/');
  auto number = [](std::string_view t, unsigned max, unsigned* v) {
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), *v);
    return !t.empty() && t.size() <= 3 && ec == std::errc() && p == t.data() + t.size() && *v <= max;
  };
  unsigned a = 0, b = 0;
  if (second == std::string_view::npos) {
    const unsigned max = field == "exporter" ? 128 : 32;
    if (!number(rest, max, &a))
      return "prefix length " + quote(rest) + " out of range 0.." + std::to_string(max) + " for " +
             std::string(field);
    return "";
  }
  std::string_view p4 = rest.substr(0, second), p6 = rest.substr(second + 1);
  if (!number(p4, 32, &a))
    return "IPv4 prefix length " + quote(p4) + " out of range 0..32 for " + std::string(field);
  if (!number(p6, 128, &b))
    return "IPv6 prefix length " + quote(p6) + " out of range 0..128 for " + std::string(field);
  return "";
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04X", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

template <class T>
std::string element_expected_text(const Key<T>& key) {
  return std::visit(
      [&](auto ref) -> std::string {
        using F = std::remove_reference_t<decltype(ref(std::declval<T&>()))>;
        if constexpr (std::is_same_v<F, std::vector<Endpoint>>)
          return "address \"host:port\", \"[v6]:port\" or \":port\"";
        else if constexpr (std::is_same_v<F, std::vector<Cidr>>)
          return "CIDR prefix such as \"10.0.0.0/8\" or \"2001:db8::/32\"";
        else if constexpr (std::is_same_v<F, std::vector<std::string>>) {
          if (key.rule == Rule::kChoiceList) {
            std::string s = "one of";
            for (const char* c : key.choices) s += std::string(" \"") + c + "\"";
            return s;
          }
          if (key.rule == Rule::kCpuLists) return "CPU list such as \"0\", \"2-5\" or \"0,2,4-7\"";
          return "key field such as \"src_addr\" or \"src_addr/24\"";
        }
        else return expected_text(key);
      },
      key.ref);
}

template <class T>
std::string expected_text(const Key<T>& key) {
  return std::visit(
      [&](auto ref) -> std::string {
        using F = std::remove_reference_t<decltype(ref(std::declval<T&>()))>;
        if constexpr (std::is_same_v<F, bool>) {
          return "boolean (true or false)";
        } else if constexpr (std::is_integral_v<F>) {
          std::string range = std::to_string(key.min) + ".." + std::to_string(key.max);
          return key.rule == Rule::kPowerOfTwo ? "power of two in " + range : "integer in " + range;
        } else if constexpr (std::is_enum_v<F>) {
          return "one of " + join_quoted(key.choices);
        } else if constexpr (std::is_same_v<F, IpAddr>) {
          return "IP address such as \"192.0.2.1\" or \"2001:db8::1\"";
        } else if constexpr (std::is_same_v<F, std::string>) {
          if (!key.choices.empty()) return "one of " + join_quoted(key.choices);
          switch (key.rule) {
            case Rule::kNonEmpty: return "non-empty string";
            case Rule::kEndpointOrEmpty: return "\"\" or address \"host:port\"";
            case Rule::kHttpUrl: return "URL starting with http:// or https://";
            case Rule::kFilterExpr: return "a filter expression (docs/filter.md) or \"\"";
            case Rule::kName: return "name of letters, digits, '_' and '-'";
            default: return "string";
          }
        } else if constexpr (std::is_same_v<F, std::vector<Endpoint>>) {
          return "non-empty array of addresses \"host:port\"";
        } else if constexpr (std::is_same_v<F, std::vector<Cidr>>) {
          return "array of CIDR prefixes";
        } else {
          if (key.rule == Rule::kCpuLists) return "array of CPU lists";
          return key.rule == Rule::kChoiceList ? "array of " + element_expected_text(key)
                                               : "array of key fields";
        }
      },
      key.ref);
}

template <class T>
std::string render_value(const Key<T>& key, T& target) {
  return std::visit(
      [&](auto ref) -> std::string {
        const auto& v = ref(target);
        using F = std::remove_cvref_t<decltype(v)>;
        if constexpr (std::is_same_v<F, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_integral_v<F>) {
          return std::to_string(v);
        } else if constexpr (std::is_enum_v<F>) {
          auto i = static_cast<size_t>(v);
          return i < key.choices.size() ? quote(key.choices[i]) : quote("?");
        } else if constexpr (std::is_same_v<F, IpAddr>) {
          return quote(v.str());
        } else if constexpr (std::is_same_v<F, std::string>) {
          return quote(v);
        } else {
          std::string s = "[";
          for (size_t i = 0; i < v.size(); ++i) {
            if (i) s += ", ";
            if constexpr (std::is_same_v<F, std::vector<std::string>>) s += quote(v[i]);
            else s += quote(v[i].str());
          }
          return s + "]";
        }
      },
      key.ref);
}

#define RF_INSTANTIATE(T)                                                  \
  template std::string expected_text<T>(const Key<T>&);                   \
  template std::string element_expected_text<T>(const Key<T>&);           \
  template std::string render_value<T>(const Key<T>&, T&);
RF_INSTANTIATE(Config)
RF_INSTANTIATE(SinkConfig)
RF_INSTANTIATE(SamplingOverride)
RF_INSTANTIATE(ForwardConfig)
RF_INSTANTIATE(SnmpAgentConfig)
#undef RF_INSTANTIATE

std::vector<KeyDoc> key_docs() {
  std::vector<KeyDoc> out;
  add_docs(kConfigKeys, "", &out);
  // The struct defaults of listen and sinks are empty; the loader fills them.
  for (auto& d : out)
    if (d.path == "receive.listen") d.default_value = "[\"0.0.0.0:2055\", \"0.0.0.0:6343\"]";
  add_docs(kSamplingKeys, "decode.sampling_override.", &out);
  add_docs(kSinkKeys, "sink.", &out);
  for (auto& d : out)
    if (d.path == "sink.name") d.default_value = "(the type)";
  add_docs(kSnmpAgentKeys, "enrich.snmp.agent.", &out);
  add_docs(kForwardKeys, "forward.", &out);
  for (auto& d : out)
    if (d.path == "forward.name") d.default_value = "(forward<index>)";
  return out;
}

}  // namespace ringflow::schema
