// The filter stage ([filter] in the config, ringflow --filter; docs/filter.md):
// keeps or drops records by an expression over key fields, after enrichment
// (so src_net_role, src_country... are set) and before aggregation and
// --print-flows.
//
// FilterProgram is the expression (src/filter/filter_expr.h) compiled once:
//   - the fields it reads form a KeySchema, and a record's values are packed
//     by the aggregation's own KeyPacker (src/aggregate/key_codec.h), so any
//     field of the registry, enriched ones included, reads as the key would;
//   - names are interned ids (enrich::names(); interned at compile if new, so
//     a networks file loaded later gives the same id), countries and AS
//     sources small numbers, prefixes two 64-bit masks;
//   - the tree becomes a flat array of tests, each with the index to go to
//     when it holds and when it does not (and/or/not become jumps, so
//     evaluation short-circuits): one switch per test, no call, no
//     allocation, no exception.
// FilterStage runs it on each chunk and counts kept and dropped records in a
// FilterCounters (ringflow_filter_records_total, docs/metrics.md); the worker
// also counts the dropped ones in stage_dropped_records.
//
// Thread safety: a FilterProgram is immutable after compile() and shared by
// the workers; a FilterStage belongs to one worker; FilterCounters are
// written by one worker and read by any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aggregate/key_codec.h"
#include "filter/filter_expr.h"
#include "pipeline/record_stage.h"

namespace ringflow {

class FilterProgram {
 public:
  // Compiles a parsed expression. False and *error when a name cannot be
  // interned (the names table is full) or the program is too large.
  static bool compile(const filter::Ast& ast, FilterProgram* out, std::string* error);
  // parse + compile; *error is "column N: expected ..., found ..." or the
  // compile error.
  static bool compile(std::string_view text, FilterProgram* out, std::string* error);

  // Whether the record matches. No allocation, lock or exception.
  bool matches(const FlowRecord& r, const FlowContext& ctx) const noexcept;

  size_t instructions() const { return code_.size(); }

 private:
  enum class Test : uint8_t { kEq, kIn, kLt, kLe, kGt, kGe, kPrefixIn };
  struct Insn {
    Test test;
    uint8_t slot;         // which packed field
    uint16_t on_true;     // next pc; code_.size() = accept, + 1 = reject
    uint16_t on_false;
    uint32_t first = 0, count = 0;  // kIn: numbers_; kPrefixIn: prefixes_
    uint64_t imm = 0;               // kEq, kLt...
  };
  struct Prefix {
    uint64_t lo, hi, mask_lo, mask_hi;  // the 16-byte form as two little-endian words
  };
  struct Slot {
    uint8_t offset[2];  // byte offset per layout
    uint8_t width[2];   // packed bytes per layout
  };

  std::vector<Insn> code_;
  uint16_t entry_ = 0;  // first pc (code_.size() when the filter is constant true)
  std::vector<uint64_t> numbers_;
  std::vector<Prefix> prefixes_;
  std::vector<Slot> slots_;
  std::optional<KeyPacker> packer_;
};

struct alignas(64) FilterCounters {
  std::atomic<uint64_t> kept{0}, dropped{0};
};

class FilterStage final : public RecordStage {
 public:
  // drop_matching: action = "drop" (matching records are dropped) instead of
  // "keep" (only matching records are kept).
  // REQUIRES: program and counters outlive the stage.
  FilterStage(const FilterProgram& program, bool drop_matching, FilterCounters& counters)
      : program_(program), drop_matching_(drop_matching), counters_(counters) {}
  size_t run(FlowRecord* records, size_t n, const FlowContext& ctx) override;
  const char* name() const override { return "filter"; }

 private:
  const FilterProgram& program_;
  const bool drop_matching_;
  FilterCounters& counters_;
};

}  // namespace ringflow
