// The v9/IPFIX decoder against real exporters: every scenario of
// ../shared/captures/v9ipfix/ (92 captures from five public collectors' test
// data: Cisco, Juniper, Huawei, Nokia, Palo Alto, FortiGate, NetScaler, YAF,
// nProbe, softflowd, ...) is replayed datagram by datagram through the ordered
// stage (src/decode/sessions.h) and the record reader, and every data record
// must equal tshark's decoding:
//   - frame, template (set) id, domain, addresses, ports, protocol, packets
//     and bytes from the shared truth files (truth/<capture>.records.tsv);
//   - every other field from a tshark run of this test's own
//     (tests/support/tshark_cflow.h, one run over all captures): ToS, TCP
//     flags, AS numbers, masks, interfaces, next hop, VLAN, direction, start
//     and end time, and the sampling rate the worker resolves with
//     renormalize = true (tshark's options data of the same domain, or the
//     record's own interval), with packets and bytes times the rate equal to
//     tshark's count times tshark's rate;
//   - the summary counts (templates, options records, sets without a
//     template) of truth/<capture>.summary.tsv.
// The count compared is exact: every data record of the truth files, less the
// two v5 files ringflow rejects whole (kMustReject).
//
// Records that tshark's first pass does not print are compared too:
//   - late records (data sets that came before their template, held and
//     decoded when it arrives): tshark decodes the same sets in a replay of
//     the capture after it, when it has the template, and each late record
//     must equal the record of the same set in that replay;
//   - past the v9 header count (kCountStops): the replay raises the count, so
//     tshark decodes them;
//   - ICMP: where the exporter sends the type/code in its own element and the
//     destination port as 0, ringflow puts type << 8 | code in dst_port (the
//     v5/nfdump convention): compared with tshark's ICMP elements;
//   - after a tshark exception (kNoTsharkTruth, named there with the reason):
//     no tshark run shows them; their number must equal the v9 header count
//     less what tshark printed.
//   - packet sections (IPFIX 315/313/316): the key, ToS, TCP flags and VLAN
//     from tshark's dissection of the section inside the record, bytes from
//     dataLinkFrameSize (see section_truth).
// Other rules that name their reason: kMustReject (deliberately invalid v5
// files: ringflow rejects them whole); bytes/packets when the template has no
// octetDeltaCount/packetDeltaCount: ringflow takes octetTotalCount, else
// initiator + responder octets (Cisco ASA NSEL), which tshark shows in its
// extra column; a message's options records apply to all of its data records
// (ringflow admits a message whole); held records take the IPFIX system init
// time known when they arrived (see annotate).
// The captures come from other projects: they are read in place, never
// copied into this repository. Without ../shared each case says so and is
// reported skipped (RF_SHARED_CAPTURE, tests/support/skip.h; ctest label
// shared-data), which fails a CI run. tshark is a test dependency
// (scripts/deps.sh --test): without it the case fails.
#include <catch2/catch.hpp>

#include <dirent.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "decode/record_reader.h"
#include "decode/sampling.h"
#include "decode/sessions.h"
#include "support/capture_file.h"
#include "support/decode_path.h"
#include "support/skip.h"
#include "support/tshark_cflow.h"
#include "support/tsv.h"

namespace ringflow {
namespace {

const std::string kDir = RINGFLOW_SOURCE_DIR "/../shared/captures/v9ipfix";

const std::set<std::string> kMustReject = {"ls-netflow-5-invalid-01", "ls-netflow-5-invalid-02"};
const std::set<std::string> kCountStops = {"ls-netflow-9-invalid-01"};
// Captures with records that no tshark run can show, and why: H3C sends
// element 43 in 2 bytes where tshark expects an IPv4 address; tshark's
// dissector throws after the first record of frame 2 (15 more follow), in a
// replay as in the original. ringflow's decoding of them is counted and the
// count checked against the v9 header's; their values are not compared.
// (ls-netflow-9-h3c-netstream-with-varstring throws too, but after its only
// record.)
const std::set<std::string> kNoTsharkTruth = {"ls-netflow-9-h3c"};

using testing::read_tsv;
using testing::split;

struct TruthRecord {
  uint32_t frame = 0;
  uint32_t domain = 0;
  uint32_t set_id = 0;
  uint32_t rec = 0;
  std::string src, dst, sport, dport, proto, packets, octets;
  std::map<std::string, std::string> extra;
};

struct Summary {
  uint64_t templates = 0, options_templates = 0, data_records = 0, options_records = 0,
           sets_without_template = 0;
  std::set<uint32_t> exception_frames;
};

uint64_t num(const std::string& s) { return s.empty() ? 0 : std::strtoull(s.c_str(), nullptr, 10); }

std::vector<TruthRecord> read_records(const std::string& path,
                                      std::vector<uint32_t>* options_frames) {
  std::vector<TruthRecord> out;
  for (const std::vector<std::string>& c : read_tsv(path).rows) {
    REQUIRE(c.size() >= 14);
    if (c[6] == "options") {
      options_frames->push_back(static_cast<uint32_t>(num(c[0])));
      continue;
    }
    TruthRecord r;
    r.frame = static_cast<uint32_t>(num(c[0]));
    r.domain = static_cast<uint32_t>(num(c[3]));
    r.set_id = static_cast<uint32_t>(num(c[4]));
    r.rec = static_cast<uint32_t>(num(c[5]));
    r.src = c[7];
    r.dst = c[8];
    r.sport = c[9];
    r.dport = c[10];
    r.proto = c[11];
    r.packets = c[12];
    r.octets = c[13];
    if (c.size() > 14)
      for (const std::string& kv : split(c[14], ';')) {
        size_t eq = kv.find('=');
        if (eq != std::string::npos) r.extra[kv.substr(0, eq)] = kv.substr(eq + 1);
      }
    out.push_back(std::move(r));
  }
  return out;
}

Summary read_summary(const std::string& path) {
  const testing::Tsv t = read_tsv(path);
  REQUIRE(t.rows.size() == 1);
  const std::vector<std::string>& h = t.header;
  const std::vector<std::string>& v = t.rows[0];
  REQUIRE(h.size() == v.size());
  Summary s;
  for (size_t i = 0; i < h.size(); ++i) {
    if (h[i] == "templates") s.templates = num(v[i]);
    if (h[i] == "options_templates") s.options_templates = num(v[i]);
    if (h[i] == "data_records") s.data_records = num(v[i]);
    if (h[i] == "options_records") s.options_records = num(v[i]);
    if (h[i] == "sets_without_template") s.sets_without_template = num(v[i]);
    if (h[i] == "exception_frames" && v[i] != "-")
      for (const std::string& f : split(v[i], ','))
        s.exception_frames.insert(static_cast<uint32_t>(num(f)));
  }
  return s;
}

// ---- tshark, run here: every field, and what it decodes given the template --
//
// One tshark run over all captures (a start costs seconds on a busy box):
// every capture's datagrams in order, each capture from its own source port
// (kFirstSourcePort + its index) so that tshark keeps their templates apart.
// After a capture in which tshark met data sets without a template, the
// capture is replayed once more (tshark has every template by then): that
// replay is the truth for the records ringflow held and decoded late. A v9
// capture whose header count is below the records present (kCountStops) is
// replayed with the count raised to what the datagram holds, so that tshark
// decodes the records past the count.

constexpr uint16_t kCollectorPort = 2055;
constexpr uint16_t kFirstSourcePort = 20000;

struct Totals {
  size_t captures = 0, datagrams = 0, truth_records = 0, compared = 0, late = 0,
         exception_extra = 0, count_stop_extra = 0, icmp_folded = 0, counter_fallbacks = 0,
         rejected = 0, time_unknown = 0, sampled = 0, sections = 0;
  std::map<std::string, size_t> exception_extra_by;
  std::map<std::string, size_t> sections_by;  // records keyed from a packet section
};

struct InitTime {
  bool has = false;
  int64_t ms = 0;
};

struct TRec {
  const testing::CflowRecord* r = nullptr;
  const testing::CflowFrame* frame = nullptr;  // its datagram's header
  uint32_t frame_in_capture = 0;               // 1-based, as the truth files number them
  std::string capture;                         // its capture's name
  bool replay = false;                         // in the capture's replay
  bool options = false;                        // a record of an options template
  uint32_t rate = 1;      // sampling rate tshark's values give it (options data of its
                          // domain seen so far, or its own element); 1 = unsampled
  bool has_init = false;  // IPFIX systemInitTime of its domain seen so far
  int64_t init_ms = 0;
};

struct CaptureTshark {
  std::vector<TRec> in_order;  // the capture's own frames, every record in order
  std::vector<const testing::CflowFrame*> frames;  // the capture's own frames, [frame - 1]
  std::vector<InitTime> arrival;                   // IPFIX system init time after each frame
  // The replay: (frame, set ordinal) -> its records.
  std::map<std::pair<uint32_t, uint32_t>, std::vector<TRec>> replayed;
  bool has_replay = false;
};

struct TsharkRun {
  std::string error;
  std::vector<testing::CflowFrame> frames;
  std::map<std::string, CaptureTshark> captures;
};

uint64_t shown(const std::string& s) {
  return s.empty() ? 0 : std::strtoull(s.c_str(), nullptr, 0);
}

// "3015702.147000000" (seconds) -> 3015702147 (ms).
int64_t seconds_ms(const std::string& s) {
  size_t dot = s.find('.');
  int64_t ms = std::strtoll(s.substr(0, dot).c_str(), nullptr, 10) * 1000;
  if (dot != std::string::npos) {
    int64_t frac = 0;
    for (size_t i = dot + 1; i < dot + 4; ++i) frac = frac * 10 + (i < s.size() ? s[i] - '0' : 0);
    ms += frac;
  }
  return ms;
}

// The sampling rate a record's own values give (0: none): an interval
// (IE 34/50), packet interval and space (305/306), or size of population (309/310).
uint32_t own_rate(const testing::CflowRecord& r) {
  if (uint64_t v = shown(r.get("sampling_interval"))) return static_cast<uint32_t>(v);
  if (uint64_t v = shown(r.get("sampler_random_interval"))) return static_cast<uint32_t>(v);
  if (uint64_t i = shown(r.get("sampling_packet_interval")))
    return static_cast<uint32_t>(std::llround(
        static_cast<double>(i + shown(r.get("sampling_packet_space"))) / static_cast<double>(i)));
  uint64_t size = shown(r.get("sampling_size")), pop = shown(r.get("sampling_population"));
  if (size && pop)
    return static_cast<uint32_t>(
        std::llround(static_cast<double>(pop) / static_cast<double>(size)));
  return 0;
}

// Walks one capture's records (its frames, then its replay) in tshark's
// order, keeping per domain the sampler rates and system init time its
// options records announced, and fills in each record's rate and init time.
//
// A message is one unit, as ringflow admits it: the options records of a
// message apply to every data record in it, before or after them (ringflow
// processes the whole message before its records are decoded).
//
// Held records (ringflow decodes them when their template arrives) take the
// system init time known when they arrived, else the one known when their
// template record is installed (sessions.cc release_held): that is before the
// options data that follows the template in the same message, unlike the
// records of that message (pynf-ipfix-softflowd: its held records get no
// time, its others do). In these captures no init time arrives between a
// held set and its template's message, so `arrival[frame - 1]`, each frame's
// init time, is the one for them.
void annotate(std::vector<TRec*>& recs, std::vector<InitTime>* arrival) {
  struct Domain {
    std::map<uint64_t, uint32_t>
        rates;  // sampler / selector id -> rate; kNoId: announced without id
    InitTime init;
  };
  constexpr uint64_t kNoId = UINT64_MAX;
  std::map<std::string, Domain> domains;
  std::vector<bool> seen(arrival ? arrival->size() : 0);
  auto domain_of = [&](const TRec* t) -> Domain& {
    const auto& h = t->frame->header;
    return domains[h.count("od_id")       ? h.at("od_id")
                   : h.count("source_id") ? h.at("source_id")
                                          : ""];
  };
  auto id_of = [&](const testing::CflowRecord& r) {
    if (r.has("sampler_id")) return shown(r.get("sampler_id"));
    if (r.has("selector_id")) return shown(r.get("selector_id"));
    return kNoId;
  };
  for (size_t b = 0, e = 0; b < recs.size(); b = e) {
    // [b, e): the records of one frame.
    for (e = b; e < recs.size() && recs[e]->frame == recs[b]->frame; ++e) {
      TRec* t = recs[e];
      if (!t->options) continue;
      Domain& d = domain_of(t);
      if (uint32_t own = own_rate(*t->r)) d.rates[id_of(*t->r)] = own;
      int64_t ms = 0;
      if (t->r->has("sys_init_time") && testing::tshark_date_ms(t->r->get("sys_init_time"), &ms))
        d.init = {true, ms};
    }
    for (size_t k = b; k < e; ++k) {
      TRec* t = recs[k];
      const auto& h = t->frame->header;
      if (shown(h.count("version") ? h.at("version") : "") == 5) {
        const uint64_t v5 = shown(h.count("samplerate") ? h.at("samplerate") : "");
        t->rate = v5 ? static_cast<uint32_t>(v5) : 1;
        continue;
      }
      Domain& d = domain_of(t);
      const uint64_t id = id_of(*t->r);
      t->has_init = d.init.has;
      t->init_ms = d.init.ms;
      uint32_t rate = own_rate(*t->r);
      if (!rate && id != kNoId) rate = d.rates.count(id) ? d.rates[id] : 0;
      if (!rate && id == kNoId) {
        if (d.rates.count(kNoId))
          rate = d.rates[kNoId];
        else if (d.rates.size() == 1)
          rate = d.rates.begin()->second;
      }
      t->rate = rate ? rate : 1;
    }
    if (arrival && !recs[b]->replay && recs[b]->frame_in_capture <= arrival->size()) {
      (*arrival)[recs[b]->frame_in_capture - 1] = domain_of(recs[b]).init;
      seen[recs[b]->frame_in_capture - 1] = true;
    }
  }
  // A frame tshark decoded no record of (held data) knows what the one
  // before it knew.
  if (arrival)
    for (size_t f = 1; f < arrival->size(); ++f)
      if (!seen[f]) (*arrival)[f] = (*arrival)[f - 1];
}

const TsharkRun& tshark_run(const std::vector<std::string>& names) {
  static TsharkRun run;
  static bool done = false;
  if (done) return run;
  done = true;
  std::vector<testing::PcapFrame> frames;
  struct Origin {
    size_t capture;
    uint32_t frame;  // in the capture, 1-based
    bool replay;
  };
  std::vector<Origin> origin;
  std::vector<std::set<uint32_t>> options_templates(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    testing::CaptureFile pcap = testing::read_capture(kDir + "/pcap/" + names[i] + ".pcap");
    if (!pcap.ok()) {
      run.error = names[i] + ": " + pcap.error;
      return run;
    }
    const Summary sum = read_summary(kDir + "/truth/" + names[i] + ".summary.tsv");
    const bool count_stops = kCountStops.count(names[i]) != 0;
    const bool replay = sum.sets_without_template > 0 || count_stops;
    run.captures[names[i]].has_replay = replay;
    for (int pass = 0; pass < (replay ? 2 : 1); ++pass) {
      uint32_t n = 0;
      for (const testing::UdpDatagram& dg : pcap.datagrams) {
        testing::PcapFrame f;
        f.ts_ns = dg.ts_ns;
        f.src_port = static_cast<uint16_t>(kFirstSourcePort + i);
        f.dst_port = kCollectorPort;
        f.payload = dg.payload;
        if (pass == 1 && count_stops && f.payload.size() >= 4) {
          // The count the datagram's sets hold: records of fixed-size
          // templates are not known here, so let tshark read to the end.
          f.payload[2] = 0xFF, f.payload[3] = 0xFF;
        }
        frames.push_back(std::move(f));
        origin.push_back({i, ++n, pass == 1});
      }
    }
  }
  char tmpl[] = "/tmp/ringflow-tshark-XXXXXX";
  if (!mkdtemp(tmpl)) {
    run.error = "mkdtemp failed";
    return run;
  }
  const std::string dir = tmpl, path = dir + "/all.pcap";
  std::string err;
  bool ok = testing::write_udp_pcap(path, frames, &err) &&
            testing::run_tshark_cflow(path, kCollectorPort, &run.frames, &err);
  std::remove(path.c_str());
  rmdir(dir.c_str());
  if (!ok) {
    run.error = err;
    return run;
  }
  if (run.frames.size() != frames.size()) {
    run.error = "tshark printed " + std::to_string(run.frames.size()) + " frames of " +
                std::to_string(frames.size());
    return run;
  }
  // Options template ids per capture, from tshark's template sets.
  for (size_t k = 0; k < run.frames.size(); ++k)
    for (uint32_t id : run.frames[k].options_templates)
      options_templates[origin[k].capture].insert(id);
  for (size_t k = 0; k < run.frames.size(); ++k) {
    const Origin& o = origin[k];
    CaptureTshark& c = run.captures[names[o.capture]];
    if (!o.replay) c.frames.push_back(&run.frames[k]);
    for (const testing::CflowRecord& r : run.frames[k].records) {
      TRec t;
      t.r = &r;
      t.frame = &run.frames[k];
      t.frame_in_capture = o.frame;
      t.capture = names[o.capture];
      t.replay = o.replay;
      t.options = options_templates[o.capture].count(r.set_id) != 0;
      if (o.replay) {
        c.replayed[{o.frame, r.set_ordinal}].push_back(t);
      } else {
        c.in_order.push_back(t);
      }
    }
  }
  for (size_t i = 0; i < names.size(); ++i) {
    CaptureTshark& c = run.captures[names[i]];
    std::vector<TRec*> all;
    for (TRec& t : c.in_order) all.push_back(&t);
    for (auto& [key, v] : c.replayed)
      for (TRec& t : v) all.push_back(&t);
    c.arrival.assign(c.frames.size(), InitTime{});
    annotate(all, &c.arrival);
  }
  return run;
}

// ---- ringflow's decoding -------------------------------------------------

struct Decoded {
  uint32_t frame = 0;    // the datagram that carried it (late: the one it was held from)
  uint32_t ordinal = 0;  // late: its set's place in that datagram (1-based)
  uint32_t domain = 0;
  uint32_t set_id = 0;
  uint32_t rec = 0;
  uint32_t rate = 1;  // the rate the worker resolves, renormalizing
  bool late = false;
  FlowRecord r;
};

std::string addr_text(const FlowRecord& r, const IpAddr& a) {
  if (r.ip_version == 0) return "";
  return a.str();
}

// The bytes / packets tshark's columns would show for our choice of element.
std::string expected_counter(const TruthRecord& t, const std::string& direct, const char* total,
                             const char* init, const char* resp) {
  if (!direct.empty()) return direct;
  auto it = t.extra.find(total);
  if (it != t.extra.end()) return it->second;
  auto a = t.extra.find(init), b = t.extra.find(resp);
  if (a != t.extra.end() || b != t.extra.end()) {
    uint64_t sum =
        (a != t.extra.end() ? num(a->second) : 0) + (b != t.extra.end() ? num(b->second) : 0);
    return std::to_string(sum);
  }
  return "0";
}

// (datagram, set ordinal) of a held set body: the first datagram before
// `before` (0-based, exclusive upper bound) whose set of that ordinal holds
// exactly these bytes and was not matched yet.
bool locate_set(const std::vector<testing::UdpDatagram>& dgs, size_t before, const uint8_t* body,
                size_t len, std::set<std::pair<uint32_t, uint32_t>>* used, uint32_t* frame,
                uint32_t* ordinal) {
  for (size_t i = 0; i < before && i < dgs.size(); ++i) {
    const std::vector<uint8_t>& p = dgs[i].payload;
    if (p.size() < 16) continue;
    size_t off = (p[0] << 8 | p[1]) == 9 ? 20 : 16;
    uint32_t ord = 0;
    while (off + 4 <= p.size()) {
      const size_t slen = static_cast<size_t>(p[off + 2] << 8 | p[off + 3]);
      ++ord;
      if (slen < 4 || off + slen > p.size()) break;
      const bool same = (slen - 4 >= len && std::memcmp(p.data() + off + 4, body, len) == 0 &&
                         slen - 4 - len < 4);  // the body, its padding aside
      if (same && used->insert({static_cast<uint32_t>(i + 1), ord}).second) {
        *frame = static_cast<uint32_t>(i + 1);
        *ordinal = ord;
        return true;
      }
      off += slen;
    }
  }
  return false;
}

// A record that carries a packet section (IPFIX dataLinkFrameSection 315,
// ipHeaderPacketSection 313, mplsLabelStackSection 316): ringflow takes what
// the template does not send from the section (src/decode/decode_plan.h), so
// the truth for those fields is tshark's dissection of the same bytes inside
// the record (pkt:* in tests/support/tshark_cflow.h), at its first IP header:
// addresses, protocol, ToS, ports and TCP flags of a TCP/UDP packet, ICMP
// type << 8 | code in the destination port, the first VLAN id; one packet,
// and bytes from dataLinkFrameSize (312). The shared truth files show none of
// these (their columns are the cflow elements only).
struct SectionTruth {
  bool has = false;
  std::string src, dst, sport = "0", dport = "0", proto = "0";
  uint64_t tos = 0, tcp_flags = 0, vlan = 0;
};

// Where tshark's dissection of a section is not truth, and the values read
// off its bytes instead. akv-eompls-cw frame 2 record 4: Ethernet, MPLS
// 300012/17, a pseudowire control word 00000000, then the carried frame
// 02:00:00:00:00:05 <- :06, type 0800, IPv4 4520 05d4 ... 3e06 2547
// c6336401 c6336402, TCP 01bb d883 ... 5010. tshark's pseudowire heuristic
// takes the control word for the start of a destination MAC here (it shows
// 00:00:00:00:02:00, type 0x0000, then 90 bytes of data, the IPv4 header
// among them), though it finds the control word in records 3 and 5-10 of
// the same exporter.
struct SectionOverride {
  std::string capture;
  uint32_t frame, rec;
  SectionTruth truth;
};
const SectionOverride kSectionOverrides[] = {
    {"akv-eompls-cw",
     2,
     4,
     {true, "198.51.100.1", "198.51.100.2", "443", "55427", "6", 0x20, 0x10, 0}},
};

SectionTruth section_truth(const testing::CflowRecord& r, const std::string& capture = "",
                           uint32_t frame = 0) {
  SectionTruth s;
  s.has = r.has("data_link_frame_section") || r.has("section_header") ||
          r.has("mpls_label_stack_section");
  if (!s.has) return s;
  for (const SectionOverride& o : kSectionOverrides)
    if (o.capture == capture && o.frame == frame && o.rec == r.rec) return o.truth;
  s.vlan = shown(r.get("pkt:vlan.id"));
  const std::string l3 = r.get("pkt:first_l3");
  if (l3.empty()) return s;
  const bool v6 = l3 == "6";
  s.src = r.get(v6 ? "pkt:ipv6.src" : "pkt:ip.src");
  s.dst = r.get(v6 ? "pkt:ipv6.dst" : "pkt:ip.dst");
  s.proto = std::to_string(shown(r.get(v6 ? "pkt:ipv6.nxt" : "pkt:ip.proto")));
  s.tos = shown(r.get(v6 ? "pkt:ipv6.tclass" : "pkt:ip.dsfield"));
  if (s.proto == "6" || s.proto == "17") {
    const std::string t = s.proto == "6" ? "pkt:tcp." : "pkt:udp.";
    s.sport = std::to_string(shown(r.get(t + "srcport")));
    s.dport = std::to_string(shown(r.get(t + "dstport")));
    if (s.proto == "6") s.tcp_flags = shown(r.get("pkt:tcp.flags")) & 0xFF;
  } else if (s.proto == "1" || s.proto == "58") {
    const std::string t = s.proto == "1" ? "pkt:icmp." : "pkt:icmpv6.";
    s.dport = std::to_string(shown(r.get(t + "type")) << 8 | shown(r.get(t + "code")));
  }
  return s;
}

// Every field tshark shows beside the flow key and counters, against
// ringflow's: ToS, TCP flags, AS numbers, masks, interfaces, next hop, VLAN,
// direction, times (from tshark's date, or from its uptime and the header's
// export time and uptime), sampling rate.
void check_fields(const Decoded& d, const TRec& t, Totals* tot) {
  const testing::CflowRecord& r = *t.r;
  const auto& h = t.frame->header;
  auto head = [&](const char* k) { return h.count(k) ? h.at(k) : std::string(); };
  const FlowRecord& f = d.r;
  const SectionTruth sec = section_truth(r, t.capture, t.frame_in_capture);
  CHECK(f.tos == (sec.has && !r.has("tos") ? sec.tos : shown(r.get("tos"))));
  CHECK(f.tcp_flags ==
        (sec.has && !r.has("tcpflags") ? sec.tcp_flags : (shown(r.get("tcpflags")) & 0xFF)));
  CHECK(f.src_as == shown(r.get("srcas")));
  CHECK(f.dst_as == shown(r.get("dstas")));
  CHECK(f.src_mask == shown(r.has("srcmask") ? r.get("srcmask") : r.get("srcmaskv6")));
  CHECK(f.dst_mask == shown(r.has("dstmask") ? r.get("dstmask") : r.get("dstmaskv6")));
  // ingressInterface / egressInterface (10/14), else the physical ones (252/253).
  CHECK(f.input ==
        shown(r.has("inputint") ? r.get("inputint") : r.get("ingress_physical_interface")));
  CHECK(f.output ==
        shown(r.has("outputint") ? r.get("outputint") : r.get("egress_physical_interface")));
  std::string nh;
  for (const char* k : {"nexthop", "nexthopv6", "bgpnexthop", "bgpnexthopv6"})
    if (nh.empty() && r.has(k)) nh = r.get(k);
  if (nh.rfind("::ffff:", 0) == 0 && nh.find('.') != std::string::npos) nh = nh.substr(7);
  if (nh.empty()) {
    CHECK(f.nexthop == IpAddr{});
  } else {
    CHECK(f.nexthop.str() == nh);
  }
  if (sec.has && !r.has("vlanid") && !r.has("dot1q_vlan_id")) {
    CHECK(f.vlan == sec.vlan);
  } else {
    CHECK(f.vlan == shown(r.has("vlanid") ? r.get("vlanid") : r.get("dot1q_vlan_id")));
  }
  CHECK(f.direction == (r.has("direction") ? shown(r.get("direction")) : kDirectionUnknown));
  // Times.
  const int version = static_cast<int>(shown(head("version")));
  const int64_t export_ms =
      version == 10
          ? static_cast<int64_t>(shown(head("exporttime"))) * 1000
          : static_cast<int64_t>(shown(head("unix_secs"))) * 1000 +
                (version == 5 ? static_cast<int64_t>(shown(head("unix_nsecs")) / 1000000) : 0);
  const int64_t uptime_ms = seconds_ms(head("sysuptime"));
  // tshark names a time field by how it shows it (a date: abstime*, else
  // seconds: time*), but its duration line says what the elements are: "(switched)"
  // (and v5's plain line) means uptimes, whatever the show (a 0 uptime shows
  // as the date 1970-01-01).
  const std::string delta =
      r.fields.count("timedelta") ? r.fields.find("timedelta")->second.showname : "";
  const bool uptime = delta.find("(switched)") != std::string::npos ||
                      (!delta.empty() && delta.find('(') == std::string::npos);
  auto pick = [&](const char* abs, const char* rel, int64_t* out) {
    int64_t ms = 0;
    if (r.has(abs)) {
      if (!testing::tshark_date_ms(r.get(abs), &ms)) return false;
      if (!uptime) {
        *out = ms;
        return true;
      }
    } else if (r.has(rel)) {
      ms = seconds_ms(r.get(rel));
    } else {
      return false;
    }
    if (version == 10) {
      if (!t.has_init) return false;
      *out = t.init_ms + ms;
      return true;
    }
    *out = export_ms +
           static_cast<int32_t>(static_cast<uint32_t>(ms) - static_cast<uint32_t>(uptime_ms));
    return true;
  };
  int64_t s = 0, e = 0;
  const bool hs = pick("abstimestart", "timestart", &s), he = pick("abstimeend", "timeend", &e);
  if (!hs && !he) {
    s = e = export_ms;
    ++tot->time_unknown;
  } else if (!hs || !he) {
    s = e = hs ? s : e;
  }
  CHECK(f.start_ms == s);
  CHECK(f.end_ms == e);
  CHECK(((f.flags & kFlowTimeUnknown) != 0) == (!hs && !he));
  // Sampling, renormalized as the worker does: the rate, and packets and
  // bytes times it equal tshark's count times tshark's rate.
  CHECK(d.rate == t.rate);
  if (t.rate > 1) {
    ++tot->sampled;
    if (!r.get("packets").empty()) CHECK(f.packets * d.rate == shown(r.get("packets")) * t.rate);
    if (!r.get("octets").empty()) CHECK(f.bytes * d.rate == shown(r.get("octets")) * t.rate);
  }
}

// The flow key and counters of a record tshark decoded only in the replay
// (late, or past the v9 count), from tshark's own fields.
void check_key(const Decoded& d, const TRec& t) {
  const testing::CflowRecord& r = *t.r;
  CHECK(d.set_id == r.set_id);
  CHECK(d.rec == r.rec);
  std::string src = r.has("srcaddr") ? r.get("srcaddr") : r.get("srcaddrv6");
  std::string dst = r.has("dstaddr") ? r.get("dstaddr") : r.get("dstaddrv6");
  CHECK(addr_text(d.r, d.r.src) == src);
  CHECK(addr_text(d.r, d.r.dst) == dst);
  CHECK(d.r.src_port == shown(r.get("srcport")));
  CHECK(d.r.protocol == shown(r.get("protocol")));
  CHECK(d.r.packets == shown(r.get("packets")));
  CHECK(d.r.bytes == shown(r.get("octets")));
}

// What ringflow puts in dst_port for ICMP when the port sent is 0: type << 8
// | code, from tshark's ICMP elements (IE 32/139, or 176/177 and 178/179).
std::string expected_icmp_port(const testing::CflowRecord& r) {
  if (r.has("icmp_type_code_ipv4")) return std::to_string(shown(r.get("icmp_type_code_ipv4")));
  if (r.has("icmp_type_code_ipv6")) return std::to_string(shown(r.get("icmp_type_code_ipv6")));
  if (r.has("icmp_ipv4_type") || r.has("icmp_ipv6_type"))
    return std::to_string(
        shown(r.has("icmp_ipv4_type") ? r.get("icmp_ipv4_type") : r.get("icmp_ipv6_type")) << 8 |
        shown(r.has("icmp_ipv4_code") ? r.get("icmp_ipv4_code") : r.get("icmp_ipv6_code")));
  return "0";
}

void run_capture(const std::string& name, const CaptureTshark& ts, Totals* tot) {
  INFO("capture " << name);
  testing::CaptureFile pcap = testing::read_capture(kDir + "/pcap/" + name + ".pcap");
  REQUIRE(pcap.ok());
  std::vector<uint32_t> truth_options_frames;
  const std::vector<TruthRecord> truth =
      read_records(kDir + "/truth/" + name + ".records.tsv", &truth_options_frames);
  const Summary sum = read_summary(kDir + "/truth/" + name + ".summary.tsv");

  // tshark's run here and the shared truth files are the same decoding:
  // pair them up record by record (data and options alike, in order).
  std::vector<const TRec*> data_fields;
  {
    size_t o = 0;
    REQUIRE(ts.in_order.size() == truth.size() + truth_options_frames.size());
    size_t ti = 0;
    for (const TRec& t : ts.in_order) {
      if (t.options) {
        REQUIRE(o < truth_options_frames.size());
        CHECK(t.frame_in_capture == truth_options_frames[o]);
        ++o;
        continue;
      }
      REQUIRE(ti < truth.size());
      CHECK(t.frame_in_capture == truth[ti].frame);
      CHECK(t.r->set_id == truth[ti].set_id);
      CHECK(t.r->rec == truth[ti].rec);
      data_fields.push_back(&t);
      ++ti;
    }
    REQUIRE(data_fields.size() == truth.size());
  }

  DecodeConfig cfg;
  cfg.held_timeout_s = 86400;  // captures span their origin's timestamps: keep held data
  cfg.renormalize = true;
  const SamplingPolicy policy(cfg);
  // H3C NetStream (ls-netflow-9-h3c-netstream-with-varstring) sends v9
  // variable-length strings, which tshark reads too: opt in, as its operator would.
  cfg.v9_variable_length = true;
  SessionCounters counters;
  Sessions sessions(cfg, 4, 9216, counters);
  DecodeOptions v5opts;
  std::vector<Decoded> ours;
  std::set<std::pair<uint32_t, uint32_t>> used_sets;
  FlowRecord buf[64];
  auto decode = [&](const uint8_t* p, size_t len, uint16_t id, uint32_t frame, bool late,
                    const IpAddr& exporter) {
    const DatagramMeta& m = sessions.meta(id);
    uint32_t from = frame, ordinal = 0;
    if (late) {
      INFO("held set of " << len << " bytes released at frame " << frame);
      REQUIRE(locate_set(pcap.datagrams, frame, p, len, &used_sets, &from, &ordinal));
    }
    RecordReader reader(m, p, len, 0, v5opts);
    RecordChunk chunk;
    // tshark numbers records from 1 in each set (v5: in each datagram).
    size_t unit = SIZE_MAX;
    uint32_t rec = 0;
    size_t n;
    while ((n = reader.next(buf, 64, &chunk)) > 0) {
      // RFC 5103 reverse directions (akv-ipfixprobe): tshark prints one row
      // per biflow record; decode_sessions_test checks the reverse records.
      if (chunk.reverse) continue;
      if (chunk.version != 5 && chunk.unit != unit) rec = 0;
      unit = chunk.unit;
      for (size_t i = 0; i < n; ++i) {
        Decoded d;
        d.frame = from;
        d.ordinal = ordinal;
        d.domain = m.domain;
        d.set_id = chunk.template_id;
        d.rec = ++rec;
        d.late = late;
        d.r = buf[i];
        // The worker's resolution (src/pipeline/worker.cc), renormalizing.
        const FlowRecord& f = buf[i];
        uint32_t rate = 0;
        if (chunk.v5) {
          rate = policy.multiplier(exporter, *chunk.v5);
        } else {
          if (f.flags & kFlowHasRate) rate = f.sampling;
          if (!rate && (f.flags & kFlowHasSamplerId) && m.sampling)
            rate = m.sampling->rate_of(f.sampler_id);
          if (!rate && m.sampling) rate = m.sampling->rate_without_id();
          if (!rate) rate = policy.default_interval();
        }
        d.rate = rate;
        ours.push_back(d);
      }
    }
  };
  uint32_t frame = 0;
  uint64_t rejected = 0;
  for (const testing::UdpDatagram& dg : pcap.datagrams) {
    ++frame;
    const int64_t now_ms = dg.ts_ns / 1000000;
    const IpAddr exporter = dg.src;
    const Admit a = sessions.admit(dg.payload.data(), dg.payload.size(), exporter, 0, now_ms);
    if (a == Admit::kHandOff) {
      decode(dg.payload.data(), dg.payload.size(), 0, frame, false, exporter);
      sessions.release(0);
    }
    if (a == Admit::kRejected) ++rejected;
    ReadyDatagram ready[16];
    size_t nr;
    while ((nr = sessions.take_ready(ready, 16)) > 0) {
      for (size_t i = 0; i < nr; ++i) {
        decode(ready[i].data, ready[i].len, ready[i].buf, frame, true, ready[i].exporter);
        sessions.release(ready[i].buf);
      }
    }
    sessions.tick(now_ms);
  }
  ++tot->captures;
  tot->datagrams += pcap.datagrams.size();

  if (kMustReject.count(name)) {
    CHECK(rejected == pcap.datagrams.size());
    CHECK(ours.empty());
    tot->rejected += rejected;
    return;
  }
  CHECK(rejected == 0);
  tot->truth_records += truth.size();

  // Late records: each equals tshark's decoding of the same set in the replay.
  std::vector<const Decoded*> in_order;
  std::map<std::pair<uint32_t, uint32_t>, size_t> late_index;
  for (const Decoded& d : ours) {
    if (!d.late) {
      in_order.push_back(&d);
      continue;
    }
    INFO("late record " << d.rec << " of set " << d.ordinal << " (id " << d.set_id << ") of frame "
                        << d.frame);
    REQUIRE(ts.has_replay);
    auto it = ts.replayed.find({d.frame, d.ordinal});
    REQUIRE(it != ts.replayed.end());
    size_t& k = late_index[{d.frame, d.ordinal}];
    REQUIRE(k < it->second.size());
    TRec t = it->second[k++];
    // Held records: the system init time known at their arrival (see annotate).
    t.has_init = ts.arrival[d.frame - 1].has;
    t.init_ms = ts.arrival[d.frame - 1].ms;
    check_key(d, t);
    check_fields(d, t, tot);
    ++tot->late;
  }
  // ... and every record tshark decoded in such a set was decoded late.
  for (const auto& [key, k] : late_index) CHECK(k == ts.replayed.at(key).size());
  if (sum.sets_without_template == 0) CHECK(late_index.empty());

  size_t j = 0;
  auto extra = [&](const Decoded& d) {
    INFO("ringflow's record " << d.rec << " of set " << d.set_id << " in frame " << d.frame
                              << ", which tshark did not print");
    if (sum.exception_frames.count(d.frame)) {
      // tshark's dissector threw in this frame (the captures' README): what
      // follows is in no tshark output; counted, and the count checked below.
      ++tot->exception_extra;
      ++tot->exception_extra_by[name];
    } else if (kCountStops.count(name)) {
      // Past the v9 header count: tshark's replay with the count raised.
      CHECK(ts.has_replay);
      size_t ord = 0;
      for (const auto& [key, v] : ts.replayed)
        if (key.first == d.frame)
          for (const TRec& t : v)
            if (t.r->set_id == d.set_id && t.r->rec == d.rec && !t.options) {
              check_key(d, t);
              check_fields(d, t, tot);
              ++ord;
            }
      CHECK(ord == 1);
      ++tot->count_stop_extra;
    } else {
      FAIL("ringflow decoded a record tshark did not");
    }
  };
  for (size_t ti = 0; ti < truth.size(); ++ti) {
    const TruthRecord& t = truth[ti];
    INFO("truth frame " << t.frame << " set " << t.set_id << " record " << t.rec);
    // Records tshark never printed (after its exception, or past the count).
    while (j < in_order.size() &&
           (in_order[j]->frame < t.frame ||
            (in_order[j]->frame == t.frame && in_order[j]->set_id != t.set_id &&
             (sum.exception_frames.count(t.frame) || kCountStops.count(name))))) {
      extra(*in_order[j]);
      ++j;
    }
    REQUIRE(j < in_order.size());
    const Decoded& d = *in_order[j++];
    CHECK(d.frame == t.frame);
    CHECK(d.set_id == t.set_id);
    CHECK(d.rec == t.rec);
    CHECK(d.domain == t.domain);
    const SectionTruth sec = section_truth(*data_fields[ti]->r, name, t.frame);
    if (sec.has) {
      // The key from the packet section, against tshark's dissection of it.
      ++tot->sections;
      ++tot->sections_by[name];
      const testing::CflowRecord& tr = *data_fields[ti]->r;
      CHECK(addr_text(d.r, d.r.src) == sec.src);
      CHECK(addr_text(d.r, d.r.dst) == sec.dst);
      CHECK(std::to_string(d.r.src_port) == sec.sport);
      CHECK(std::to_string(d.r.dst_port) == sec.dport);
      CHECK(std::to_string(d.r.protocol) == sec.proto);
      CHECK(d.r.packets == (tr.has("packets") ? shown(tr.get("packets")) : 1));
      CHECK(d.r.bytes == shown(tr.get("data_link_frame_size")));
      check_fields(d, *data_fields[ti], tot);
      ++tot->compared;
      continue;
    }
    CHECK(addr_text(d.r, d.r.src) == t.src);
    CHECK(addr_text(d.r, d.r.dst) == t.dst);
    CHECK(std::to_string(d.r.src_port) == (t.sport.empty() ? "0" : t.sport));
    const std::string proto = t.proto.empty() ? "0" : t.proto;
    CHECK(std::to_string(d.r.protocol) == proto);
    if ((proto == "1" || proto == "58") && (t.dport.empty() || t.dport == "0") &&
        d.r.dst_port != 0) {
      // ICMP folded into the port: type << 8 | code from tshark's ICMP fields.
      CHECK(std::to_string(d.r.dst_port) == expected_icmp_port(*data_fields[ti]->r));
      ++tot->icmp_folded;
    } else {
      CHECK(std::to_string(d.r.dst_port) == (t.dport.empty() ? "0" : t.dport));
    }
    if (t.packets.empty() || t.octets.empty()) ++tot->counter_fallbacks;
    CHECK(std::to_string(d.r.packets) == expected_counter(t, t.packets, "permanent_packets",
                                                          "initiator_packets",
                                                          "responder_packets"));
    CHECK(std::to_string(d.r.bytes) == expected_counter(t, t.octets, "permanent_octets",
                                                        "initiator_octets", "responder_octets"));
    check_fields(d, *data_fields[ti], tot);
    ++tot->compared;
  }
  // Whatever follows tshark's last record must be explained too.
  for (; j < in_order.size(); ++j) extra(*in_order[j]);

  // Summary: templates and options records as tshark counted them; sets
  // tshark could not decode are exactly the ones ringflow held or dropped.
  const uint64_t template_records = counters.templates_added.load() +
                                    counters.templates_refreshed.load() +
                                    counters.templates_redefined.load();
  if (!kCountStops.count(name)) {
    CHECK(template_records == sum.templates + sum.options_templates);
    CHECK(counters.options_records.load() >= sum.options_records);
    if (late_index.empty()) CHECK(counters.options_records.load() == sum.options_records);
  }
  uint64_t no_template = counters.held_sets.load() +
                         counters.set_drops[static_cast<size_t>(SetDrop::kNoTemplate)].load();
  for (const auto& c : counters.hold_drops) no_template += c.load();
  CHECK(no_template == sum.sets_without_template);
}

std::vector<std::string> captures() {
  std::vector<std::string> names;
  for (const auto& row : read_tsv(kDir + "/index.tsv").rows) names.push_back(row[0]);
  return names;
}

}  // namespace

TEST_CASE("v9/IPFIX: every record of 92 real captures equals tshark's decoding",
          "[decode][capture][shared-data]") {
  RF_SHARED_CAPTURE(index, "v9ipfix/index.tsv");
  // Every decoding path: AVX-512 VBMI and SSSE3 where the CPU has them (the
  // process says by name which it lacks), and scalar.
  RF_DECODE_PATH(GENERATE(DecodePath::kVbmi, DecodePath::kShuffle, DecodePath::kScalar));
  std::vector<std::string> names = captures();
  REQUIRE(names.size() == 92);
  const TsharkRun& ts = tshark_run(names);
  INFO("tshark: " << ts.error);
  REQUIRE(ts.error.empty());
  Totals tot;
  for (const std::string& name : names) run_capture(name, ts.captures.at(name), &tot);
  WARN("captures " << tot.captures << ", datagrams " << tot.datagrams << ", records compared "
                   << tot.compared << " of " << tot.truth_records << ", late " << tot.late
                   << ", after tshark exceptions " << tot.exception_extra << ", past v9 count "
                   << tot.count_stop_extra << ", ICMP folded " << tot.icmp_folded
                   << ", counter fallbacks " << tot.counter_fallbacks << ", without time "
                   << tot.time_unknown << ", sampled " << tot.sampled << ", rejected "
                   << tot.rejected << ", from packet sections " << tot.sections);
  // Every data record of tshark's truth files, except those of the two v5
  // files ringflow rejects whole, was compared field by field.
  CHECK(tot.compared == tot.truth_records);
  CHECK(tot.rejected == 2);
  // The records whose key is a packet section were compared with tshark's
  // dissection of it (the README names the first three for their sections;
  // akv-juniper-cpid carries one beside its enterprise elements).
  std::ostringstream by;
  for (const auto& [k, v] : tot.sections_by) by << k << ": " << v << "; ";
  INFO("packet sections: " << by.str());
  CHECK(tot.sections_by == std::map<std::string, size_t>{{"akv-datalink", 1},
                                                         {"akv-eompls-cw", 10},
                                                         {"akv-ipfix-srv6", 1},
                                                         {"akv-juniper-cpid", 1}});
  // Records that no tshark output shows, listed by capture with the reason:
  // tshark's dissector threw in these frames (H3C sends element 43 in 2
  // bytes where tshark expects an IPv4 address; see the captures' README),
  // so neither the original nor a replay prints them. Their number is what
  // the v9 header count says the frame holds, less its template records and
  // the records tshark printed before it threw.
  std::map<std::string, size_t> want_extra;
  for (const std::string& name : names) {
    const Summary sum = read_summary(kDir + "/truth/" + name + ".summary.tsv");
    const CaptureTshark& c = ts.captures.at(name);
    for (uint32_t f : sum.exception_frames) {
      REQUIRE(f >= 1);
      REQUIRE(f <= c.frames.size());
      const testing::CflowFrame* fr = c.frames[f - 1];
      const size_t printed = fr->records.size();
      const size_t after = shown(fr->header.at("count")) - fr->template_records - printed;
      if (after) want_extra[name] += after;
    }
  }
  std::ostringstream extras;
  for (const auto& [k, v] : want_extra) extras << k << ": " << v << " after tshark's exception; ";
  for (const auto& [k, v] : tot.exception_extra_by)
    extras << k << ": ringflow decoded " << v << "; ";
  INFO(extras.str());
  CHECK(want_extra == tot.exception_extra_by);
  std::set<std::string> named;
  for (const auto& [k, v] : want_extra) named.insert(k);
  CHECK(named == kNoTsharkTruth);
}

}  // namespace ringflow
