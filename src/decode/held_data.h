// HeldData: v9/IPFIX data sets that arrived before their template (a router
// or a collector restart), copied aside until the template comes, bounded
// per stream and in all, and forgotten after decode.held_timeout.
//
// Owns: slots() slots of slot_size bytes (decode.held_bytes / the receive
// buffer size, so that ring_entries + slots() buffer ids fit in 16 bits),
// allocated at construction; each stream's list of held sets, oldest first;
// the FIFO of sets released to a worker. A slot is kFree, kHeld (on its
// stream's list) or kInFlight: when the template arrives, release() hands
// each set of that template id to a callback, which uses it at once (an
// options set: kUsed), finds nothing in it (kEmpty) or fills the meta of
// buffer id first_buf + slot for a worker (kHandOff: queued for take_ready()
// and freed by free_buffer() when the worker returns it). Never allocates.
//
// Called by: the reactor thread only (its Sessions); a worker reads data()
// of a slot it was handed.
//
// Bad input and bounds, counted in SessionCounters: a set with no template
// when holding is off (decode.held_bytes = 0), set_drops[no_template]; over
// decode.held_bytes_per_stream, hold_drops[stream_limit]; no free slot,
// hold_drops[pool_full]; held past decode.held_timeout or with its stream,
// held_expired and held_expired_bytes. It also counts held_sets,
// held_released (kUsed and kHandOff) and sets the held_bytes gauge.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <ringflow/config.h>
#include <ringflow/ip.h>

#include "decode/decode_plan.h"
#include "decode/session_counters.h"

namespace ringflow {

// A held data set whose template arrived: give buffer `buf` to a worker.
// What one stream's data went through while waiting for its template (the
// exporters page, src/decode/exporter_snapshot.h); cleared when the stream
// is forgotten.
struct HeldStreamStats {
  uint64_t held = 0;      // sets held
  uint64_t released = 0;  // of which decoded late, when their template came
  uint64_t expired = 0;   // of which forgotten after decode.held_timeout
  uint64_t refused = 0;   // sets not held (the stream's or the pool's bound): lost
  uint64_t bytes = 0;     // held now
};

struct ReadyDatagram {
  uint16_t buf = 0;
  const uint8_t* data = nullptr;
  uint32_t len = 0;
  IpAddr exporter;
};

// One held set as release() shows it to its callback.
struct HeldSet {
  uint16_t buf = 0;  // its buffer id once handed off
  const uint8_t* data = nullptr;
  uint16_t len = 0;
  const TimeContext* time = nullptr;  // as its datagram's header said
  bool this_datagram = false;         // held by the datagram being admitted (begin_datagram())
};

class HeldData {
 public:
  // What release()'s callback did with a held set.
  enum class Use : uint8_t {
    kUsed,     // consumed at once (options records): freed, counted released
    kEmpty,    // no records in it: freed
    kHandOff,  // its buffer's meta is filled: queued for take_ready()
  };

  // first_buf: the buffer id of slot 0 (the reactor's ring_entries);
  // slot_size: the largest set held (the receive buffer size); streams:
  // the stream indexes in use are [0, streams).
  HeldData(const DecodeConfig& cfg, uint32_t first_buf, uint32_t slot_size, uint32_t streams,
           SessionCounters& counters);
  HeldData(const HeldData&) = delete;
  HeldData& operator=(const HeldData&) = delete;

  uint32_t slots() const { return slots_; }
  uint32_t first_buf() const { return first_buf_; }
  size_t used() const { return used_; }
  // Whether `stream` holds any set.
  bool holds(uint32_t stream) const { return streams_[stream].head != kNil; }
  HeldStreamStats stream_stats(uint32_t stream) const {
    HeldStreamStats st = streams_[stream].stats;
    st.bytes = streams_[stream].bytes;
    return st;
  }
  const uint8_t* data(uint16_t buf) const {
    return bytes_.data() + size_t{buf - first_buf_} * slot_size_;
  }

  // A new datagram is being admitted: sets held from now on are its own
  // (HeldSet::this_datagram) until the next call.
  void begin_datagram() { ++serial_; }

  // Copies the data set body [body, body + len) of `stream` aside for
  // template `template_id`; false when it was dropped (counted).
  bool hold(uint32_t stream, uint16_t template_id, const uint8_t* body, size_t len,
            const TimeContext& tc, int64_t now_ms);

  // Template `template_id` of `stream` (at `exporter`) arrived: calls
  // use(const HeldSet&) -> Use for each set held for it, oldest first.
  template <class F>
  void release(uint32_t stream, uint16_t template_id, const IpAddr& exporter, F&& use);

  // Up to max of the sets handed off since the last call, in order.
  size_t take_ready(ReadyDatagram* out, size_t max);
  // A worker returned held-data buffer `buf` (>= first_buf()): its slot is
  // free.
  void free_buffer(uint16_t buf);

  // Forgets sets held longer than decode.held_timeout.
  void expire(int64_t now_ms);
  // The stream is gone: its held sets are forgotten (counted as expired).
  void forget(uint32_t stream);

 private:
  static constexpr uint32_t kNil = UINT32_MAX;
  enum class State : uint8_t { kFree, kHeld, kInFlight };
  struct Slot {
    State state = State::kFree;
    uint64_t serial = 0;  // begin_datagram() that held it
    uint32_t stream = 0;
    uint16_t template_id = 0;
    uint16_t len = 0;
    int64_t held_ms = 0;
    TimeContext time;
    uint32_t prev = kNil, next = kNil;  // the stream's list, oldest first
  };
  struct Stream {
    uint32_t head = kNil, tail = kNil;
    uint64_t bytes = 0;
    HeldStreamStats stats;
  };
  void unlink(uint32_t slot);
  void free_slot(uint32_t slot);
  void drop(uint32_t slot, bool expired);

  const uint32_t first_buf_;
  const uint32_t slot_size_;
  uint32_t slots_;
  const int64_t timeout_ms_;
  const uint64_t bytes_per_stream_;
  SessionCounters& counters_;
  std::vector<Slot> held_;
  std::vector<uint8_t> bytes_;  // slots_ x slot_size_
  std::vector<uint32_t> free_;
  std::vector<Stream> streams_;
  size_t used_ = 0;
  uint64_t total_bytes_ = 0;
  std::vector<uint16_t> ready_;  // buffer ids of released sets, FIFO
  size_t ready_head_ = 0;
  std::vector<IpAddr> ready_exporter_;  // by slot
  uint64_t serial_ = 0;
};

template <class F>
void HeldData::release(uint32_t stream, uint16_t template_id, const IpAddr& exporter, F&& use) {
  uint32_t slot = streams_[stream].head;
  while (slot != kNil) {
    Slot& h = held_[slot];
    const uint32_t next = h.next;
    if (h.template_id != template_id) {
      slot = next;
      continue;
    }
    HeldSet set;
    set.buf = static_cast<uint16_t>(first_buf_ + slot);
    set.data = bytes_.data() + size_t{slot} * slot_size_;
    set.len = h.len;
    set.time = &h.time;
    set.this_datagram = h.serial == serial_;
    const Use u = use(static_cast<const HeldSet&>(set));
    if (u != Use::kEmpty) {
      counters_.held_released.add();
      ++streams_[stream].stats.released;
    }
    if (u != Use::kHandOff) {
      drop(slot, false);
    } else {
      // Unlinked from the stream's list, the slot stays taken: it is a
      // buffer a worker holds until free_buffer().
      unlink(slot);
      h.state = State::kInFlight;
      ready_.push_back(set.buf);
      ready_exporter_[slot] = exporter;
    }
    slot = next;
  }
}

}  // namespace ringflow
