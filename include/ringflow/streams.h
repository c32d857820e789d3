// Per-exporter-stream statistics, as kept by the sequence tracker
// (src/decode/sequence_tracker.h) and published by the metrics thread.
//
// An exporter stream is (exporter address, version, domain): the unit each
// version numbers its sequence in. NetFlow v5 numbers flows per engine, so its
// domain is engine_type << 8 | engine_id; v9 numbers export datagrams per
// source_id; IPFIX numbers data records per observation domain. One router
// with two line cards (two engine ids / source ids) is two streams, and two
// routers that both use domain 0 are two streams because their addresses
// differ. See docs/architecture.md.
//
// Thread safety: plain values. A worker fills a vector of them on its own
// housekeeping tick (SequenceTracker::snapshot); readers get a copy.
#pragma once

#include <cstdint>

#include <ringflow/ip.h>

namespace ringflow {

struct StreamStats {
  IpAddr exporter;   // source address of the datagrams; sFlow: the agent address
  uint8_t format = 0;    // format id: row of the wire-format registry
                         // (src/decode/wire_formats.h), whose label names it
  uint32_t domain = 0;   // v5: engine_type << 8 | engine_id; v9 source_id; IPFIX domain;
                         // sFlow: sub-agent id
  uint8_t engine_type = 0;  // v5 only: domain >> 8
  uint8_t engine_id = 0;    // v5 only: domain & 0xFF

  uint64_t datagrams = 0;  // v5 PDUs / v9 / IPFIX datagrams seen (every class, duplicates included)
  uint64_t flows = 0;      // data records carried (duplicates included; IPFIX/v9
                           // records of sets without a template are not counted)
  // Estimated loss in transit, in the unit the version's sequence counts:
  // flows for v5 and IPFIX, export datagrams for v9 and sFlow (lost_unit_is_datagrams()).
  // Sum of forward gaps, minus what late datagrams later delivered into those
  // gaps. Never negative.
  uint64_t lost_flows = 0;
  uint64_t gaps = 0;        // forward jumps seen (each added to lost_flows)
  uint64_t reordered = 0;   // late datagrams that filled (part of) a recorded gap
  uint64_t late_flows = 0;  // sequence units delivered by those late datagrams
  uint64_t duplicates = 0;  // datagrams behind expected that filled no recorded gap
  uint64_t resets = 0;      // exporter restarts / sequence resynchronisations
  // IPFIX: messages whose data record count was unknown (a data set without
  // its template); the next message's sequence is taken as expected.
  uint64_t resyncs = 0;

  // Set by the tracker from the registry: the sequence counts datagrams (v9,
  // sFlow), not records.
  bool loss_in_datagrams = false;
  bool lost_unit_is_datagrams() const { return loss_in_datagrams; }

  int64_t first_seen_ms = 0;  // receive time of the stream's first datagram (epoch ms)
  int64_t last_seen_ms = 0;   // receive time of its latest datagram (epoch ms)

  uint32_t next_sequence = 0;      // sequence expected next (last in-order seq + count)
  uint32_t sys_uptime_ms = 0;      // latest sys_uptime seen (exporter's clock; v5/v9)
  uint32_t sampling_interval = 1;  // effective interval (override, header, or default), >= 1
  uint16_t sampling_raw = 0;       // sampling field of the latest datagram, as sent
  uint8_t quirks = 0;  // kStreamQuirk* bits: exporter behaviours detected and compensated

  // The exporter's clock against ours, from the latest datagram: its header
  // export time minus the receive time (ms; the header has 1 s resolution,
  // so +-1000 is noise). has_clock: a datagram with an export time was seen.
  int64_t clock_offset_ms = 0;
  bool has_clock = false;
  uint64_t uptime_wraps = 0;  // v5/v9 sys_uptime wrapped past 2^32 ms (49.7 days), no restart
};

// StreamStats::quirks. kStreamQuirkSequenceIncludesCurrent: an IPFIX exporter
// whose sequence number already counts the message's own records (softflowd
// 1.1.0), one message off RFC 7011's "records sent before this message". The
// tracker detects it and reads the sequence minus the message's count.
inline constexpr uint8_t kStreamQuirkSequenceIncludesCurrent = 1;
inline constexpr const char* stream_quirk_name(uint8_t bit) {
  return bit == kStreamQuirkSequenceIncludesCurrent ? "ipfix_sequence_includes_current"
                                                     : "unknown";
}

// Counters over a whole tracker (one per worker thread).
struct SequenceTrackerStats {
  uint64_t active = 0;           // streams in the table now
  uint64_t capacity = 0;         // decode.max_streams
  uint64_t streams_created = 0;  // streams ever inserted
  uint64_t streams_expired = 0;  // removed after silence (either timeout below)
  uint64_t streams_evicted = 0;  // of which only because the table was full
                                 // (decode.full_table_idle_timeout)
  uint64_t table_full = 0;       // datagrams of a new stream that found the table full (untracked)
};

}  // namespace ringflow
