#include "forward/template_copy.h"

#include <cstring>

#include "forward/rendezvous.h"
#include "wire/bytes.h"
#include "wire/ipfix.h"
#include "wire/netflow9.h"

namespace ringflow {
namespace {

// Each template record of a template or options-template set, by id; stops
// at the padding; fn(id, v9 options data record length or 0).
template <class Fn>
void for_each_template(bool v9, bool options, const uint8_t* b, size_t n, Fn&& fn) {
  size_t off = 0;
  while (n - off >= 4) {
    size_t data_len = 0;  // v9 options: the length of one options data record
    const uint16_t id = wire::load_be16(b + off);
    size_t rec;
    if (v9 && !options) {
      rec = 4 + size_t{wire::load_be16(b + off + 2)} * 4;
    } else if (v9) {
      if (n - off < 6) return;
      rec = 6 + size_t{wire::load_be16(b + off + 2)} + wire::load_be16(b + off + 4);
      if (rec <= n - off)
        for (size_t f = off + 6; f + 4 <= off + rec; f += 4) data_len += wire::load_be16(b + f + 2);
    } else {
      const uint16_t fields = wire::load_be16(b + off + 2);
      size_t h = options ? 6 : 4;
      if (fields == 0) h = 4;               // withdrawal
      if (id < 256 || n - off < h) return;  // padding
      rec = h;
      for (uint16_t f = 0; f < fields; ++f) {
        if (n - off < rec + 4) return;
        const uint16_t type = wire::load_be16(b + off + rec);
        rec += (type & 0x8000) ? 8 : 4;
      }
    }
    if (id < 256 || rec > n - off) return;
    fn(id, data_len);
    off += rec;
  }
}

}  // namespace

TemplateCopier::TemplateCopier() : slots_(kSlots) {}

uint64_t TemplateCopier::key_of(const IpAddr& exporter, uint32_t version, uint32_t domain,
                                uint16_t id) const {
  uint64_t h = hash_addr(exporter);
  h = hrw_mix(h ^ (uint64_t{version} << 48 | uint64_t{id} << 32 | domain));
  return h | 1;  // never 0 (empty)
}

void TemplateCopier::learn(uint64_t key, uint32_t record_len) {
  Slot& s = slots_[key & (kSlots - 1)];
  if (s.key != 0 && s.key != key) ++forgotten_;
  s.key = key;
  s.record_len = record_len;
}

void TemplateCopier::forget(uint64_t key) {
  Slot& s = slots_[key & (kSlots - 1)];
  if (s.key == key) s.key = 0;
}

const TemplateCopier::Slot* TemplateCopier::find(uint64_t key) const {
  const Slot& s = slots_[key & (kSlots - 1)];
  return s.key == key ? &s : nullptr;
}

size_t TemplateCopier::copy(const uint8_t* p, size_t len, WireDecoder format,
                            const IpAddr& exporter, uint8_t* out, size_t cap) {
  if (format != WireDecoder::kV9 && format != WireDecoder::kIpfix) return 0;
  const bool v9 = format == WireDecoder::kV9;
  const uint32_t version = static_cast<uint32_t>(format);  // the table's key only
  const size_t hdr = v9 ? v9::kHeaderSize : ipfix::kHeaderSize;
  if (len < hdr || cap < hdr) return 0;
  const uint32_t domain = wire::load_be32(p + (v9 ? v9::hdr::kSourceId : ipfix::hdr::kDomain));
  const uint16_t tpl_set = v9 ? v9::kTemplateSetId : ipfix::kTemplateSetId;
  const uint16_t opt_set = v9 ? v9::kOptionsTemplateSetId : ipfix::kOptionsTemplateSetId;

  // The chain must be whole (a v9 zero tail ends it).
  size_t end = hdr;
  while (len - end >= 4) {
    const uint16_t slen = wire::load_be16(p + end + 2);
    if (slen < 4 || slen > len - end) break;
    end += slen;
  }
  if (end != len) {
    bool zero_tail = v9;
    for (size_t i = end; zero_tail && i < len; ++i) zero_tail = p[i] == 0;
    if (!zero_tail) return 0;
  }

  std::memcpy(out, p, hdr);
  size_t o = hdr;
  uint32_t records = 0;
  for (size_t off = hdr; off < end;) {
    const uint16_t id = wire::load_be16(p + off);
    const uint16_t slen = wire::load_be16(p + off + 2);
    const uint8_t* body = p + off + 4;
    const size_t blen = slen - size_t{4};
    bool take = false;
    if (id == tpl_set || id == opt_set) {
      const bool options = id == opt_set;
      for_each_template(v9, options, body, blen, [&](uint16_t tid, size_t data_len) {
        const uint64_t k = key_of(exporter, version, domain, tid);
        if (options) {
          learn(k, static_cast<uint32_t>(data_len));
        } else {
          forget(k);
        }
        ++records;
      });
      take = true;
    } else if (const Slot* s = id >= 256 ? find(key_of(exporter, version, domain, id)) : nullptr) {
      take = true;
      if (s->record_len > 0) records += static_cast<uint32_t>(blen / s->record_len);
    }
    if (take) {
      if (cap - o < slen) return 0;
      std::memcpy(out + o, p + off, slen);
      o += slen;
    }
    off += slen;
  }
  if (o == hdr) return 0;
  if (v9) {
    wire::store_be16(out + v9::hdr::kCount, static_cast<uint16_t>(records));
  } else {
    wire::store_be16(out + ipfix::hdr::kLength, static_cast<uint16_t>(o));
  }
  return o;
}

}  // namespace ringflow
