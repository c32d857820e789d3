// Streams per exporter address (decode.max_streams_per_address), and the
// addresses refused for being over it.
//
// A stream is (exporter address, version, domain): one address can invent
// streams with observation-domain ids (or v5 engine ids) alone and fill
// decode.max_streams, locking every new exporter out. AddressQuota counts the
// tracked streams of each address and refuses a new one past the quota.
// Memory is fixed at construction (an open-addressing table of at least twice
// max_streams slots, backward-shift deletion): acquire() and release() never
// allocate.
//
// RefusedAddresses counts the refused datagrams by address, for the metric
// ringflow_streams_refused_by_exporter_total: at most kMaxAddresses addresses
// are kept (the first refused), later ones are summed in other(); fixed
// memory, a short linear scan per refusal.
//
// Thread safety: owned by one reactor thread (its Sessions).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <ringflow/ip.h>

namespace ringflow {

class AddressQuota {
 public:
  // per_address 0: no quota (acquire() always succeeds, nothing is counted).
  AddressQuota(uint32_t max_streams, uint32_t per_address) : per_address_(per_address) {
    size_t cap = 16;
    while (cap < size_t{max_streams} * 2) cap <<= 1;
    if (per_address_) slots_.resize(cap);
    mask_ = cap - 1;
  }

  // One more stream for `a`: true and counted, or false when `a` has
  // per_address streams already.
  bool acquire(const IpAddr& a) {
    if (!per_address_) return true;
    size_t pos = home(a);
    while (slots_[pos].count && !(slots_[pos].addr == a)) pos = (pos + 1) & mask_;
    Slot& s = slots_[pos];
    if (s.count >= per_address_) return false;
    if (!s.count) s.addr = a;
    ++s.count;
    return true;
  }
  // One stream of `a` is gone (it was acquired).
  void release(const IpAddr& a) {
    if (!per_address_) return;
    size_t pos = home(a);
    while (slots_[pos].count && !(slots_[pos].addr == a)) pos = (pos + 1) & mask_;
    if (!slots_[pos].count) return;  // not counted: nothing to release
    if (--slots_[pos].count) return;
    // Backward-shift deletion: move later members of the run into the hole.
    size_t hole = pos;
    for (size_t next = (hole + 1) & mask_; slots_[next].count; next = (next + 1) & mask_) {
      const size_t want = home(slots_[next].addr);
      // Movable when its home is not in (hole, next] (cyclically).
      if (((next - want) & mask_) >= ((next - hole) & mask_)) {
        slots_[hole] = slots_[next];
        slots_[next].count = 0;
        hole = next;
      }
    }
    slots_[hole].count = 0;
  }
  // Streams counted for `a`.
  uint32_t count(const IpAddr& a) const {
    if (!per_address_) return 0;
    size_t pos = home(a);
    while (slots_[pos].count && !(slots_[pos].addr == a)) pos = (pos + 1) & mask_;
    return slots_[pos].count;
  }
  uint32_t per_address() const { return per_address_; }

 private:
  struct Slot {
    IpAddr addr;
    uint32_t count = 0;  // 0 = empty slot
  };
  size_t home(const IpAddr& a) const { return hash_addr(a) & mask_; }
  uint32_t per_address_;
  size_t mask_ = 0;
  std::vector<Slot> slots_;
};

struct AddressRefusals {
  IpAddr exporter;
  uint64_t datagrams = 0;
};

class RefusedAddresses {
 public:
  static constexpr size_t kMaxAddresses = 64;

  RefusedAddresses() { list_.reserve(kMaxAddresses); }
  void add(const IpAddr& a) {
    for (AddressRefusals& r : list_) {
      if (r.exporter == a) {
        ++r.datagrams;
        return;
      }
    }
    if (list_.size() < kMaxAddresses) {
      list_.push_back({a, 1});
    } else {
      ++other_;
    }
  }
  const std::vector<AddressRefusals>& list() const { return list_; }
  uint64_t other() const { return other_; }

 private:
  std::vector<AddressRefusals> list_;
  uint64_t other_ = 0;
};

}  // namespace ringflow
