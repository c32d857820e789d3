// TemplateStore: the v9/IPFIX templates one reactor has installed, each
// compiled once into a DecodePlan, keyed by (stream, template id) so the
// same id in two domains of one exporter, or at two exporters, never mixes.
//
// Owns: every installed plan (one reference each, src/decode/plan_refs.h:
// a datagram handed off pins its own) and a fixed table of
// decode.max_templates entries (open addressing over twice as many slots,
// backward-shift deletion, no tombstones), plus each stream's template
// count. apply_set() reads a template or options template set record by
// record: a new template is installed (a TemplateListener is told, and
// releases the data held for it), the same bytes again refresh it, other
// bytes under the same id redefine it (a new plan; datagrams already handed
// out keep the old one), an IPFIX withdrawal (or withdraw-all) removes it.
// expire() forgets templates neither refreshed nor used for
// decode.template_timeout; forget_stream() those of a stream that is gone.
// Memory is allocated at construction, except one plan per new or changed
// template: never for a refresh or a lookup.
//
// Called by: the reactor thread only (its Sessions); find() on every data
// set, inline and without allocation.
//
// Bad input, counted in SessionCounters and skipped: a template record with
// a problem, template_rejects[TemplateProblem] (a truncated record or a bad
// scope ends the set, any other skips the record); a template over
// decode.max_templates_per_stream or decode.max_templates,
// template_rejects[stream_limit / total_limit]. It also counts
// templates_added / refreshed / redefined / withdrawn / expired, the biflow
// and undecoded-counter templates it compiles, and sets the
// templates_active and options_templates_active gauges.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <ringflow/config.h>

#include "decode/decode_plan.h"
#include "decode/session_counters.h"
#include "decode/template_record.h"

namespace ringflow {

struct TemplateEntry {
  DecodePlan* plan = nullptr;  // nullptr = free
  uint32_t stream = 0;         // SequenceTracker index
  uint16_t id = 0;
  int64_t last_ms = 0;  // last refreshed or used
  int64_t first_ms = 0;         // installed (the exporters page, src/decode/exporter_snapshot.h)
  uint32_t redefinitions = 0;   // times redefined since installed
};

// What a stream's templates went through since the stream appeared (kept
// when a template is withdrawn or expires; the exporters page).
struct StreamTemplateHistory {
  uint64_t added = 0, redefinitions = 0, withdrawals = 0;
};

// Told of each template TemplateStore::apply_set() installs anew (its
// Sessions, which releases the data held for it).
class TemplateListener {
 public:
  virtual void template_added(uint32_t stream, uint16_t template_id) = 0;

 protected:
  ~TemplateListener() = default;
};

class TemplateStore {
 public:
  enum class Installed : uint8_t { kAdded, kRefreshed, kRedefined, kRefused };

  // streams: the stream indexes in use are [0, streams).
  TemplateStore(const DecodeConfig& cfg, uint32_t streams, SessionCounters& counters);
  ~TemplateStore();
  TemplateStore(const TemplateStore&) = delete;
  TemplateStore& operator=(const TemplateStore&) = delete;

  // The installed template (stream, id), or nullptr.
  TemplateEntry* find(uint32_t stream, uint16_t id) {
    bool found;
    const size_t pos = slot(stream, id, &found);
    return found ? &entries_[slots_[pos]] : nullptr;
  }
  const DecodePlan* plan(uint32_t stream, uint16_t id) const {
    bool found;
    const size_t pos = slot(stream, id, &found);
    return found ? entries_[slots_[pos]].plan : nullptr;
  }

  // The records of a template (options: options template) set body
  // [body, body + len) of `stream`, in order; *records counts the records
  // read (with a problem or not, as the v9 header count does).
  // added.template_added() after each template newly installed.
  void apply_set(WireVersion v, bool options, uint32_t stream, const uint8_t* body, size_t len,
                 int64_t now_ms, uint32_t* records, TemplateListener& added);

  // One template record read_template_record() accepted (not a withdrawal).
  Installed install(WireVersion v, uint32_t stream, const TemplateRecordView& t, int64_t now_ms);
  // A withdrawal: the template (or, for the withdraw-all ids, every
  // template of its kind) of `stream` is removed.
  void withdraw(uint32_t stream, const TemplateRecordView& t);

  // Forgets templates idle for longer than decode.template_timeout.
  void expire(int64_t now_ms);
  // Forgets every template of `stream` (counted as expired).
  void forget_stream(uint32_t stream);

  // Calls f(const TemplateEntry&) for every installed template, in table
  // order.
  template <class F>
  void for_each(F&& f) const {
    for (uint32_t e : slots_)
      if (e != kNil) f(entries_[e]);
  }

  size_t size() const { return used_; }
  size_t options_templates() const { return options_used_; }
  uint32_t stream_templates(uint32_t stream) const { return per_stream_[stream]; }
  const StreamTemplateHistory& history(uint32_t stream) const { return history_[stream]; }
  bool v9_variable_length() const { return v9_variable_length_; }

 private:
  static constexpr uint32_t kNil = UINT32_MAX;
  static uint64_t hash(uint32_t stream, uint16_t id) {
    uint64_t h = (uint64_t{stream} << 16 | id) * 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 29);
  }
  // The slot of (stream, id): where it is (*found) or where it would go.
  size_t slot(uint32_t stream, uint16_t id, bool* found) const {
    size_t pos = hash(stream, id) & mask_;
    for (;;) {
      const uint32_t e = slots_[pos];
      if (e == kNil) {
        *found = false;
        return pos;
      }
      if (entries_[e].stream == stream && entries_[e].id == id) {
        *found = true;
        return pos;
      }
      pos = (pos + 1) & mask_;
    }
  }
  void erase(size_t slot);
  // Erases every entry pred(entry) holds for; returns how many.
  template <class Pred>
  size_t erase_where(Pred&& pred);
  // Counts a newly compiled plan's biflow and undecoded-counter templates.
  void count_plan(const DecodePlan& plan);

  const uint32_t max_per_stream_;
  const bool v9_variable_length_;
  const int64_t idle_ms_;
  SessionCounters& counters_;
  std::vector<TemplateEntry> entries_;
  std::vector<uint32_t> free_;
  std::vector<uint32_t> slots_;  // index into entries_, kNil when empty
  size_t mask_ = 0;
  size_t used_ = 0, options_used_ = 0;
  std::vector<uint32_t> per_stream_;  // templates of each stream
  std::vector<StreamTemplateHistory> history_;  // of each stream, cleared by forget_stream()
};

}  // namespace ringflow
