#include "passes/crop_padding_taps.h"

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ir/graph_view.h"
#include "passes/pass_helpers.h"

namespace onnxq {
namespace {

// One spatial axis of a convolution.
struct Axis {
  int64_t size = 0;  // of the input
  int64_t kernel = 1;
  int64_t stride = 1;
  int64_t dilation = 1;
  int64_t pad_begin = 0;
  int64_t pad_end = 0;
};

// The taps [lo, hi] of `axis` that read real input at some output position, with the pads that keep
// the output; nullopt when every tap does (nothing to cut), none does, or a pad would be negative.
struct Cut {
  int64_t lo = 0;
  int64_t hi = 0;
  int64_t pad_begin = 0;
  int64_t pad_end = 0;
};

std::optional<Cut> CutAxis(const Axis& a) {
  const int64_t span = a.size + a.pad_begin + a.pad_end - a.dilation * (a.kernel - 1);
  if (a.size <= 0 || a.kernel <= 1 || a.stride <= 0 || a.dilation <= 0 || span <= 0) return std::nullopt;
  const int64_t outputs = (span - 1) / a.stride + 1;
  const int64_t last_start = (outputs - 1) * a.stride - a.pad_begin;  // input position of tap 0, last output
  Cut cut{.lo = -1, .hi = -1};
  for (int64_t t = 0; t < a.kernel; ++t) {
    const bool reads_input = t * a.dilation - a.pad_begin <= a.size - 1 && last_start + t * a.dilation >= 0;
    if (!reads_input) continue;
    if (cut.lo < 0) cut.lo = t;
    cut.hi = t;
  }
  if (cut.lo < 0 || (cut.lo == 0 && cut.hi == a.kernel - 1)) return std::nullopt;
  cut.pad_begin = a.pad_begin - cut.lo * a.dilation;
  cut.pad_end = a.pad_end - (a.kernel - 1 - cut.hi) * a.dilation;
  if (cut.pad_begin < 0 || cut.pad_end < 0) return std::nullopt;
  return cut;
}

// The axes of a Conv this pass can read; nullopt when a precondition fails.
std::optional<std::vector<Axis>> ConvAxes(const GraphView& view, const onnx::NodeProto& node,
                                          const std::vector<int64_t>& weight_dims) {
  const auto input = view.Shape(node.input(0));
  if (!input || input->size() < 3 || input->size() != weight_dims.size()) return std::nullopt;
  const size_t rank = input->size() - 2;
  const auto* auto_pad = FindAttr(node, "auto_pad");
  const std::string padding = auto_pad == nullptr ? "NOTSET" : auto_pad->s();
  if (padding != "NOTSET" && padding != "VALID") return std::nullopt;
  const std::vector<int64_t> strides = AttrInts(node, "strides");
  const std::vector<int64_t> dilations = AttrInts(node, "dilations");
  const std::vector<int64_t> pads = padding == "VALID" ? std::vector<int64_t>{} : AttrInts(node, "pads");
  if ((!strides.empty() && strides.size() != rank) || (!dilations.empty() && dilations.size() != rank) ||
      (!pads.empty() && pads.size() != 2 * rank)) {
    return std::nullopt;
  }
  std::vector<Axis> axes(rank);
  for (size_t i = 0; i < rank; ++i) {
    axes[i] = {.size = (*input)[2 + i],
               .kernel = weight_dims[2 + i],
               .stride = strides.empty() ? 1 : strides[i],
               .dilation = dilations.empty() ? 1 : dilations[i],
               .pad_begin = pads.empty() ? 0 : pads[i],
               .pad_end = pads.empty() ? 0 : pads[rank + i]};
    if (axes[i].size <= 0) return std::nullopt;  // another input size may need every tap
  }
  return axes;
}

// W[:, :, lo_0..hi_0, lo_1..hi_1, ...] of a row-major weight.
std::vector<float> SliceKernel(const std::vector<float>& values, const std::vector<int64_t>& dims,
                               const std::vector<Cut>& cuts, std::vector<int64_t>* new_dims) {
  *new_dims = dims;
  for (size_t i = 0; i < cuts.size(); ++i) (*new_dims)[2 + i] = cuts[i].hi - cuts[i].lo + 1;
  int64_t filters = dims[0] * dims[1];
  int64_t old_kernel = 1;
  int64_t new_kernel = 1;
  for (size_t i = 2; i < dims.size(); ++i) {
    old_kernel *= dims[i];
    new_kernel *= (*new_dims)[i];
  }
  std::vector<float> out;
  out.reserve(static_cast<size_t>(filters * new_kernel));
  std::vector<int64_t> index(cuts.size());
  for (int64_t f = 0; f < filters; ++f) {
    for (int64_t k = 0; k < new_kernel; ++k) {
      // k's coordinates in the new kernel, shifted by lo, as an offset into the old one.
      int64_t rest = k;
      for (size_t i = cuts.size(); i-- > 0;) {
        const int64_t extent = (*new_dims)[2 + i];
        index[i] = rest % extent + cuts[i].lo;
        rest /= extent;
      }
      int64_t offset = 0;
      for (size_t i = 0; i < cuts.size(); ++i) offset = offset * dims[2 + i] + index[i];
      out.push_back(values[static_cast<size_t>(f * old_kernel + offset)]);
    }
  }
  return out;
}

}  // namespace

Result<PassReport> CropPaddingTapsPass::Run(onnx::ModelProto& model, PassContext& /*context*/) const {
  GraphView view(model.mutable_graph());
  const std::set<std::string> subgraph_reads = NamesReadBySubgraphs(view.graph());
  PassReport report;
  std::set<std::string> replaced;
  for (int i = 0; i < view.graph().node_size(); ++i) {
    const onnx::NodeProto& node = view.graph().node(i);
    if (node.op_type() != "Conv" || !IsDefaultDomain(node) || node.input_size() < 2) continue;
    const auto weight = ReadFloatInitializer(view, ResolveInitializer(view, node.input(1)));
    if (!weight) continue;
    const auto axes = ConvAxes(view, node, weight->dims);
    if (!axes) continue;
    std::vector<Cut> cuts;
    bool any = false;
    for (const Axis& axis : *axes) {
      const auto cut = CutAxis(axis);
      any = any || cut.has_value();
      cuts.push_back(
          cut.value_or(Cut{.lo = 0, .hi = axis.kernel - 1, .pad_begin = axis.pad_begin, .pad_end = axis.pad_end}));
    }
    if (!any) continue;

    std::vector<int64_t> dims;
    const std::vector<float> values = SliceKernel(weight->values, weight->dims, cuts, &dims);
    const std::string before = node.input(1);
    const auto kernel_text = [](const std::vector<int64_t>& weight_dims) {
      std::string text;
      for (size_t a = 2; a < weight_dims.size(); ++a) text += (a > 2 ? " x " : "") + std::to_string(weight_dims[a]);
      return text;
    };
    const std::string change = "kernel " + kernel_text(weight->dims) + " -> " + kernel_text(dims);
    const std::string now = SetNodeInitializer(view, i, 1, before + "_cropped", dims, values, subgraph_reads);
    if (now != before) {
      replaced.insert(before);
    } else {
      EraseValueInfo(view.graph(), {before});
    }

    onnx::NodeProto& conv = *view.graph().mutable_node(i);
    const size_t rank = cuts.size();
    std::vector<int64_t> kernel(rank);
    std::vector<int64_t> pads(2 * rank);
    std::vector<int64_t> dilations(rank);
    for (size_t a = 0; a < rank; ++a) {
      kernel[a] = cuts[a].hi - cuts[a].lo + 1;
      pads[a] = cuts[a].pad_begin;
      pads[rank + a] = cuts[a].pad_end;
      dilations[a] = kernel[a] == 1 ? 1 : (*axes)[a].dilation;
    }
    SetAttrInts(conv, "kernel_shape", kernel);
    SetAttrInts(conv, "pads", pads);
    SetAttrInts(conv, "dilations", dilations);
    EraseAttr(conv, "auto_pad");  // NOTSET: the pads say it
    report.notes.push_back(Describe(conv, i) + ": " + change + ", the taps that read only padding cut");
    ++report.changes;
    view.Rebuild();
  }
  if (!replaced.empty()) RemoveUnused(view.graph(), replaced);
  return report;
}

}  // namespace onnxq
