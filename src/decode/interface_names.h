// InterfaceNames: the interface table v9/IPFIX exporters send in options
// data (IOS XR, Junos, ... "option interface-table"): interfaceName (82) and
// interfaceDescription (83) of an ifIndex (ingressInterface 10, else
// egressInterface 14, else 252 / 253, as a scope field or not; in v9 also
// the "interface" scope type), learnt per (stream, ifIndex), where a stream
// is (exporter, format, observation domain / source_id).
//
// learn() takes one options record (OptionsValues from
// decode_options_record, src/decode/decode_plan.h). A record with neither
// string is no interface record and is left alone. Otherwise:
//   - the ifIndex is the ingress one when sent, else the egress one; none:
//     dropped (no_index); 0: dropped (zero_index);
//   - each string is cut at its first NUL (fixed-length fields are padded
//     with NULs; what follows is padding); a string that is then empty
//     counts as not sent; a string that is not UTF-8 text (invalid UTF-8, or
//     a control character) drops the record (not_text);
//   - a string longer than kIfNameMaxBytes / kIfDescriptionMaxBytes is cut
//     at the last UTF-8 character that fits, and counted (truncated);
//   - both strings empty: dropped (empty);
//   - only the strings the record carries are updated (a template of names
//     and one of descriptions merge);
//   - a new (stream, ifIndex) past the capacity (decode.max_interface_names
//     per reactor): dropped (full). Capacity 0 turns learning off (nothing
//     read, nothing counted).
// Counted in SessionCounters::if_names (learned, changed, truncated) and
// if_name_drops (by IfNameDrop). generation() moves on every change, so a
// publisher rebuilds its copy only when something changed.
//
// Memory: an entry is sizeof(LearnedInterface) (about 210 bytes) in a hash
// map. Learning a new interface allocates one map node (as the options
// path's sampler set allocates on a change of rates); a refresh with the
// same strings, or a change of an interface already known, allocates
// nothing: the strings are fixed arrays in the entry.
//
// Thread safety: the reactor thread only (its Sessions).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <ringflow/ip.h>

#include "decode/decode_plan.h"
#include "decode/session_counters.h"

namespace ringflow {

inline constexpr size_t kIfNameMaxBytes = 64;
inline constexpr size_t kIfDescriptionMaxBytes = 128;

struct LearnedInterface {
  uint32_t stream = 0;
  uint32_t if_index = 0;
  uint8_t name_len = 0, description_len = 0;
  char name[kIfNameMaxBytes] = {};
  char description[kIfDescriptionMaxBytes] = {};
  std::string_view name_view() const { return {name, name_len}; }
  std::string_view description_view() const { return {description, description_len}; }
};

class InterfaceNames {
 public:
  InterfaceNames(uint32_t capacity, SessionCounters& counters);
  InterfaceNames(const InterfaceNames&) = delete;
  InterfaceNames& operator=(const InterfaceNames&) = delete;

  bool enabled() const { return capacity_ > 0; }
  // One options record of `stream` (see the file comment).
  void learn(uint32_t stream, const OptionsValues& v);
  // From the state file: the same rules as learn() (bounds, text check,
  // truncation), without counting learned/changed. False when refused.
  bool restore(uint32_t stream, uint32_t if_index, std::string_view name,
               std::string_view description);
  // The stream is gone: its interfaces are forgotten.
  void forget(uint32_t stream);

  size_t size() const { return map_.size(); }
  uint32_t capacity() const { return capacity_; }
  uint64_t generation() const { return generation_; }
  template <class F>
  void for_each(F&& f) const {
    for (const auto& [k, e] : map_) f(e);
  }

 private:
  static uint64_t key(uint32_t stream, uint32_t idx) { return uint64_t{stream} << 32 | idx; }
  // false: the record is dropped (reason counted).
  bool update(uint32_t stream, uint32_t idx, const uint8_t* name, size_t name_len, bool has_name,
              const uint8_t* desc, size_t desc_len, bool has_desc, bool count_events);

  const uint32_t capacity_;
  SessionCounters& counters_;
  std::unordered_map<uint64_t, LearnedInterface> map_;
  uint64_t generation_ = 0;
};

// A reactor's learnt names as published for other threads (the collector's
// enrichment snapshot, the Exporters page): rebuilt by Sessions::tick only
// when something changed, sorted by (exporter, domain, format, ifIndex).
struct InterfaceNameRow {
  IpAddr exporter;
  uint32_t domain = 0;
  uint8_t format = 0;  // src/decode/wire_formats.h
  uint32_t if_index = 0;
  std::string name, description;
};
struct InterfaceNameSnapshot {
  std::vector<InterfaceNameRow> rows;
};

// Cuts s at its first NUL, checks it is UTF-8 text without control
// characters, and cuts it to at most `max` bytes at a character boundary.
// Returns false when it is not text; *len the length kept, *cut whether it
// was truncated. Exposed for tests.
bool clean_if_string(const uint8_t* s, size_t n, size_t max, size_t* len, bool* cut);

}  // namespace ringflow
