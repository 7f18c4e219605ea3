#include "passes/pass_registry.h"

#include <functional>
#include <map>

#include "passes/constants_to_initializers.h"

namespace onnxq {
namespace {

using Factory = std::function<std::unique_ptr<GraphPass>()>;

const std::map<std::string, Factory>& Factories() {
  static const std::map<std::string, Factory> factories = {
      {"constants_to_initializers", [] { return std::make_unique<ConstantsToInitializers>(); }},
  };
  return factories;
}

}  // namespace

std::vector<std::string> PassIds() {
  std::vector<std::string> ids;
  for (const auto& [id, factory] : Factories()) ids.push_back(id);
  return ids;
}

Result<std::unique_ptr<GraphPass>> CreatePass(const std::string& id) {
  const auto& factories = Factories();
  const auto it = factories.find(id);
  if (it == factories.end()) {
    std::string known;
    for (const auto& name : PassIds()) known += (known.empty() ? "" : ", ") + name;
    return NotFound("unknown pass '" + id + "'; known passes: " + known);
  }
  return it->second();
}

Result<std::vector<PassReport>> RunPasses(const std::vector<std::string>& ids, onnx::ModelProto& model) {
  std::vector<PassReport> reports;
  for (const auto& id : ids) {
    ONNXQ_ASSIGN_OR_RETURN(auto pass, CreatePass(id));
    auto report = pass->Run(model);
    if (!report.ok()) return Status(report.status().code(), "pass " + id + ": " + report.status().message());
    reports.push_back(std::move(report).value());
  }
  return reports;
}

}  // namespace onnxq
