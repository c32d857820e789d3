// The body of GET /api/v1/top (docs/api.md has the parameters, the shape, an
// example and the meaning of every key): the top rows of one projection over
// the last `intervals` flushed intervals, sorted by bytes, packets or flows,
// and the time series of the first 10 of them over every kept interval.
//
//   by         key | src_addr | dst_addr | proto_port | exporter   (default key)
//   sort       bytes | packets | flows                            (default bytes)
//   intervals  1 .. metrics.top_intervals                         (default 1)
//   limit      1 .. metrics.top_k                                 (default 20)
//
// A bad, unknown or repeated parameter, or a projection that aggregate.key
// cannot give, is a 400 with a sentence saying what is wrong and what is
// accepted.
//
// Cost: bounded by what TopKeeper keeps (at most 3 x K rows per interval),
// never by the number of keys aggregated: the rows of the window are merged
// in an open-addressing table and sorted.
//
// Thread safety: any thread; reads one TopSnapshot (immutable).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "live/top_k.h"

namespace ringflow {

struct TopQuery {
  size_t projection = 0;  // index in TopKeeper::projections()
  TopSort sort = TopSort::kBytes;
  uint32_t intervals = 1;
  uint32_t limit = 20;
};

// Parses the query's arguments (already percent-decoded). false and *error
// (one sentence) when one is bad.
bool parse_top_query(const std::vector<std::pair<std::string, std::string>>& args,
                     const TopKeeper& top, TopQuery* q, std::string* error);

std::string top_json(const TopKeeper& top, const TopQuery& q);

}  // namespace ringflow
