// CaptureRing: the Capture page's store (issue 24; docs/api.md, "Capture").
// One per reactor. For each exporter stream (exporter address, format,
// domain, as the Exporters page names it) it keeps the last N datagrams
// received, each with its receive time, source address and port and the
// reactor socket it came in on, so that the HTTP thread can write them out
// as a pcap file.
//
// Ownership: a datagram lives in the reactor's receive buffer, which is
// recycled as soon as a worker returns it. The copy is made here, on the
// reactor thread, while the reactor owns the buffer (before hand-off), into
// slots allocated (and zeroed, so paged in) at construction: nothing is
// allocated afterwards. A stream's ring is N fixed slots of `snaplen` bytes;
// a longer datagram is cut to snaplen and its original length kept (pcap's
// caplen / len). The streams kept are max_bytes / (N * snaplen); a stream
// seen when they are all taken is not captured (counted, kStreamsFull).
// Streams are never evicted: the page is for debugging the first streams a
// collector sees, and a restart starts afresh.
//
// Thread contract (one producer, any number of readers):
//   - capture() only on the reactor thread. It never waits: each slot has a
//     try-lock (an atomic state: free / writing / reading); when a reader
//     holds the slot the datagram is skipped and counted (kBusy), and the
//     stream's head is not advanced, so the ring stays in order.
//   - streams() and copy() on any thread (the HTTP handlers). A reader holds
//     one slot at a time, for one memcpy of at most snaplen bytes into its
//     own buffer (never across I/O), so a slow HTTP client cannot hold a
//     slot. A reader finding a slot being written spins (the writer holds
//     it for one memcpy). A slot overwritten between the head read and the
//     copy (its sequence number is not the one expected) is left out: a
//     copy is the ring's content at about the time of the request, in
//     order, with no datagram twice and none torn.
//   - A stream's identity is written once, before the stream count that
//     publishes it (release/acquire), and never changes.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <ringflow/ip.h>

#include "decode/wire_formats.h"

namespace ringflow {

// An exporter stream as the Exporters page names it (`<exporter>-<label>-<domain>`).
struct CaptureStreamId {
  IpAddr exporter;       // source address; sFlow: the agent address in the datagram
  FormatId format = 0;   // row of kWireFormats
  uint32_t domain = 0;   // v5 engine type << 8 | id, v9 source id, IPFIX domain, sFlow sub-agent
  bool operator==(const CaptureStreamId&) const = default;
};

// The stream of a datagram from `source`, or false when no wire format
// recognises it or it is too short to name its stream.
bool capture_stream_of(const uint8_t* p, size_t len, const IpAddr& source, CaptureStreamId* out);

struct CapturedDatagram {
  int64_t recv_ns = 0;       // CLOCK_REALTIME at receive
  IpAddr source;             // the datagram's source address and port
  uint16_t source_port = 0;
  uint8_t socket = 0;        // the reactor's socket index (its listen address)
  uint32_t orig_len = 0;     // the datagram's length; data holds min(orig_len, snaplen)
  std::vector<uint8_t> data;
};

struct CaptureStreamInfo {
  CaptureStreamId id;
  uint64_t captured = 0;  // datagrams captured since the start
  uint32_t kept = 0;      // of which in the ring now (min(captured, N))
  int64_t last_ns = 0;    // receive time of the latest captured
};

enum class CaptureSkip : uint8_t {
  kBusy,          // the slot was being copied out by a reader
  kStreamsFull,   // every stream slot taken (metrics.capture_bytes)
  kUnrecognised,  // no wire format, or too short to name its stream
  kCount,
};

class CaptureRing {
 public:
  // per_stream >= 1 datagrams of at most snaplen bytes per stream; as many
  // streams as max_bytes holds (at least one). Allocates everything.
  CaptureRing(uint32_t per_stream, uint32_t snaplen, uint64_t max_bytes);
  CaptureRing(const CaptureRing&) = delete;
  CaptureRing& operator=(const CaptureRing&) = delete;

  // Reactor thread: copies the datagram into its stream's ring.
  void capture(const uint8_t* p, uint32_t len, const IpAddr& source, uint16_t source_port,
               uint8_t socket, int64_t recv_ns);

  // Any thread: every stream captured so far.
  void streams(std::vector<CaptureStreamInfo>* out) const;
  // Any thread: the stream's kept datagrams, oldest first; false when the
  // stream was never captured here.
  bool copy(const CaptureStreamId& id, std::vector<CapturedDatagram>* out) const;

  uint64_t captured() const { return captured_.load(std::memory_order_relaxed); }
  uint64_t truncated() const { return truncated_.load(std::memory_order_relaxed); }
  uint64_t skipped(CaptureSkip why) const {
    return skipped_[static_cast<size_t>(why)].load(std::memory_order_relaxed);
  }
  uint32_t per_stream() const { return per_stream_; }
  uint32_t snaplen() const { return snaplen_; }
  uint32_t max_streams() const { return max_streams_; }
  uint64_t bytes() const { return uint64_t{max_streams_} * per_stream_ * snaplen_; }

 private:
  enum : uint32_t { kFree = 0, kWriting = 1, kReading = 2 };
  struct Slot {
    std::atomic<uint32_t> state{kFree};
    uint64_t seq = 0;  // the stream's datagram number held (head value when written)
    int64_t recv_ns = 0;
    IpAddr source;
    uint16_t source_port = 0;
    uint8_t socket = 0;
    uint32_t orig_len = 0;
    uint32_t caplen = 0;
  };
  struct Stream {
    CaptureStreamId id;               // immutable once published
    std::atomic<uint64_t> head{0};    // datagrams captured; slot of number k is k % N
    std::atomic<int64_t> last_ns{0};
  };

  int32_t find_or_add(const CaptureStreamId& id);  // reactor thread; -1 when full

  const uint32_t per_stream_;
  const uint32_t snaplen_;
  const uint32_t max_streams_;
  std::unique_ptr<Stream[]> streams_;
  std::unique_ptr<Slot[]> slots_;        // max_streams * per_stream
  std::unique_ptr<uint8_t[]> arena_;     // slot i's bytes at i * snaplen
  std::atomic<uint32_t> used_{0};        // streams published
  std::vector<int32_t> index_;           // reactor only: open addressing, stream index or -1
  std::atomic<uint64_t> captured_{0};
  std::atomic<uint64_t> truncated_{0};
  std::atomic<uint64_t> skipped_[static_cast<size_t>(CaptureSkip::kCount)]{};
};

}  // namespace ringflow
