// The web view's files (src/live/web/ and Debian's libjs-dygraphs), embedded
// in the binary at build time by cmake/embed_assets.cmake so that the page
// loads nothing from outside. Served read-only on the metrics listener
// (src/pipeline/live_view.cc); docs/api.md lists them.
//
// Thread safety: immutable static data.
#pragma once

#include <cstddef>
#include <span>

namespace ringflow {

struct WebAsset {
  const char* url;           // e.g. "/", "/assets/dygraph.min.js"
  const char* content_type;  // e.g. "text/html; charset=utf-8"
  const unsigned char* data;
  size_t size;
};

std::span<const WebAsset> web_assets();

}  // namespace ringflow
