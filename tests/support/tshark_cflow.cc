#include "support/tshark_cflow.h"

#include <sys/wait.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "gen/pcap_writer.h"

namespace ringflow::testing {
namespace {

// The value of attribute `attr` on a PDML line, XML entities decoded.
std::string attribute(const std::string& line, const char* attr) {
  const std::string key = std::string(" ") + attr + "=\"";
  size_t p = line.find(key);
  if (p == std::string::npos) return {};
  p += key.size();
  size_t e = line.find('"', p);
  if (e == std::string::npos) return {};
  std::string out;
  for (size_t i = p; i < e; ++i) {
    if (line[i] != '&') {
      out += line[i];
      continue;
    }
    size_t semi = line.find(';', i);
    if (semi == std::string::npos || semi > e) {
      out += line[i];
      continue;
    }
    const std::string ent = line.substr(i + 1, semi - i - 1);
    if (ent == "quot")
      out += '"';
    else if (ent == "lt")
      out += '<';
    else if (ent == "gt")
      out += '>';
    else if (ent == "amp")
      out += '&';
    else if (ent == "apos")
      out += '\'';
    else if (!ent.empty() && ent[0] == '#')
      out += static_cast<char>(
          std::strtol(ent.c_str() + 1 + (ent[1] == 'x'), nullptr, ent[1] == 'x' ? 16 : 10));
    i = semi;
  }
  return out;
}

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

// The header fields of a dissected packet section kept under "pkt:<name>".
bool is_section_field(const std::string& name) {
  static const char* const kNames[] = {
      "ip.src",      "ip.dst",      "ip.proto",    "ip.dsfield", "ip.len",      "ipv6.src",
      "ipv6.dst",    "ipv6.nxt",    "ipv6.tclass", "ipv6.plen",  "tcp.srcport", "tcp.dstport",
      "tcp.flags",   "udp.srcport", "udp.dstport", "icmp.type",  "icmp.code",   "icmpv6.type",
      "icmpv6.code", "vlan.id",     "eth.type",    "mpls.label"};
  for (const char* n : kNames)
    if (name == n) return true;
  return false;
}

}  // namespace

std::string CflowRecord::get(const std::string& name) const {
  auto it = fields.lower_bound(name);  // the first of equal keys: the first sent
  if (it != fields.end() && it->first != name) it = fields.end();
  return it == fields.end() ? std::string() : it->second.show;
}

bool write_udp_pcap(const std::string& path, const std::vector<PcapFrame>& frames,
                    std::string* err) {
  gen::PcapWriter w;
  if (!w.open(path, err)) return false;
  const IpAddr lo = IpAddr::from_v4(0x7f000001);
  for (const PcapFrame& fr : frames)
    w.write(lo, fr.src_port, lo, fr.dst_port, fr.payload.data(), fr.payload.size(), fr.ts_ns);
  return w.close(err);
}

bool run_tshark_cflow(const std::string& pcap, uint16_t port, std::vector<CflowFrame>* frames,
                      std::string* err) {
  const std::string cmd = "tshark -n -r '" + pcap + "' -d udp.port==" + std::to_string(port) +
                          ",cflow -T pdml 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    *err = "cannot run tshark";
    return false;
  }
  frames->clear();
  bool in_cflow = false;
  int protos = 0,
      cflow_level = -1;  // protocols nest: a frame section inside cflow holds eth, ip, ...
  int depth = 0, set_depth = -1, rec_depth = -1;
  uint32_t set_ordinal = 0, set_id = 0;
  CflowRecord rec;
  std::string line;
  char chunk[65536];
  while (std::fgets(chunk, sizeof chunk, p)) {
    line += chunk;
    if (line.empty() || line.back() != '\n') continue;
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    size_t b = line.find_first_not_of(' ');
    const std::string l = b == std::string::npos ? std::string() : line.substr(b);
    line.clear();
    if (starts_with(l, "<packet>")) {
      frames->emplace_back();
      in_cflow = false;
      protos = 0;
    } else if (starts_with(l, "<proto ")) {
      if (!in_cflow && attribute(l, "name") == "cflow") {
        in_cflow = true;
        cflow_level = protos;
        depth = 0, set_depth = rec_depth = -1, set_ordinal = set_id = 0;
      }
      if (!(l.size() >= 2 && l.compare(l.size() - 2, 2, "/>") == 0)) ++protos;
    } else if (starts_with(l, "</proto>")) {
      --protos;
      if (in_cflow && protos == cflow_level) in_cflow = false;
    } else if (in_cflow && starts_with(l, "</field>")) {
      --depth;
      if (rec_depth == depth) {
        frames->back().records.push_back(std::move(rec));
        rec = CflowRecord();
        rec_depth = -1;
      }
      if (set_depth == depth) set_depth = -1;
    } else if (in_cflow && starts_with(l, "<field ")) {
      const bool opens = !(l.size() >= 2 && l.compare(l.size() - 2, 2, "/>") == 0);
      const std::string name = attribute(l, "name"), show = attribute(l, "show");
      if (name.empty() && rec_depth < 0 && opens &&
          (starts_with(show, "Flow ") || starts_with(show, "pdu "))) {
        rec = CflowRecord();
        rec.frame = static_cast<uint32_t>(frames->size());
        rec.set_ordinal = set_ordinal;
        rec.set_id = set_id;
        rec.rec =
            static_cast<uint32_t>(std::strtoul(show.c_str() + show.find(' ') + 1, nullptr, 10));
        rec_depth = depth;
      } else if (name.empty() && set_depth < 0 && rec_depth < 0 && opens &&
                 (starts_with(show, "FlowSet ") || starts_with(show, "Set "))) {
        set_ordinal =
            static_cast<uint32_t>(std::strtoul(show.c_str() + show.find(' ') + 1, nullptr, 10));
        size_t id = show.find("[id=");
        set_id = id == std::string::npos
                     ? 0
                     : static_cast<uint32_t>(std::strtoul(show.c_str() + id + 4, nullptr, 10));
        set_depth = depth;
      } else if (name.empty() && starts_with(show, "Options Template (Id = ")) {
        frames->back().options_templates.push_back(
            static_cast<uint32_t>(std::strtoul(show.c_str() + 23, nullptr, 10)));
        ++frames->back().template_records;
      } else if (name.empty() && starts_with(show, "Template (Id = ")) {
        ++frames->back().template_records;
      } else if (rec_depth >= 0 && is_section_field(name)) {
        // A packet section (IE 315/313/104) dissected inside the record:
        // its header fields, first occurrence first (the outer header).
        rec.fields.emplace("pkt:" + name, CflowField{show, attribute(l, "showname")});
        if ((name == "ip.src" || name == "ipv6.src") && !rec.has("pkt:first_l3"))
          rec.fields.emplace("pkt:first_l3", CflowField{name == "ip.src" ? "4" : "6", ""});
      } else if (starts_with(name, "cflow.")) {
        const std::string showname = attribute(l, "showname");
        std::string key = name.substr(6);
        if (showname.find("(Reverse Type") != std::string::npos) key = "reverse:" + key;
        if (rec_depth >= 0) {
          rec.fields.emplace(key, CflowField{show, showname});
        } else if (set_depth < 0) {
          frames->back().header.emplace(key, show);
        }
      }
      if (opens) ++depth;
    }
  }
  const int rc = pclose(p);
  if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
    *err = "tshark failed (exit status " + std::to_string(WIFEXITED(rc) ? WEXITSTATUS(rc) : -1) +
           "): is it installed? (scripts/deps.sh --test)";
    return false;
  }
  return true;
}

bool tshark_date_ms(const std::string& show, int64_t* ms) {
  struct tm tm {};
  const char* rest = strptime(show.c_str(), "%b %d, %Y %H:%M:%S", &tm);
  if (!rest) return false;
  int64_t frac_ms = 0;
  if (*rest == '.') {
    int digits = 0;
    for (const char* q = rest + 1; *q >= '0' && *q <= '9' && digits < 3; ++q, ++digits)
      frac_ms = frac_ms * 10 + (*q - '0');
    while (digits++ < 3) frac_ms *= 10;
  }
  *ms = static_cast<int64_t>(timegm(&tm)) * 1000 + frac_ms;
  return true;
}

}  // namespace ringflow::testing
