// Templates to all (balance mode): the part of a NetFlow v9 or IPFIX
// datagram that every target of a balance-mode forward gets, so that a node
// that later takes over the exporter's stream decodes its data from the
// first datagram (docs/cluster.md).
//
// Decision: the datagram is split, not copied whole. The stream's owner (its
// rendezvous target) gets the original datagram; every other live target
// gets a copy made of the original header followed by exactly these sets, in
// their original order:
//   - template sets           (v9 set id 0, IPFIX set id 2; IPFIX withdrawals
//                               are template records too, so they follow);
//   - options-template sets   (v9 set id 1, IPFIX set id 3);
//   - options data sets       (a data set whose id is an options template of
//                               the same stream: they carry the sampling rates
//                               and the IPFIX system init time).
// Flow data sets are never copied (the copy would be counted twice). The
// copy's header is fixed up: v9's count (the records it now holds) or
// IPFIX's length; the sequence number is left as it was, and the copy is
// flagged (encap::kFlagTemplatesOnly) so that a ringflow receiver does not
// track it. A datagram with none of these sets makes no copy.
//
// Which data set ids are options templates is learned from the options
// template sets this copier sees, per (exporter, version, domain, id), in a
// fixed direct-mapped table (kSlots entries, allocated at construction): a
// collision forgets the older entry, whose options data are then not copied
// until the exporter refreshes the options template (counted by
// forgotten()). A template set redefining an id as a data template clears it.
//
// Never allocates after construction; no exception. Thread safety: one copier
// per (forward, reactor), used by that reactor's thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <ringflow/ip.h>

#include "decode/wire_formats.h"

namespace ringflow {

class TemplateCopier {
 public:
  static constexpr size_t kSlots = 4096;

  TemplateCopier();

  // The datagram [p, p + len) from `exporter`, of the format whose decoder is
  // `format` (the registry's: WireDecoder::kV9 or kIpfix; any other gives 0). Learns its options
  // templates, then writes the copy to out (at most cap bytes) and returns its length, or 0 when it
  // holds none of the sets above (or its set chain is malformed: then nothing
  // is learned either).
  size_t copy(const uint8_t* p, size_t len, WireDecoder format, const IpAddr& exporter,
              uint8_t* out, size_t cap);

  uint64_t forgotten() const { return forgotten_; }

 private:
  struct Slot {
    uint64_t key = 0;         // 0 = empty
    uint32_t record_len = 0;  // v9: one options data record's length (the copy's count)
  };
  uint64_t key_of(const IpAddr& exporter, uint32_t version, uint32_t domain, uint16_t id) const;
  void learn(uint64_t key, uint32_t record_len);
  void forget(uint64_t key);
  const Slot* find(uint64_t key) const;

  std::vector<Slot> slots_;
  uint64_t forgotten_ = 0;
};

}  // namespace ringflow
