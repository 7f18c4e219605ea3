#include "algorithms/npu_positions.h"

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string_view>
#include <utility>

namespace onnxq {
namespace {

constexpr int kMinShiftCut = 0;
constexpr int kMaxShiftCut = 16;
constexpr int kMaxShiftBias = 15;
constexpr int kMaxShiftRead = 7;
constexpr int kMinAddShiftWrite = -7;
constexpr int kMaxAddShiftWrite = 25;
constexpr int kMinMulShiftWrite = 0;
constexpr int kMaxMulShiftWrite = 32;
constexpr int kMinHardSigmoidInput = 0;
constexpr int kMaxHardSigmoidInput = 15;
constexpr int kMinHardSigmoidOutput = 7;
constexpr int kHardSigmoidShift = 14;  // shift_sigmoid = 14 + i - o
constexpr int kMinShiftSwish = 0;
constexpr int kMaxShiftSwish = 15;

// One pass of the rules over the nodes, recording every move.
class Refiner {
 public:
  Refiner(std::span<const PosNode> nodes, std::map<std::string, int> pos, const std::set<std::string>& pinned)
      : nodes_(nodes), pos_(std::move(pos)), pinned_(pinned) {
    for (const PosNode& node : nodes_) {
      if (node.op_type == "HardSigmoid" && !node.inputs.empty() && !node.inputs[0].empty() && !node.output.empty()) {
        hard_sigmoid_input_.emplace(node.output, node.inputs[0]);
      }
    }
  }

  // Runs one round of the enabled rules, in the reference's order; true when something moved.
  bool RunRound(const NpuPositionOptions& options, int loop) {
    loop_ = loop;
    moved_ = false;
    held_in_round_ = false;
    if (options.align_concat) ForEach({"Concat"}, &Refiner::AlignConcat);
    if (options.align_pool) ForEach({"MaxPool", "AveragePool", "GlobalAveragePool"}, &Refiner::AlignPool);
    if (options.align_pad) ForEach({"Pad"}, &Refiner::AlignPad);
    if (options.align_slice) ForEach({"Slice"}, &Refiner::AlignSlice);
    if (options.shift_read) ForEach({"Add", "Sub"}, &Refiner::ShiftRead);
    if (options.shift_write) ForEach({"Add", "Mul"}, &Refiner::ShiftWrite);
    if (options.shift_cut) ForEach({"Conv", "ConvTranspose", "Gemm"}, &Refiner::ShiftCut);
    if (options.shift_bias) ForEach({"Conv", "Gemm"}, &Refiner::ShiftBias);
    if (options.hard_sigmoid) ForEach({"HardSigmoid"}, &Refiner::HardSigmoid);
    if (options.shift_swish) ForEach({"Mul"}, &Refiner::ShiftSwish);
    return moved_;
  }

  std::map<std::string, int>& pos() { return pos_; }
  std::vector<PosAdjustment>& adjustments() { return adjustments_; }
  std::vector<PosAdjustment>& held() { return held_; }
  // Whether the last round found a rule it could not fix (a pinned tensor).
  bool held_in_round() const { return held_in_round_; }

 private:
  using Rule = void (Refiner::*)(const PosNode&);

  // Applies `rule` to the nodes of the given op types, in list order.
  void ForEach(std::initializer_list<std::string_view> op_types, Rule rule) {
    for (const PosNode& node : nodes_) {
      if (std::find(op_types.begin(), op_types.end(), node.op_type) != op_types.end()) (this->*rule)(node);
    }
  }

  std::optional<int> Get(const std::string& tensor) const {
    if (tensor.empty()) return std::nullopt;
    const auto found = pos_.find(tensor);
    if (found == pos_.end()) return std::nullopt;
    return found->second;
  }

  // The positions of all of the node's inputs; nullopt when the node has none or one is missing.
  std::optional<std::vector<int>> InputPositions(const PosNode& node) const {
    if (node.inputs.empty()) return std::nullopt;
    std::vector<int> positions;
    positions.reserve(node.inputs.size());
    for (const std::string& input : node.inputs) {
      const std::optional<int> p = Get(input);
      if (!p) return std::nullopt;
      positions.push_back(*p);
    }
    return positions;
  }

  void Move(const PosNode& node, const std::string& tensor, const char* rule, int new_pos) {
    int& current = pos_.at(tensor);
    if (current == new_pos) return;
    if (pinned_.contains(tensor)) {
      held_in_round_ = true;
      if (held_keys_.insert(node.name + '\n' + tensor + '\n' + rule).second) {
        held_.push_back(PosAdjustment{
            .node = node.name, .tensor = tensor, .rule = rule, .old_pos = current, .new_pos = new_pos, .loop = loop_});
      }
      return;
    }
    adjustments_.push_back(PosAdjustment{
        .node = node.name, .tensor = tensor, .rule = rule, .old_pos = current, .new_pos = new_pos, .loop = loop_});
    current = new_pos;
    moved_ = true;
  }

  void AlignConcat(const PosNode& node) {
    const std::optional<std::vector<int>> inputs = InputPositions(node);
    const std::optional<int> o = Get(node.output);
    if (!inputs || !o) return;
    const int lowest = std::min(*o, *std::min_element(inputs->begin(), inputs->end()));
    for (const std::string& input : node.inputs) Move(node, input, "AlignConcat", lowest);
    Move(node, node.output, "AlignConcat", lowest);
  }

  void AlignInputOutput(const PosNode& node, const char* rule) {
    if (node.inputs.empty()) return;
    const std::optional<int> i = Get(node.inputs[0]);
    const std::optional<int> o = Get(node.output);
    if (!i || !o) return;
    if (*o > *i) Move(node, node.output, rule, *i);
    if (*i > *o) Move(node, node.inputs[0], rule, *o);
  }
  void AlignPool(const PosNode& node) { AlignInputOutput(node, "AlignPool"); }
  void AlignPad(const PosNode& node) { AlignInputOutput(node, "AlignPad"); }
  void AlignSlice(const PosNode& node) { AlignInputOutput(node, "AlignSlice"); }

  void ShiftRead(const PosNode& node) {
    const std::optional<std::vector<int>> inputs = InputPositions(node);
    if (!inputs) return;
    const auto largest = std::max_element(inputs->begin(), inputs->end());
    const int lowest = *std::min_element(inputs->begin(), inputs->end());
    if (*largest - lowest <= kMaxShiftRead) return;
    const auto index = static_cast<std::size_t>(largest - inputs->begin());
    Move(node, node.inputs[index], "AdjustShiftRead", lowest + kMaxShiftRead);
  }

  void AddShiftWrite(const PosNode& node) {
    const std::optional<std::vector<int>> inputs = InputPositions(node);
    const std::optional<int> o = Get(node.output);
    if (!inputs || !o) return;
    const int lowest = *std::min_element(inputs->begin(), inputs->end());
    const int shift = lowest - *o;
    Move(node, node.output, "AdjustShiftWrite", lowest - std::clamp(shift, kMinAddShiftWrite, kMaxAddShiftWrite));
  }

  void ShiftWrite(const PosNode& node) {
    if (node.op_type == "Add") AddShiftWrite(node);
    if (node.op_type == "Mul") MulShiftWrite(node);
  }

  void MulShiftWrite(const PosNode& node) {
    const std::optional<std::vector<int>> inputs = InputPositions(node);
    const std::optional<int> o = Get(node.output);
    if (!inputs || !o) return;
    int sum = 0;
    for (int p : *inputs) sum += p;
    const int shift = sum - *o;
    Move(node, node.output, "AdjustShiftWrite", sum - std::clamp(shift, kMinMulShiftWrite, kMaxMulShiftWrite));
  }

  void ShiftCut(const PosNode& node) {
    if (node.inputs.empty()) return;
    const std::optional<int> i = Get(node.inputs[0]);
    const std::optional<int> w = Get(node.weight);
    const std::optional<int> o = Get(node.output);
    if (!i || !w || !o) return;
    const int shift_cut = *w + *i - *o;
    Move(node, node.weight, "AdjustShiftCut", std::clamp(shift_cut, kMinShiftCut, kMaxShiftCut) + *o - *i);
  }

  void ShiftBias(const PosNode& node) {
    if (node.inputs.empty()) return;
    const std::optional<int> i = Get(node.inputs[0]);
    const std::optional<int> w = Get(node.weight);
    const std::optional<int> b = Get(node.bias);
    const std::optional<int> o = Get(node.output);
    if (!i || !w || !b || !o) return;
    const int shift_cut = *w + *i - *o;
    const int lo = node.feeds_leaky_relu ? 0 : std::min(0, -(24 - (8 + shift_cut)));
    const int shift_bias = *w + *i - *b;
    Move(node, node.bias, "AdjustShiftBias", *w + *i - std::clamp(shift_bias, lo, kMaxShiftBias));
  }

  void HardSigmoid(const PosNode& node) {
    if (node.inputs.empty()) return;
    const std::optional<int> i = Get(node.inputs[0]);
    const std::optional<int> o = Get(node.output);
    if (!i || !o) return;
    const int new_i = std::clamp(*i, kMinHardSigmoidInput, kMaxHardSigmoidInput);
    const int new_o = std::min(std::max(*o, kMinHardSigmoidOutput), kHardSigmoidShift + new_i);
    Move(node, node.inputs[0], "AdjustHardSigmoid", new_i);
    Move(node, node.output, "AdjustHardSigmoid", new_o);
  }

  bool IsSwish(const PosNode& node) const {
    if (node.inputs.size() != 2) return false;
    const auto reads = [this](const std::string& h, const std::string& x) {
      const auto found = hard_sigmoid_input_.find(h);
      return !x.empty() && found != hard_sigmoid_input_.end() && found->second == x;
    };
    return reads(node.inputs[1], node.inputs[0]) || reads(node.inputs[0], node.inputs[1]);
  }

  void ShiftSwish(const PosNode& node) {
    if (!IsSwish(node)) return;
    const std::optional<std::vector<int>> inputs = InputPositions(node);
    const std::optional<int> o = Get(node.output);
    if (!inputs || !o) return;
    const int sum = (*inputs)[0] + (*inputs)[1];
    const int shift = sum - *o;
    Move(node, node.output, "AdjustShiftSwish", sum - std::clamp(shift, kMinShiftSwish, kMaxShiftSwish));
  }

  std::span<const PosNode> nodes_;
  std::map<std::string, int> pos_;
  std::map<std::string, std::string> hard_sigmoid_input_;  // HardSigmoid output -> its input
  const std::set<std::string>& pinned_;
  std::vector<PosAdjustment> adjustments_;
  std::vector<PosAdjustment> held_;
  std::set<std::string> held_keys_;  // node, tensor and rule of each entry of held_
  int loop_ = 0;
  bool moved_ = false;
  bool held_in_round_ = false;
};

}  // namespace

PosRefinement RefineNpuPositions(std::span<const PosNode> nodes, std::map<std::string, int> pos,
                                 const NpuPositionOptions& options, const std::set<std::string>& pinned) {
  Refiner refiner(nodes, std::move(pos), pinned);
  PosRefinement result;
  bool moved = true;
  while (moved && result.loops < options.max_loops) {
    ++result.loops;
    moved = refiner.RunRound(options, result.loops);
  }
  bool held = refiner.held_in_round();
  if (moved) {
    // The last round moved something (or none ran): check the rules once more on a copy.
    Refiner check(nodes, refiner.pos(), pinned);
    moved = check.RunRound(options, result.loops + 1);
    held = check.held_in_round();
  }
  result.converged = !moved && !held;
  result.pos = std::move(refiner.pos());
  result.adjustments = std::move(refiner.adjustments());
  result.held = std::move(refiner.held());
  return result;
}

}  // namespace onnxq
