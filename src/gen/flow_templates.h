// The templates ringflow-gen exports in NetFlow v9 and IPFIX, and each
// traffic key's data record pre-encoded under them.
//
// Templates (ids are the same in every observation domain, as routers do):
//   256  IPv4 flows, Cisco-like: addresses, ports, protocol, ToS, TCP flags,
//        ingress/egress interfaces, packets, bytes, start/end, source and
//        destination AS, prefix lengths, next hop, direction
//   257  the IPv6 flows, the same with IPv6 addresses, prefix lengths and next hop
//   258  options template of the samplers (--sampling / --samplers):
//        v9 scope System, samplerId 48, samplerMode 49, samplerRandomInterval 50;
//        IPFIX scope selectorId 302, selectorAlgorithm 304,
//        samplingPacketInterval 305, samplingPacketSpace 306
//   259  IPFIX: one variable-length applicationName, for the var_overflow fault
//   260  options template of the interface table (--interface-names), sent with
//        the templates: v9 scope Interface (type 2, 4 bytes), interfaceName 82
//        (16 bytes) and interfaceDescription 83 (32 bytes), NUL-padded;
//        IPFIX scope ingressInterface 10, 82 and 83 variable length. One
//        record per ifIndex the traffic uses (1..16): if_name() /
//        if_description().
//   300  the zero_fields fault's broken template (never installed)
// Counters are 4 bytes in v9 (as IOS sends them), 8 in IPFIX. Times: v9
// flowStart/EndSysUpTime (22/21); IPFIX flowStart/EndMilliseconds (152/153),
// or flowStart/EndDeltaMicroseconds (158/159) with --ipfix-time delta.
// Optional fields, appended in this order: samplerId 48 (v9) / selectorId 302
// (IPFIX) when sampling; an enterprise-specific element (IPFIX, PEN 32473,
// the documentation PEN of RFC 5612) with --enterprise; applicationName 96,
// variable length (IPFIX) with --varlen.
// Layout B (template redefinition, domain collision) is layout A with
// flowEndReason 136 (1 byte) appended: a different layout under the same id.
//
// Record images: every key's record under its family's template is encoded
// once (by encode_record(), the decoder's inverse) with zero packets, bytes,
// times and TCP flags; the send loop copies the image and patches those five
// at the offsets in Patch, as the v5 path does with its 48-byte images. A
// key's sampler is fixed (key % samplers), so its sampling rate is too. The
// variable-length field is last, so the patch offsets are the same for every
// key of a family.
//
// Thread safety: immutable after construction; shared by the sender threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gen/gen_config.h"
#include "gen/template_encoder.h"
#include "gen/traffic.h"

namespace ringflow::gen {

inline constexpr uint16_t kTemplateV4 = 256, kTemplateV6 = 257, kTemplateOptions = 258,
                          kTemplateVarProbe = 259, kTemplateIfNames = 260,
                          kTemplateBroken = 300;
// --interface-names: the ifIndexes named (the traffic's inputs 1..8 and
// outputs 9..16) and their strings.
inline constexpr uint32_t kIfNamesFirst = 1, kIfNamesLast = 16;
std::string if_name(uint32_t idx);         // "xe-0/0/<idx>"
std::string if_description(uint32_t idx);  // "ringflow-gen port <idx>"
// "idx=name=description;..." for the truth file's interface_names column.
std::string if_names_truth();
inline constexpr uint32_t kEnterprisePen = 32473;  // RFC 5612: for documentation
inline constexpr uint16_t kEnterpriseElement = 1;
inline constexpr uint8_t kLayoutBExtra = 3;  // flowEndReason "end of flow detected"
// Largest v9/IPFIX datagram built: an Ethernet MTU less IPv4 and UDP headers,
// so that exports fit a collector's default 2048-byte buffer and one frame.
inline constexpr size_t kMaxTemplatedDatagram = 1472;

// Where the send loop patches a record image.
struct Patch {
  uint16_t packets = 0, bytes = 0, first = 0, last = 0, tcp_flags = 0;
  uint8_t counter_len = 4;  // packets and bytes: 4 (v9) or 8 (IPFIX)
  uint8_t time_len = 4;     // 4: v9 uptime or IPFIX delta microseconds; 8: IPFIX ms
};

class FlowTemplates {
 public:
  // REQUIRES: cfg.templated(), validate(cfg) == "", model built from cfg.
  FlowTemplates(const GenConfig& cfg, const TrafficModel& model);

  WireVersion version() const { return version_; }
  // Data template of a family (v6) in layout variant b (0 = A, 1 = B).
  const TemplateSpec& data_template(bool v6, int b) const { return data_[v6][b]; }
  bool has_family(bool v6) const { return has_[v6]; }
  const TemplateSpec& options_template() const { return options_; }
  const TemplateSpec& var_probe_template() const { return var_probe_; }
  bool sampling() const { return !rates_.empty(); }
  const std::vector<uint32_t>& sampler_rates() const { return rates_; }
  const Patch& patch(bool v6) const { return patch_[v6]; }

  // Key k's record image (layout A) and its length. copy_size() bytes may be
  // read from image(k) (the images are followed by that much slack).
  const uint8_t* image(uint32_t k) const { return &images_[size_t{k} * stride_]; }
  // 64, 128 or 256: the send loop copies this many bytes per record of a
  // family (a fixed-size copy is a few vector moves; the bytes past the
  // record are overwritten or cleared afterwards), >= every image's length of
  // the family + 1 (layout B's extra byte).
  size_t copy_size(bool v6) const { return copy_[v6]; }
  uint8_t image_len(uint32_t k) const { return len_[k]; }
  // The same as raw arrays, for loops that keep them in registers.
  const uint8_t* images() const { return images_.data(); }
  size_t stride() const { return stride_; }
  const uint8_t* image_lens() const { return len_.data(); }
  bool v6(uint32_t k) const { return v6_[k] != 0; }
  // The sampling rate key k's records are sent under (1 = not sampled).
  uint32_t rate(uint32_t k) const { return rates_.empty() ? 1 : rates_[k % rates_.size()]; }
  uint32_t sampler_id(uint32_t k) const {
    return rates_.empty() ? 0 : static_cast<uint32_t>(k % rates_.size()) + 1;
  }
  // Writes the template sets (options template first, then 256/257 in
  // variant b) and, when sampling, the options data set into m. Returns the
  // template records and the options data records written (the latter count
  // in an IPFIX sequence).
  struct Written {
    uint32_t templates = 0, options_records = 0;
  };
  Written write_templates(MessageBuilder& m, int b) const;
  // Bytes write_templates() adds.
  size_t templates_size(int b) const { return templates_size_[b]; }

 private:
  WireVersion version_;
  bool has_[2] = {false, false};
  TemplateSpec data_[2][2];
  TemplateSpec options_, var_probe_, if_names_;
  bool send_if_names_ = false;
  std::vector<uint32_t> rates_;
  Patch patch_[2];
  size_t stride_ = 0, copy_[2] = {64, 64};
  std::vector<uint8_t> images_;
  std::vector<uint8_t> len_;
  std::vector<uint8_t> v6_;
  size_t templates_size_[2] = {0, 0};
};

}  // namespace ringflow::gen
