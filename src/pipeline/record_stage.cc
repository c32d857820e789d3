#include "pipeline/record_stage.h"

#include "pipeline/catalogue_stage.h"
#include "pipeline/enrich_stage.h"
#include "pipeline/flow_print.h"

namespace ringflow {

RecordStageChain make_record_stages(const Config&, const RecordStageOptions& opts) {
  RecordStageChain chain;
  // Enrichment and filter stages go before the printer, so that --print-flows
  // shows what is aggregated.
  if (opts.enrich && opts.enrich->config().any_address())
    chain.add(std::make_unique<EnrichStage>(*opts.enrich));
  if (opts.enrich && !opts.enrich->config().catalogue.empty())
    chain.add(std::make_unique<CatalogueStage>(*opts.enrich));
  if (opts.print_flows) chain.add(std::make_unique<FlowPrintStage>(opts.print_flows, opts.print_json));
  return chain;
}

}  // namespace ringflow
