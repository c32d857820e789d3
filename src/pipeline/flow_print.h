// One --print-flows line: a decoded FlowRecord as text, for debugging
// (docs/config.md, "--print-flows"). FlowPrintStage is the record stage
// (src/pipeline/record_stage.h) that writes one per record when the flag is
// on; it only looks.
//
// Endpoints: "192.0.2.1:443" for IPv4, "[2001:db8::1]:443" for IPv6. An
// address of all zeros is printed in the record's family: "0.0.0.0" in an
// IPv4 record (a template without that address element), "[::]" in an IPv6
// one (ip_version 6, or the other endpoint IPv6), so the IPv6 unspecified
// address is never shown as IPv4. Packets and bytes are multiplied by the
// record's sampling multiplier, saturating at 2^64 - 1.
//
// Thread safety: format_flow_line is a pure function on caller-owned memory;
// a FlowPrintStage belongs to one worker (stdio locks the stream per line).
#pragma once

#include <cstddef>
#include <cstdio>

#include <ringflow/flow_key.h>
#include <ringflow/flow_record.h>

#include "pipeline/record_stage.h"

namespace ringflow {

// Writes the line (with its newline) into buf[0..cap); returns its length,
// or 0 if it does not fit.
size_t format_flow_line(const FlowRecord& r, const FlowContext& ctx, char* buf, size_t cap);

// --print-flows=json: the same fields as one JSON object on one line:
//   {"src":"192.0.2.1","src_port":443,"dst":"2001:db8::1","dst_port":80,
//    "proto":6,"packets":N,"bytes":N,"start":"T","end":"T","version":V (5, 9, 10 or "sflow"),
//    "template":ID}
// Addresses without brackets or port, chosen by family exactly as the text
// form does ("0.0.0.0" / "::" for an absent one); "template" only for a
// templated record, as in the text. Same return contract as above.
size_t format_flow_json(const FlowRecord& r, const FlowContext& ctx, char* buf, size_t cap);

// Writes one line per record to `out`, as text or JSON; keeps every record.
class FlowPrintStage final : public RecordStage {
 public:
  explicit FlowPrintStage(FILE* out, bool json = false) : out_(out), json_(json) {}
  size_t run(FlowRecord* records, size_t n, const FlowContext& ctx) override;
  const char* name() const override { return "print_flows"; }

 private:
  FILE* out_;
  bool json_;
};

}  // namespace ringflow
