// The bodies of GET /api/v1/exporters (one row per exporter stream) and
// GET /api/v1/exporters/<id> (one stream explained: versions, templates with
// their fields' IE names, sampling and its source, sequence, held data,
// clock, rejects, quirks). docs/api.md has the shapes and examples.
//
// Input: the snapshots each reactor published (src/decode/exporter_snapshot.h);
// a stream lives on one reactor, so the lists are concatenated. A stream id
// is "<exporter address>-<format label>-<domain>" (e.g. "192.0.2.1-9-0", "192.0.2.7-sflow-0";
// the label is the registry's: 5, 9, 10, sflow).
//
// Thread safety: the functions are pure functions of their arguments (any
// thread); ExportersListCache says its own.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "decode/exporter_snapshot.h"
#include "decode/wire_formats.h"

namespace ringflow {

using ExporterSnapshots = std::vector<std::shared_ptr<const ExporterSnapshot>>;

std::string exporter_id(const StreamStats& s);
// "netflow_v5", "netflow_v9", "ipfix"
std::string_view format_name(FormatId format);

// Where the rate of a stream's records comes from (docs/api.md):
// override, v5_header, in_record, options_by_sampler_id, options,
// default, unknown, or mixed (its data templates differ).
struct SamplingSource {
  std::string source;
  uint32_t rate = 0;  // 0 when unknown or mixed
};
SamplingSource sampling_source(const ExporterSnapshot& snap, const ExporterStream& s);

std::string exporters_json(const ExporterSnapshots& snaps, int64_t now_ms);

// exporters_json() for the listener: the list but for now_ms is a function of
// the snapshots, which the reactors publish once a second, so it is rendered
// once per set of published snapshots and copied for every other request
// (at 1,000 streams: 2.4 ms of CPU rendered, a 380 KB copy reused;
// docs/performance.md, "The web view's scrapes"). A snapshot is known by its
// buffer, publication time and stream count (the publisher reuses three
// buffers and never frees them while it runs); the cache holds no snapshot.
// Thread safety: render() from any thread (a mutex among the HTTP threads
// only; no hot-path thread takes it).
class ExportersListCache {
 public:
  std::string render(const ExporterSnapshots& snaps, int64_t now_ms);

 private:
  struct Key {
    const void* snap = nullptr;
    int64_t published_ms = 0;
    size_t streams = 0;
    bool operator==(const Key&) const = default;
  };
  std::mutex mu_;
  bool built_ = false;    // guarded by mu_
  std::vector<Key> key_;  // guarded by mu_
  std::string tail_;      // guarded by mu_: the body after now_ms
};
// The page of stream `id`; false when no snapshot holds it.
bool exporter_json(const ExporterSnapshots& snaps, std::string_view id, int64_t now_ms,
                   std::string* out);

}  // namespace ringflow
