// NetFlow v9 and IPFIX encoder: builds export datagrams in the layouts of
// src/wire/netflow9.h and src/wire/ipfix.h, for ringflow-gen and for every
// stage's tests. It is the inverse of the decoder (src/decode/decode_plan.h):
// what encode_record() writes for a FlowRecord, decode_records() reads back
// (tests/gen_template_encoder_test.cc checks the round trip element by
// element).
//
// A MessageBuilder fills one datagram in a caller-owned buffer: sets are
// opened, filled with template, withdrawal or data records, and closed (the
// set length is written then, with padding to a multiple of 4 bytes), and
// finish() writes the header: v9 count (every record, templates included)
// and IPFIX length. The builder writes exactly what it is given, including
// invalid things (a template id below 256, a set length past the end), so
// the fault injector and the tests can build malformed datagrams on purpose.
//
// Thread safety: pure functions and a builder owned by one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include <ringflow/flow_record.h>

#include "decode/template_record.h"

namespace ringflow::gen {

struct FieldSpec {
  uint16_t id = 0;
  uint16_t length = 0;  // 65535 = variable length
  uint32_t pen = 0;     // enterprise number (IPFIX only), 0 = IANA
};

struct TemplateSpec {
  uint16_t id = 0;
  bool options = false;
  uint16_t scope_count = 0;  // options: the first scope_count fields are scope fields
  std::vector<FieldSpec> fields;

  // Bytes of one data record when no field is variable-length.
  size_t fixed_record_len() const;
  bool variable() const;
};

struct MessageHeader {
  uint32_t sequence = 0;
  uint32_t domain = 0;          // v9 source_id / IPFIX observation domain
  uint32_t export_secs = 0;     // v9 unix_secs / IPFIX export time
  uint32_t sys_uptime_ms = 0;   // v9 only
};

class MessageBuilder {
 public:
  // REQUIRES: cap >= the version's header size.
  MessageBuilder(WireVersion v, uint8_t* buf, size_t cap);

  WireVersion version() const { return v_; }
  size_t size() const { return pos_; }
  size_t room() const { return cap_ - pos_; }
  // Records added so far (templates, withdrawals and data): the v9 count.
  uint16_t records() const { return records_; }
  bool in_set() const { return set_start_ != 0; }

  // Starts a set with id `set_id` (v9: 0 templates, 1 options templates;
  // IPFIX: 2, 3; data sets: the template id). False when there is no room for
  // the set header (nothing written).
  bool begin_set(uint16_t set_id);
  // Template record (or options template record, by t.options) in the open set.
  bool template_record(const TemplateSpec& t);
  // IPFIX withdrawal record (template id, field count 0).
  bool withdrawal(uint16_t template_id);
  // Room for one data record of len bytes in the open set: write it in
  // place. nullptr when it does not fit.
  uint8_t* reserve_record(size_t len);
  // Room for n records taking len bytes in all (the generator writes records
  // of different lengths in place); counts n records. nullptr when it does
  // not fit.
  uint8_t* reserve_records(size_t len, uint16_t n);
  // Closes the open set: pads it to a multiple of 4 bytes with zeros and
  // writes its length.
  void end_set();
  // Writes the header (closing an open set first); returns the datagram size.
  size_t finish(const MessageHeader& h);

  // Bytes a template record of t takes on the wire.
  static size_t template_record_size(WireVersion v, const TemplateSpec& t);

 private:
  WireVersion v_;
  uint8_t* buf_;
  size_t cap_;
  size_t pos_;
  size_t set_start_ = 0;  // 0 = no open set
  uint16_t records_ = 0;
};

// What a data record's elements are filled from.
struct RecordValues {
  const FlowRecord* flow = nullptr;
  // v9 flowStart/EndSysUpTime (22/21): the exporter's uptime readings; IPFIX
  // 22/21: milliseconds since systemInitTimeMilliseconds.
  uint32_t first_uptime_ms = 0, last_uptime_ms = 0;
  int64_t export_ms = 0;               // for the delta-microsecond elements 158/159
  std::string_view variable;           // value of every variable-length field
  uint64_t enterprise_value = 0;       // value of every enterprise-specific field
  uint32_t rate = 0;                   // samplingInterval 34 / samplerRandomInterval 50 / ...
  uint64_t system_init_ms = 0;         // systemInitTimeMilliseconds 160 (options records)
};

// Writes one data record of template t at out; returns its size, or 0 when
// cap is too small. Elements ringflow does not map are written as zeros
// (enterprise fields as enterprise_value).
size_t encode_record(const TemplateSpec& t, const RecordValues& vals, uint8_t* out, size_t cap);

// The size encode_record would write.
size_t record_size(const TemplateSpec& t, const RecordValues& vals);

}  // namespace ringflow::gen
