// The body of GET /api/v1/overview (docs/api.md has the shape, an example
// and the meaning of every key): totals now, the rates of the last second,
// the history of the last 5 minutes (1 s) and the last hour (interval),
// every loss counter by stage and reason with its count over the last
// minute, and a status sentence saying in words whether anything is being
// lost and where.
//
// Thread safety: any thread (LiveSampler locks its history to copy it).
#pragma once

#include <string>

#include "live/live_sampler.h"

namespace ringflow {

// The status sentence for the losses between `from` and `to` (a window of
// window_s seconds) and since the start (`to`'s totals).
std::string loss_sentence(const LiveTotals& from, const LiveTotals& to, double window_s);

std::string overview_json(const LiveSampler& sampler);

}  // namespace ringflow
