// onnxq optimize IN OUT --passes a,b,c: runs graph passes by id, in the order given, on one shared
// context (so absorb_high_bias sees the batch norms fold_batch_norm folded earlier in the list).
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "commands.h"
#include "io/file_safety.h"
#include "onnxq/extra_options.h"
#include "onnxq/model_io.h"
#include "onnxq/optimize.h"

namespace onnxq::cli {
namespace {

struct OptimizeArgs {
  std::string input;
  std::string output;
  std::vector<std::string> passes;
  std::vector<std::string> extra;  // KEY=VALUE
  bool external_data = false;
  bool list = false;
  bool quiet = false;
  bool json = false;
};

std::string PassList() {
  std::string text;
  for (const auto& pass : ListPasses()) text += "  " + pass.id + ": " + pass.summary + "\n";
  return text;
}

// The options of the passes, once the arguments check out (every pass id known).
Result<QuantizeOptions> BuildOptions(const OptimizeArgs& args) {
  QuantizeOptions options;
  if (args.list) return options;
  if (args.input.empty() || args.output.empty() || args.passes.empty()) {
    return InvalidArgument("optimize needs MODEL_INPUT, MODEL_OUTPUT and --passes (see --list-passes)");
  }
  ONNXQ_ASSIGN_OR_RETURN(const auto extra, ParseKeyValues("--extra-option", args.extra));
  ONNXQ_RETURN_IF_ERROR(ApplyExtraOptions(extra, &options));
  ONNXQ_RETURN_IF_ERROR(CheckPassIds(args.passes, options.passes));
  return options;
}

int Run(const OptimizeArgs& args) {
  auto options = BuildOptions(args);
  if (!options.ok()) return Fail(options.status());
  if (args.list) {
    std::cout << PassList();
    return 0;
  }
  ModelFiles input_files;
  auto model = LoadModel(args.input, &input_files);
  if (!model.ok()) return Fail(model.status());
  SaveOptions save = options->save;
  save.inputs = AsInputs(input_files, "the input model");
  if (Status s = CheckOutputPath(args.output, save.inputs); !s.ok()) return Fail(s);
  auto runs = OptimizeModel(*model, args.passes, options->passes);
  if (!runs.ok()) return Fail(runs.status());
  if (args.external_data) save.external_data = ExternalData::kAlways;
  ModelFiles output_files;
  if (Status s = SaveModel(*model, args.output, save, &output_files); !s.ok()) return Fail(s);
  NoteAutomaticExternalData(save, output_files);
  if (args.json) {
    nlohmann::ordered_json passes = nlohmann::ordered_json::array();
    for (const auto& run : *runs) passes.push_back({{"id", run.id}, {"changes", run.changes}, {"notes", run.notes}});
    nlohmann::ordered_json json = {
        {"command", "optimize"}, {"input", args.input}, {"output", args.output}, {"passes", std::move(passes)}};
    std::cout << json.dump(2) << "\n";
  } else if (!args.quiet) {
    std::cout << "onnxq optimize: " << args.input << " -> " << args.output << "\n";
    for (const auto& run : *runs) {
      std::cout << "  " << run.id << ": " << run.changes << " changes\n";
      for (const auto& note : run.notes) std::cout << "    " << note << "\n";
    }
  }
  return 0;
}

}  // namespace

Command AddOptimizeCommand(CLI::App& app) {
  auto args = std::make_shared<OptimizeArgs>();
  CLI::App* cmd = app.add_subcommand("optimize", "Run graph passes (batch-norm folding, cross-layer equalization ...)");
  cmd->add_option("model_input", args->input, "ONNX model to rewrite");
  cmd->add_option("model_output", args->output, "Where to write the rewritten model (written atomically)");
  cmd->add_option("--passes", args->passes, "Pass ids, run in this order, e.g. fold_batch_norm,equalize_cross_layer")
      ->delimiter(',');
  cmd->add_option("--extra-option", args->extra,
                  "KEY=VALUE settings of the passes: CLESteps, CLEScaleAppendBias, CLETotalLayerDiffThreshold, "
                  "CLEScaleUseThreshold, CLEWeightThreshold")
      ->delimiter(',');
  cmd->add_flag("--use-external-data-format", args->external_data,
                "Store weights in <model_output>.<content hash>.data");
  cmd->add_flag("--list-passes", args->list, "Print the pass ids and what each does");
  cmd->add_flag("-q,--quiet", args->quiet, "Print nothing but errors");
  cmd->add_flag("--json", args->json, "Print one JSON object on stdout instead of the summary: each pass's changes");
  return {[args] { return BuildOptions(*args).status(); }, [args] { return Run(*args); },
          [args] { *args = OptimizeArgs{}; }};
}

}  // namespace onnxq::cli
