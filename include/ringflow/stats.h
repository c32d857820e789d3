// Counters for every stage of the pipeline, and the reasons a datagram can be
// rejected or dropped.
//
// Each thread owns its counter block and is its only writer; readers (metrics,
// stats line, tests) sum the blocks at any time. Blocks are alignas(64) so
// that two threads' counters never share a cache line (false sharing would
// turn every increment into a cache-line transfer between cores).
//
// Thread safety: Counter::add/set only from the owning thread; load from any.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

namespace ringflow {

// A single-writer monotonic counter. add() is a relaxed load + store, not an
// atomic read-modify-write: there is one writer, so no lock prefix is needed,
// and readers only need a value that is not torn.
class Counter {
 public:
  void add(uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void set(uint64_t n) { v_.store(n, std::memory_order_relaxed); }
  uint64_t load() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// Why a whole datagram was rejected. Each is a distinct counter and a
// distinct metric label (reject_reason_name()). A datagram is rejected
// whole only when nothing in it can be trusted; problems inside one set or
// one template are counted at that level (src/decode/session_counters.h).
enum class Reject : uint8_t {
  kNone = 0,
  kTooShort,         // shorter than its version's header (v5 24, v9 20, IPFIX 16)
  kBadVersion,       // version not 5, 9 or 10 (sFlow: its 32-bit version not 5)
  kCountZero,        // v5: count == 0
  kCountTooLarge,    // v5: count > 30
  kTruncated,        // v5: length < 24 + 48*count
  kTrailingBytes,    // v5: length > 24 + 48*count and the rest is not a v5 PDU
  kVersionDisabled,  // a version decode.versions does not enable
  kSetLength,        // v9/IPFIX: a set length < 4 or past the end (the set chain is broken)
  kIpfixLength,      // IPFIX: the header's length differs from the datagram's
  kStreamTableFull,  // v9/IPFIX: a new stream found decode.max_streams streams
                     // tracked, so its templates could not be kept
  kStreamQuota,      // v9/IPFIX: a new stream of an exporter address that has
                     // decode.max_streams_per_address streams tracked
  // sFlow v5 (src/decode/sflow_decoder.h, SflowReject: each of its reasons
  // but too_short and bad_version, which share the names above).
  kSflowBadAgentType,         // agent address type neither 1 nor 2
  kSflowSampleCountMismatch,  // fewer bytes than num_samples says
  kSflowSamplePastDatagram,   // a sample's length runs past the datagram
  kSflowSampleTooShort,       // a known sample shorter than its fixed fields
  kSflowRecordCountMismatch,  // fewer bytes in a sample than its num_records says
  kSflowRecordPastSample,     // a record's length runs past its sample
  kSflowRecordTooShort,       // a known record shorter than its fixed fields
  kSflowHeaderPastRecord,     // raw header: header_length larger than the record
  kSflowBadAddressType,       // an address type not 0, 1 or 2 inside a record
  kSflowListPastRecord,       // an AS path, community or label list past its record
};
inline constexpr size_t kRejectReasons = 22;  // including kNone (unused slot)
static_assert(static_cast<size_t>(Reject::kSflowListPastRecord) + 1 == kRejectReasons,
              "kRejectReasons counts every Reject");

inline constexpr std::string_view reject_reason_name(Reject r) {
  switch (r) {
    case Reject::kNone: return "none";
    case Reject::kTooShort: return "too_short";
    case Reject::kBadVersion: return "bad_version";
    case Reject::kCountZero: return "count_zero";
    case Reject::kCountTooLarge: return "count_too_large";
    case Reject::kTruncated: return "truncated";
    case Reject::kTrailingBytes: return "trailing_bytes";
    case Reject::kVersionDisabled: return "version_disabled";
    case Reject::kSetLength: return "set_length";
    case Reject::kIpfixLength: return "ipfix_length";
    case Reject::kStreamTableFull: return "stream_table_full";
    case Reject::kStreamQuota: return "stream_quota";
    case Reject::kSflowBadAgentType: return "bad_agent_type";
    case Reject::kSflowSampleCountMismatch: return "sample_count_mismatch";
    case Reject::kSflowSamplePastDatagram: return "sample_past_datagram";
    case Reject::kSflowSampleTooShort: return "sample_too_short";
    case Reject::kSflowRecordCountMismatch: return "record_count_mismatch";
    case Reject::kSflowRecordPastSample: return "record_past_sample";
    case Reject::kSflowRecordTooShort: return "record_too_short";
    case Reject::kSflowHeaderPastRecord: return "header_past_record";
    case Reject::kSflowBadAddressType: return "bad_address_type";
    case Reject::kSflowListPastRecord: return "list_past_record";
  }
  return "unknown";
}

inline constexpr size_t kMaxWorkers = 256;  // receive.workers range

// Written by one reactor thread. Every datagram the reactor takes from the
// kernel is counted in `datagrams`, then ends in exactly one of: handed to a
// worker (`handed_off`), `consumed` by the ordered stage (templates or
// options only, or all its data held for a template), `rejected` by it (by
// reason: src/decode/session_counters.h), `oversize` (did not fit a buffer,
// MSG_TRUNC), `not_allowed` (exporter outside receive.allow) or `queue_full`.
// Held data sets released when their template arrives are handed off as
// datagrams of their own: late_handed_off, or late_queue_full.
struct alignas(64) ReactorCounters {
  Counter datagrams;     // taken from the kernel
  Counter bytes;         // payload bytes taken from the kernel
  Counter handed_off;    // enqueued to a worker
  Counter consumed;      // accepted by the ordered stage, nothing for a worker
  Counter rejected;      // rejected whole by the ordered stage
  Counter late_handed_off;  // held data sets enqueued to a worker
  Counter late_queue_full;  // held data sets dropped: the worker queue was full
  Counter oversize;      // larger than receive.buffer_size: dropped, counted
  Counter not_allowed;   // exporter not in receive.allow
  Counter queue_full;    // worker queue full: dropped, counted
  Counter enobufs;       // io_uring buffer ring ran dry (kernel kept the data)
  Counter cq_overflow;   // completion queue overflow events seen
  Counter rearms;        // multishot recvmsg re-armed
  Counter kernel_drops;  // socket receive-buffer drops (SO_RXQ_OVFL), gauge-like total
  Counter syscalls;      // receive system calls (io_uring_enter / recvmmsg)
  // queue_full split by the worker whose queue was full (receive.workers <= 256).
  std::array<Counter, kMaxWorkers> queue_full_by_worker;
};

// Counter slots by wire format: one per decoded format of the registry
// (src/decode/wire_formats.h, which says which slot is which and names them)
// plus "other". This is only the room the counter blocks keep; the registry
// static_asserts that its slots fit.
inline constexpr size_t kMaxFormatSlots = 8;

// Written by one worker thread: what it decoded. The ordered stage on the
// reactor has already validated and counted every datagram it hands off, so
// a worker rejects nothing.
struct alignas(64) WorkerCounters {
  Counter datagrams;        // dequeued from the hand-off queue (late ones included)
  Counter late_datagrams;   // of which held data sets released by their template
  Counter pdus;             // v5 PDUs decoded (> v5 datagrams when packed)
  Counter flows;            // records decoded, every version
  std::array<Counter, kMaxFormatSlots> flows_by_version;  // by format slot
  Counter late_flows;       // records of held data sets, decoded after their template came
  Counter future_records;   // end time beyond now + decode.future_tolerance
  Counter inverted_records; // first > last
  Counter time_unknown_records;  // no usable time element: start/end = export time
  Counter unknown_sampling_records;  // sampler id not announced (or several, none named): rate 1
  Counter sampling_rate_too_high_records;  // rate above decode.max_sampling_rate: taken as unknown
  Counter biflow_records;          // IPFIX biflow records (RFC 5103): forward direction
  Counter biflow_reverse_records;  // their reverse direction, emitted as records of their own
  Counter biflow_empty_directions; // biflow directions without packets or bytes (no record)
  Counter unknown_counter_records; // records of templates with counter elements not decoded
  Counter stage_dropped_records;   // records a record stage dropped (not aggregated)
  Counter sflow_cut_headers;       // sFlow raw headers cut inside the fields they carry
  std::array<Counter, 3> section_records;  // v9/IPFIX packet sections not parsed to their end:
                                           // cut, unsupported, malformed (decode_plan.h)
  Counter batches;          // dequeue batches
};

// One pipeline-wide sum, for the stats line, /metrics and tests.
struct StatsSnapshot {
  uint64_t datagrams = 0, bytes = 0, handed_off = 0, consumed = 0, oversize = 0, not_allowed = 0,
           queue_full = 0, enobufs = 0, cq_overflow = 0, kernel_drops = 0;
  uint64_t late_handed_off = 0, late_queue_full = 0;
  uint64_t worker_datagrams = 0, pdus = 0, flows = 0, late_flows = 0, future_records = 0,
           inverted_records = 0, trailing_accepted = 0, time_unknown_records = 0,
           unknown_sampling_records = 0;
  // Accepted by the ordered stage: handed off (with work for a worker) or
  // consumed (templates/options only, or all data held).
  uint64_t decoded = 0;
  std::array<uint64_t, kRejectReasons> rejects{};  // summed over versions

  uint64_t rejected() const {
    uint64_t n = 0;
    for (size_t i = 1; i < kRejectReasons; ++i) n += rejects[i];
    return n;
  }
  uint64_t dropped() const { return oversize + not_allowed + queue_full; }
};

}  // namespace ringflow
