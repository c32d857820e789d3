// The configuration schema: one table row per TOML key, saying where the
// value lives in Config, what type and range it takes, and what it means.
//
// This table is the single source of truth for the config module: the
// validator (config.cc) checks values against it, dump_config() walks it to
// print the effective configuration, the "did you mean" suggestions are drawn
// from its key names, and the config_docs test checks that docs/config.md and
// netflow.toml mention every key in it. Adding a key means: a field in
// include/ringflow/config.h, a row here, a line in netflow.toml and a row in
// docs/config.md.
//
// Three tables, one per kind of TOML table a key can live in:
//   kConfigKeys    "section.name" keys of the fixed sections ([receive], ...)
//   kSinkKeys      keys of one [[sink]] table (with the sink types they apply to)
//   kSamplingKeys  keys of one [[decode.sampling_override]] table
//
// Thread safety: the tables are immutable constants.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <ringflow/config.h>

namespace ringflow::schema {

// Where a key's value lives in its target struct T (Config, SinkConfig or
// SamplingOverride): a captureless accessor returning a reference to the
// field. The alternative chosen fixes the C++ type, and with it the TOML type
// the validator accepts.
template <class T>
using Ref = std::variant<bool& (*)(T&), uint32_t& (*)(T&), uint64_t& (*)(T&), int64_t& (*)(T&),
                         std::string& (*)(T&), Backend& (*)(T&), TimeMode& (*)(T&),
                         SinkType& (*)(T&), IpAddr& (*)(T&), std::vector<Endpoint>& (*)(T&),
                         std::vector<Cidr>& (*)(T&), std::vector<std::string>& (*)(T&)>;

// Extra rules beyond the C++ type and the integer range.
enum class Rule : uint8_t {
  kNone,
  kPowerOfTwo,       // integer: must also be a power of two
  kNonEmpty,         // string: must not be ""; list: at least one element
  kEndpointOrEmpty,  // string: "" or "host:port" (Endpoint::parse)
  kHttpUrl,          // string: starts with http:// or https://
  kKeyFields,        // string list: aggregation key fields, "name" or "name/prefix"
  kName,             // string: [A-Za-z0-9_-]+ (sink names end up in paths and metric labels)
  kChoiceList,       // string list: at least one element, each one of `choices`, no duplicates
  kCpuLists,         // string list: each a Linux CPU list ("0", "2-5", "0,2,4-7")
  kFilterExpr,       // string: "" or a filter expression (src/filter/filter_expr.h)
};

// Bit i set = applies to sinks of SinkType i.
inline constexpr uint8_t sink_bit(SinkType t) { return static_cast<uint8_t>(1u << static_cast<unsigned>(t)); }
inline constexpr uint8_t kAllSinks = 0x0F;

template <class T>
struct Key {
  const char* name;                         // TOML path: "receive.workers" or, in a [[sink]], "top"
  Ref<T> ref;                               // the field
  const char* help;                         // one line: what it means, units, sentinels
  int64_t min = 0, max = 0;                 // integers: inclusive range
  std::span<const char* const> choices{};   // enums (in enum order) and string choices
  Rule rule = Rule::kNone;
  uint8_t sinks = kAllSinks;                // kSinkKeys only: sink types that accept it
  bool required = false;                    // arrays of tables only: must be present
};

// How the validator words what a key accepts ("integer in 1..86400"), and,
// for list keys, what one element accepts.
template <class T>
std::string expected_text(const Key<T>& key);
template <class T>
std::string element_expected_text(const Key<T>& key);

// The field's current value in `target` as TOML text (strings quoted and
// escaped). Does not mask anything: dump_config() masks the password itself.
template <class T>
std::string render_value(const Key<T>& key, T& target);

// A TOML basic string: "..." with quotes, backslashes and control characters
// escaped. Also used to quote values in error messages.
std::string quote(std::string_view s);

extern const std::span<const Key<Config>> kConfigKeys;
extern const std::span<const Key<SinkConfig>> kSinkKeys;
extern const std::span<const Key<SamplingOverride>> kSamplingKeys;
extern const std::span<const Key<ForwardConfig>> kForwardKeys;  // one [[forward]] table
extern const std::span<const Key<SnmpAgentConfig>> kSnmpAgentKeys;  // one [[enrich.snmp.agent]]

// The fixed sections, and the two arrays of tables.
extern const std::span<const char* const> kSections;  // receive, decode, aggregate, output, metrics, log, process, enrich
inline constexpr std::string_view kSinkArray = "sink";
inline constexpr std::string_view kSamplingArray = "decode.sampling_override";
inline constexpr std::string_view kForwardArray = "forward";
inline constexpr std::string_view kSnmpTable = "enrich.snmp";
inline constexpr std::string_view kSnmpAgentArray = "enrich.snmp.agent";

// Names of the enum values, in enum order (index = enum value); the sink
// types' are ringflow::kSinkTypeNames (include/ringflow/config.h).
extern const std::span<const char* const> kBackendNames;
extern const std::span<const char* const> kTimeModeNames;
extern const std::span<const char* const> kLogLevelNames;
extern const std::span<const char* const> kKeyFieldNames;

// The defaults a loaded config gets for the list-valued keys whose struct
// default is empty: receive.listen = ["0.0.0.0:2055"], sinks = text + csv.
std::vector<Endpoint> default_listen();
std::vector<SinkConfig> default_sinks();

// Checks one aggregation key entry ("src_addr/24"). Returns "" when valid,
// else the complete reason ("prefix length 33 out of range 0..32 for src_addr").
std::string check_key_field(std::string_view entry);

// For docs, --help and tests: one row per key of all three tables, with the
// type, range and default rendered as text. Paths of array-of-table keys are
// "sink.top" and "decode.sampling_override.interval".
struct KeyDoc {
  std::string path;
  std::string type;         // "integer", "string", "boolean", "array of strings", ...
  std::string expected;     // the range as the validator words it: "integer in 1..86400"
  std::string default_value;  // TOML text (60, "auto", ["0.0.0.0:2055"]), or "(required)" / "(the type)"
  std::string help;
  std::string sink_types;   // sink keys: "text", "csv, jsonl", ...; else ""
};
std::vector<KeyDoc> key_docs();

}  // namespace ringflow::schema
