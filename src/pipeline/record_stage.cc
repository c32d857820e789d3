#include "pipeline/record_stage.h"

#include "pipeline/catalogue_stage.h"
#include "pipeline/enrich_stage.h"
#include "pipeline/filter_stage.h"
#include "pipeline/flow_print.h"

namespace ringflow {

RecordStageChain make_record_stages(const Config& cfg, const RecordStageOptions& opts) {
  RecordStageChain chain;
  // Enrichment and filter stages go before the printer, so that --print-flows
  // shows what is aggregated.
  if (opts.enrich && opts.enrich->config().any_address())
    chain.add(std::make_unique<EnrichStage>(*opts.enrich));
  if ((opts.enrich && (!opts.enrich->config().catalogue.empty() ||
                      opts.enrich->config().snmp.enabled)) ||
      opts.learned_if_names)
    chain.add(std::make_unique<CatalogueStage>(opts.enrich, opts.learned_if_names));
  // The filter reads every field the stages above fill: keep it after every
  // stage that adds fields (a new enrichment stage goes above this line).
  if (opts.filter && opts.filter_counters)
    chain.add(std::make_unique<FilterStage>(*opts.filter, cfg.filter.action == "drop",
                                            *opts.filter_counters));
  if (opts.print_flows) chain.add(std::make_unique<FlowPrintStage>(opts.print_flows, opts.print_json));
  return chain;
}

}  // namespace ringflow
