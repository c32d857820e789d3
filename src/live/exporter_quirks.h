// Exporter quirks: behaviours of one exporter stream, read from its
// published state (src/decode/exporter_snapshot.h), that a user should know
// of, each in one sentence that says what to do. Shown by the Exporters
// page and API (docs/api.md, /api/v1/exporters/<id>).
//
// Each quirk has a stable id (the API and tests key on it):
//   clock_offset              |export time - receive time| > clock_offset_s
//   template_redefined_often  one template redefined >= min_redefinitions
//                             times at > redefinitions_per_hour over the
//                             stream's first to latest datagram (at least
//                             a minute; one quirk per template)
//   sampler_id_missing        options records announce rates by sampler id,
//                             and a data template carries neither a sampler
//                             id nor a rate of its own
//   nsel_octets               a data template counts bytes only as
//                             initiator/responder octets (NSEL)
//   exporter_restarts         the sequence was reset (restarts)
//   high_loss                 loss by sequence > loss_ratio of what was sent
//   held_data_expired         data sets expired waiting for their template
// A stream with none of these raises nothing.
//
// Thread safety: pure functions of their arguments.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "decode/exporter_snapshot.h"

namespace ringflow {

struct QuirkThresholds {
  double clock_offset_s = 10;
  uint32_t min_redefinitions = 3;
  double redefinitions_per_hour = 10;
  double loss_ratio = 0.01;  // of the units the stream's sequence counts
};

struct Quirk {
  std::string id;
  std::string severity;      // "warning" (data is wrong or lost) or "info"
  std::string message;       // one sentence: what happens, then what to do
  uint32_t template_id = 0;  // template_redefined_often / sampler_id_missing / nsel_octets
};

// The loss ratio of a stream: lost / (lost + received), in its sequence's
// unit (datagrams for v9, flows otherwise); 0 when nothing was counted.
double loss_ratio(const StreamStats& s);

std::vector<Quirk> detect_quirks(const ExporterSnapshot& snap, const ExporterStream& s,
                                 const QuirkThresholds& t = {});

}  // namespace ringflow
