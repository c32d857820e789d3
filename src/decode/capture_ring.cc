#include "decode/capture_ring.h"

#include <algorithm>
#include <cstring>
#include <thread>

#include "wire/bytes.h"

namespace ringflow {

bool capture_stream_of(const uint8_t* p, size_t len, const IpAddr& source, CaptureStreamId* out) {
  const WireFormat* f = find_wire_format(p, len);
  if (!f) return false;
  out->format = static_cast<FormatId>(f - kWireFormats);
  if (f->decoder == WireDecoder::kSflow) {
    // version (4), agent address type (4: 1 = IPv4, 2 = IPv6), the agent
    // address, sub-agent id (4): the stream is the agent's, as in Sessions.
    if (len < 8) return false;
    const uint32_t type = wire::load_be32(p + 4);
    const size_t alen = type == 2 ? 16 : 4;
    if ((type != 1 && type != 2) || len < 8 + alen + 4) return false;
    out->exporter = type == 1 ? IpAddr::from_v4(wire::load_be32(p + 8)) : IpAddr::from_v6(p + 8);
    out->domain = wire::load_be32(p + 8 + alen);
    return true;
  }
  out->exporter = source;
  out->domain = static_cast<uint32_t>(f->stream_key(p, len));
  return true;
}

namespace {
uint64_t hash_stream(const CaptureStreamId& id) {
  uint64_t h = hash_addr(id.exporter);
  h ^= (uint64_t{id.domain} << 8 | id.format) * 0x9E3779B97F4A7C15ull;
  return h ^ (h >> 31);
}
}  // namespace

CaptureRing::CaptureRing(uint32_t per_stream, uint32_t snaplen, uint64_t max_bytes)
    : per_stream_(std::max<uint32_t>(1, per_stream)),
      snaplen_(std::max<uint32_t>(1, snaplen)),
      max_streams_(static_cast<uint32_t>(std::clamp<uint64_t>(
          max_bytes / (uint64_t{per_stream_} * snaplen_), 1, 1u << 20))),
      streams_(new Stream[max_streams_]),
      slots_(new Slot[uint64_t{max_streams_} * per_stream_]),
      // Value-initialised: zeroed now, so its pages are in before the first
      // datagram and the reactor takes no page fault for them later.
      arena_(new uint8_t[uint64_t{max_streams_} * per_stream_ * snaplen_]()) {
  size_t cap = 16;
  while (cap < 2ull * max_streams_) cap <<= 1;
  index_.assign(cap, -1);
}

int32_t CaptureRing::find_or_add(const CaptureStreamId& id) {
  const size_t mask = index_.size() - 1;
  for (size_t i = hash_stream(id) & mask;; i = (i + 1) & mask) {
    const int32_t s = index_[i];
    if (s < 0) {
      const uint32_t n = used_.load(std::memory_order_relaxed);
      if (n >= max_streams_) return -1;
      streams_[n].id = id;
      index_[i] = static_cast<int32_t>(n);
      used_.store(n + 1, std::memory_order_release);  // publishes the id
      return static_cast<int32_t>(n);
    }
    if (streams_[s].id == id) return s;
  }
}

void CaptureRing::capture(const uint8_t* p, uint32_t len, const IpAddr& source,
                          uint16_t source_port, uint8_t socket, int64_t recv_ns) {
  CaptureStreamId id;
  if (!capture_stream_of(p, len, source, &id)) {
    skipped_[static_cast<size_t>(CaptureSkip::kUnrecognised)].fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const int32_t s = find_or_add(id);
  if (s < 0) {
    skipped_[static_cast<size_t>(CaptureSkip::kStreamsFull)].fetch_add(1, std::memory_order_relaxed);
    return;
  }
  Stream& st = streams_[s];
  const uint64_t k = st.head.load(std::memory_order_relaxed);
  const uint64_t index = uint64_t(s) * per_stream_ + k % per_stream_;
  Slot& slot = slots_[index];
  uint32_t expected = kFree;
  if (!slot.state.compare_exchange_strong(expected, kWriting, std::memory_order_acquire,
                                          std::memory_order_relaxed)) {
    skipped_[static_cast<size_t>(CaptureSkip::kBusy)].fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const uint32_t caplen = std::min(len, snaplen_);
  std::memcpy(arena_.get() + index * snaplen_, p, caplen);
  slot.seq = k;
  slot.recv_ns = recv_ns;
  slot.source = source;
  slot.source_port = source_port;
  slot.socket = socket;
  slot.orig_len = len;
  slot.caplen = caplen;
  slot.state.store(kFree, std::memory_order_release);
  st.last_ns.store(recv_ns, std::memory_order_relaxed);
  st.head.store(k + 1, std::memory_order_release);
  captured_.fetch_add(1, std::memory_order_relaxed);
  if (caplen < len) truncated_.fetch_add(1, std::memory_order_relaxed);
}

void CaptureRing::streams(std::vector<CaptureStreamInfo>* out) const {
  const uint32_t n = used_.load(std::memory_order_acquire);
  for (uint32_t s = 0; s < n; ++s) {
    CaptureStreamInfo info;
    info.id = streams_[s].id;
    info.captured = streams_[s].head.load(std::memory_order_acquire);
    info.kept = static_cast<uint32_t>(std::min<uint64_t>(info.captured, per_stream_));
    info.last_ns = streams_[s].last_ns.load(std::memory_order_relaxed);
    out->push_back(info);
  }
}

bool CaptureRing::copy(const CaptureStreamId& id, std::vector<CapturedDatagram>* out) const {
  const uint32_t n = used_.load(std::memory_order_acquire);
  for (uint32_t s = 0; s < n; ++s) {
    if (!(streams_[s].id == id)) continue;
    const uint64_t head = streams_[s].head.load(std::memory_order_acquire);
    const uint64_t first = head > per_stream_ ? head - per_stream_ : 0;
    for (uint64_t k = first; k < head; ++k) {
      const uint64_t index = uint64_t(s) * per_stream_ + k % per_stream_;
      Slot& slot = slots_[index];
      uint32_t expected = kFree;
      // The writer holds a slot for one memcpy; another reader as long.
      while (!slot.state.compare_exchange_weak(expected, kReading, std::memory_order_acquire,
                                               std::memory_order_relaxed)) {
        expected = kFree;
        std::this_thread::yield();
      }
      if (slot.seq == k) {
        CapturedDatagram d;
        d.recv_ns = slot.recv_ns;
        d.source = slot.source;
        d.source_port = slot.source_port;
        d.socket = slot.socket;
        d.orig_len = slot.orig_len;
        const uint8_t* b = arena_.get() + index * snaplen_;
        try {
          d.data.assign(b, b + slot.caplen);
        } catch (...) {
          slot.state.store(kFree, std::memory_order_release);
          throw;
        }
        slot.state.store(kFree, std::memory_order_release);
        out->push_back(std::move(d));
      } else {
        slot.state.store(kFree, std::memory_order_release);  // overwritten since: left out
      }
    }
    return true;
  }
  return false;
}

}  // namespace ringflow
