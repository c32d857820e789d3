#include "gen/gen_config.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "wire/v5.h"

namespace ringflow::gen {
namespace {

constexpr std::array<std::string_view, kMalformedClasses> kNames = {
    "too_short",  "bad_version",     "count_zero",     "count_too_large",
    "truncated",  "length_mismatch", "trailing_bytes", "garbage",
    "set_length", "zero_fields",     "var_overflow",   "ipfix_length",
    "agent_type", "sample_length",   "record_length",  "sample_count",
    "header_length"};

std::string fmt(const char* f, double a) {
  char buf[160];
  std::snprintf(buf, sizeof buf, f, a);
  return buf;
}

bool parse_uint(std::string_view s, uint32_t max, uint32_t* out) {
  if (s.empty()) return false;
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > max) return false;
  *out = v;
  return true;
}

bool prob_ok(double p) { return std::isfinite(p) && p >= 0 && p <= 1; }

}  // namespace

std::string_view protocol_name(Protocol p) {
  return p == Protocol::kV5 ? "v5" : p == Protocol::kV9 ? "v9" : p == Protocol::kIpfix ? "ipfix" : "sflow";
}

bool applies(MalformedClass c, Protocol p) {
  switch (c) {
    case MalformedClass::kTooShort:
    case MalformedClass::kBadVersion:
    case MalformedClass::kGarbage:
      return true;
    case MalformedClass::kCountZero:
    case MalformedClass::kCountTooLarge:
    case MalformedClass::kTruncated:
    case MalformedClass::kLengthMismatch:
    case MalformedClass::kTrailingBytes:
      return p == Protocol::kV5;
    case MalformedClass::kSetLength:
    case MalformedClass::kZeroFields:
      return p == Protocol::kV9 || p == Protocol::kIpfix;
    case MalformedClass::kVarOverflow:
    case MalformedClass::kIpfixLength:
      return p == Protocol::kIpfix;
    case MalformedClass::kAgentType:
    case MalformedClass::kSampleLength:
    case MalformedClass::kRecordLength:
    case MalformedClass::kSampleCount:
    case MalformedClass::kHeaderLength:
      return p == Protocol::kSflow;
  }
  return false;
}

std::string_view malformed_name(MalformedClass c) { return kNames[static_cast<size_t>(c)]; }

std::optional<MalformedClass> parse_malformed(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == name) return static_cast<MalformedClass>(i);
  return std::nullopt;
}

Reject expected_reject(MalformedClass c) {
  switch (c) {
    case MalformedClass::kTooShort:
      return Reject::kTooShort;
    case MalformedClass::kBadVersion:
      return Reject::kBadVersion;
    case MalformedClass::kCountZero:
      return Reject::kCountZero;
    case MalformedClass::kCountTooLarge:
      return Reject::kCountTooLarge;
    case MalformedClass::kTruncated:
      return Reject::kTruncated;
    case MalformedClass::kLengthMismatch:
      return Reject::kTruncated;
    case MalformedClass::kTrailingBytes:
      return Reject::kTrailingBytes;
    case MalformedClass::kGarbage:
      return Reject::kBadVersion;
    case MalformedClass::kSetLength:
      return Reject::kSetLength;
    case MalformedClass::kIpfixLength:
      return Reject::kIpfixLength;
    case MalformedClass::kZeroFields:
    case MalformedClass::kVarOverflow:
    case MalformedClass::kAgentType:  // sFlow: expected_sflow_reject()
    case MalformedClass::kSampleLength:
    case MalformedClass::kRecordLength:
    case MalformedClass::kSampleCount:
    case MalformedClass::kHeaderLength:
      return Reject::kNone;
  }
  return Reject::kNone;
}

bool is_loopback(const IpAddr& a) {
  if (a.is_v4()) return (a.v4() >> 24) == 127;
  IpAddr one{};
  one.bytes[15] = 1;
  return a == one;
}

ExporterMode GenConfig::resolved_mode() const {
  if (exporter_mode != ExporterMode::kAuto) return exporter_mode;
  return (!target.any_v6 && target.addr.is_v4() && is_loopback(target.addr)) ? ExporterMode::kAddr
                                                                             : ExporterMode::kPort;
}

GenConfig default_config() {
  GenConfig c;
  c.target = *Endpoint::parse("127.0.0.1:2055");
  return c;
}

std::optional<uint16_t> parse_sampling(std::string_view text) {
  auto colon = text.find(':');
  uint32_t mode = 0, interval = 0;
  if (colon == std::string_view::npos) {
    if (!parse_uint(text, 0x3FFF, &interval)) return std::nullopt;
    mode = interval > 1 ? 1 : 0;
  } else if (!parse_uint(text.substr(0, colon), 3, &mode) ||
             !parse_uint(text.substr(colon + 1), 0x3FFF, &interval)) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(mode << 14 | interval);
}

std::optional<uint32_t> parse_sflow_records(std::string_view text, std::string* bad) {
  static constexpr std::pair<std::string_view, uint32_t> kRec[] = {
      {"header", kSflowRecHeader}, {"ip", kSflowRecIp},           {"switch", kSflowRecSwitch},
      {"router", kSflowRecRouter}, {"gateway", kSflowRecGateway}};
  uint32_t mask = 0;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto name = text.substr(0, comma);
    uint32_t bit = 0;
    for (const auto& [n, b] : kRec)
      if (n == name) bit = b;
    if (bit == 0) {
      if (bad) *bad = std::string(name);
      return std::nullopt;
    }
    mask |= bit;
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
  }
  if ((mask & (kSflowRecHeader | kSflowRecIp)) == 0) {
    if (bad) *bad = "(neither header nor ip)";
    return std::nullopt;
  }
  return mask;
}

std::optional<uint32_t> parse_malformed_list(std::string_view text, std::string* bad) {
  if (text == "all") return kAllMalformed;
  uint32_t mask = 0;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto name = text.substr(0, comma);
    auto c = parse_malformed(name);
    if (!c) {
      if (bad) *bad = std::string(name);
      return std::nullopt;
    }
    mask |= 1u << static_cast<unsigned>(*c);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
  }
  if (mask == 0) {
    if (bad) bad->clear();
    return std::nullopt;
  }
  return mask;
}

std::string validate(const GenConfig& c) {
  if (c.target.port == 0)
    return "--target: expected HOST:PORT with a port in 1..65535, found port 0";
  if (c.target.any_v6) return "--target: expected a host address, found only a port";
  if (!c.allow_remote && !is_loopback(c.target.addr))
    return "--target: " + c.target.str() +
           " is not a loopback address; pass --allow-remote to send load off this host";
  if (c.resolved_mode() == ExporterMode::kAddr &&
      !(c.target.addr.is_v4() && is_loopback(c.target.addr)))
    return "--exporter-mode addr: sources 127.0.0.x only reach an IPv4 loopback target, found " +
           c.target.str() + "; use --exporter-mode port";
  if (!(std::isfinite(c.pps) && c.pps >= 0))
    return fmt("--pps: expected a rate >= 0, found %g", c.pps);
  if (!(std::isfinite(c.fps) && c.fps >= 0))
    return fmt("--fps: expected a rate >= 0, found %g", c.fps);
  if (c.pps > 0 && c.fps > 0) return "--pps and --fps: give one rate, not both";
  if (!(std::isfinite(c.duration_s) && c.duration_s >= 0))
    return fmt("--duration: expected seconds >= 0, found %g", c.duration_s);
  if (c.records < 1 || c.records > v5::kMaxRecords)
    return fmt("--records: expected 1..30 records per datagram, found %g", c.records);
  if (c.exporters < 1 || c.exporters > 65534)
    return fmt("--exporters: expected 1..65534, found %g", c.exporters);
  if (c.threads < 1 || c.threads > 64) return fmt("--threads: expected 1..64, found %g", c.threads);
  if (c.batch < 1 || c.batch > 256) return fmt("--batch: expected 1..256, found %g", c.batch);
  if (c.keys < 1 || c.keys > (1u << 22))
    return fmt("--keys: expected 1..4194304, found %g", c.keys);
  if (!(std::isfinite(c.zipf) && c.zipf >= 0 && c.zipf <= 10))
    return fmt("--zipf: expected an exponent in 0..10, found %g", c.zipf);
  if (!prob_ok(c.loss)) return fmt("--loss: expected a probability in 0..1, found %g", c.loss);
  if (!prob_ok(c.reorder))
    return fmt("--reorder: expected a probability in 0..1, found %g", c.reorder);
  if (!prob_ok(c.duplicate))
    return fmt("--duplicate: expected a probability in 0..1, found %g", c.duplicate);
  if (!prob_ok(c.malformed))
    return fmt("--malformed: expected a probability in 0..1, found %g", c.malformed);
  if ((c.malformed_mask & kAllMalformed) == 0 || (c.malformed_mask & ~kAllMalformed) != 0)
    return "--malformed-class: expected at least one known class";
  {
    bool any = false;
    for (size_t i = 0; i < kMalformedClasses; ++i)
      if ((c.malformed_mask >> i & 1) && applies(static_cast<MalformedClass>(i), c.protocol))
        any = true;
    if (!any)
      return "--malformed-class: expected at least one class that --protocol " +
             std::string(protocol_name(c.protocol)) + " sends (see docs/generator.md)";
  }
  if (c.protocol != Protocol::kSflow &&
      (c.sflow_records != kSflowRecDefault || c.sflow_expanded || c.agent_ipv6 ||
       c.counter_every != 20 || c.header_bytes != 128 || c.vlan || c.mpls || c.vxlan ||
       c.agent_drops > 0 || c.cut_headers > 0))
    return "--sflow-records, --expanded, --agent-ipv6, --counter-every, --header-bytes, --vlan, "
           "--mpls, --vxlan, --drops and --cut-headers: only with --protocol sflow";
  if (c.sflow()) {
    if (!(std::isfinite(c.ipv6_share) && c.ipv6_share >= 0 && c.ipv6_share <= 1))
      return fmt("--ipv6-share: expected a fraction in 0..1, found %g", c.ipv6_share);
    if (c.domains < 1 || c.domains > 256)
      return fmt("--sub-agents: expected 1..256, found %g", c.domains);
    if (uint64_t{c.exporters} * c.domains > 65534)
      return "--exporters x --sub-agents: expected at most 65534 streams";
    if (c.sampler_rates.size() > 8)
      return fmt("--samplers: expected at most 8 sources, found %g",
                 static_cast<double>(c.sampler_rates.size()));
    for (uint32_t r : c.sampler_rates)
      if (r < 1 || r > 1000000)
        return fmt("--samplers: expected rates in 1..1000000, found %g", r);
    if (c.sampling_raw != 0)
      return "--sampling: with --protocol sflow give the rate as --sampling N or --samplers";
    if (c.header_bytes < 14 || c.header_bytes > 128)
      return fmt("--header-bytes: expected 14..128, found %g", c.header_bytes);
    if (c.mpls && c.vxlan) return "--mpls and --vxlan: give one encapsulation";
    if (!prob_ok(c.agent_drops))
      return fmt("--drops: expected a probability in 0..1, found %g", c.agent_drops);
    if (!prob_ok(c.cut_headers))
      return fmt("--cut-headers: expected a probability in 0..1, found %g", c.cut_headers);
    if (c.cut_headers > 0 && !(c.sflow_records & kSflowRecHeader))
      return "--cut-headers: needs the header record (--sflow-records header,...)";
    if (c.varlen || c.enterprise || c.ipfix_delta_time || c.template_delay > 0 ||
        c.redefine_every > 0 || c.withdraw_every > 0 || c.domain_collision ||
        c.template_separate || c.sequence_includes_current)
      return "--protocol sflow: the template options (--varlen, --enterprise, --ipfix-time, "
             "--template-*, --redefine-every, --withdraw-every, --domain-collision, "
             "--sequence-includes-current) apply to v9/ipfix only";
  } else if (!c.templated() && c.interface_names) {
    return "--interface-names: needs --protocol v9 or ipfix (options data)";
  } else if (!c.templated()) {
    if (c.ipv6_share > 0 || c.varlen || c.enterprise || c.domains != 1 ||
        !c.sampler_rates.empty() || c.ipfix_delta_time || c.template_delay > 0 ||
        c.redefine_every > 0 || c.withdraw_every > 0 || c.domain_collision ||
        c.template_separate)
      return "--protocol v5: the options --ipv6-share, --varlen, --enterprise, --domains, "
             "--samplers, --ipfix-time, --template-*, --redefine-every, --withdraw-every and "
             "--domain-collision need --protocol v9 or ipfix (--ipv6-share and --samplers: or "
             "sflow)";
  } else {
    if (c.sampling_raw != 0)
      return "--sampling: with --protocol v9/ipfix give the rate as --sampling N or --samplers";
    if (!(std::isfinite(c.ipv6_share) && c.ipv6_share >= 0 && c.ipv6_share <= 1))
      return fmt("--ipv6-share: expected a fraction in 0..1, found %g", c.ipv6_share);
    if (c.domains < 1 || c.domains > 256)
      return fmt("--domains: expected 1..256, found %g", c.domains);
    if (uint64_t{c.exporters} * c.domains > 65534)
      return "--exporters x --domains: expected at most 65534 streams";
    if (c.sampler_rates.size() > 8)
      return fmt("--samplers: expected at most 8 samplers, found %g",
                 static_cast<double>(c.sampler_rates.size()));
    for (uint32_t r : c.sampler_rates)
      if (r < 1 || r > 1000000)
        return fmt("--samplers: expected rates in 1..1000000, found %g", r);
    if (!(std::isfinite(c.template_refresh_s) && c.template_refresh_s >= 0))
      return fmt("--template-refresh-time: expected seconds >= 0, found %g", c.template_refresh_s);
    if (c.protocol == Protocol::kV9) {
      if (c.varlen) return "--varlen: NetFlow v9 has no variable-length fields; use --protocol ipfix";
      if (c.withdraw_every > 0)
        return "--withdraw-every: NetFlow v9 has no template withdrawal; use --protocol ipfix";
      if (c.ipfix_delta_time) return "--ipfix-time: only with --protocol ipfix";
      if (c.enterprise)
        return "--enterprise: NetFlow v9 fields carry no enterprise number; use --protocol ipfix";
    }
    if (c.domain_collision && c.domains < 2)
      return "--domain-collision: needs --domains 2 or more";
  }
  if (!(std::isfinite(c.replay_speed) && c.replay_speed >= 0))
    return fmt("--replay-speed: expected a factor >= 0, found %g", c.replay_speed);
  if (!c.replay_path.empty()) {
    if (c.loss > 0 || c.reorder > 0 || c.duplicate > 0 || c.malformed > 0 || c.reset_every > 0)
      return "--replay: fault options (--loss, --reorder, --duplicate, --malformed, "
             "--reset-every) apply to generated traffic only";
    if (!c.truth_keys_path.empty()) return "--truth-keys: not supported with --replay";
    if (c.fps > 0) return "--fps: not supported with --replay (use --pps)";
  } else if (c.rewrite_seq || c.loop != 1) {
    return "--loop and --rewrite-seq: only with --replay FILE";
  }
  return "";
}

}  // namespace ringflow::gen
