// The power-of-two positions of an NPU-CNN model moved until an AMD DPU / NPU's shifters can compute
// every node (vai_q_onnx / Quark NPULimitationCheck; ../shared/reference/ptq-anchors.md 1.6). Pure
// math on plain data: the graph is packed into PosNodes, the positions into a map, and the result is
// unpacked into the model's scales by the caller.
//
// A tensor quantized with scale 2^-pos has position pos; a LOWER pos is a coarser scale (a larger
// range, nothing new clipped), a higher pos a finer one. Positions are shared by tensor name: moving
// a node's output also moves the input of every node that reads it.
//
// Rules, with i, w, b, o the positions of a node's input, weight, bias and output:
//   AdjustShiftCut     Conv, ConvTranspose, Gemm: shift_cut = w + i - o in [0, 16].
//                      Fix: w := clamp, i.e. w = o - i (raised) or w = 16 + o - i (lowered).
//   AdjustShiftBias    Conv, Gemm with a bias: shift_bias = w + i - b in [lo, 15] where
//                      lo = min(0, -(24 - (8 + shift_cut))) = min(0, shift_cut - 16), and lo = 0 when the
//                      node's fused activation is a LeakyRelu.
//                      Fix: b := w + i - lo (lowered) or b = w + i - 15 (raised).
//   AdjustShiftRead    Add, Sub: max(i_k) - min(i_k) <= 7.
//                      Fix: the largest input (the first of equals) lowered to min(i_k) + 7.
//   AdjustShiftWrite   Add: min(i_k) - o in [-7, 25];  Mul: sum(i_k) - o in [0, 32].
//                      Fix: o := clamp (lowered when the shift is below the range, raised above it).
//   AdjustHardSigmoid  HardSigmoid: i in [0, 15], o >= 7, shift_sigmoid = 14 + i - o in [0, 31].
//                      Fix: i := clamp(i, 0, 15), then o := max(o, 7), then o := 14 + i where o > 14 + i.
//                      After the first two, 14 + i - o <= 14 + 15 - 7 = 22, so the bound 31 never binds.
//   AdjustShiftSwish   Mul(x, HardSigmoid(x)): shift_swish = i_0 + i_1 - o in [0, 15].
//                      Fix: o := clamp, as for shift_write.
//   AlignConcat        Concat: every input and the output := the smallest of their positions.
//   AlignPool          MaxPool, AveragePool, GlobalAveragePool: i == o, the larger lowered to the smaller.
//   AlignPad           Pad: the same, on the data input (input 0).
//   AlignSlice         Slice: the same, on the data input (input 0).
//
// Each round runs the enabled rules in the order AlignConcat, AlignPool, AlignPad, AlignSlice,
// AdjustShiftRead, AdjustShiftWrite, AdjustShiftCut, AdjustShiftBias, AdjustHardSigmoid,
// AdjustShiftSwish; each rule visits the nodes in list order and sees the moves made before it.
// Rounds repeat while a round moved something, at most max_loops rounds.
//
// Where the reference leaves a choice open, the fix coarsens (lowers a position) rather than refines:
//   - HardSigmoid with o > 14 + i: o is lowered to 14 + i (raising i would refine the input);
//   - the equalities (Concat, pools, Pad, Slice) lower the larger positions, never raise the smaller;
//   - shift_read lowers the largest input, not raises the smallest.
// Where the rule names the tensor that moves, it moves in whichever direction the bound demands, even
// if that refines: shift_cut below 0 raises w, shift_bias above 15 raises b, shift_write and
// shift_swish above their range raise o, HardSigmoid raises i below 0 and o below 7.
// Reading the reference literally: AdjustShiftBias covers Conv and Gemm (not ConvTranspose), and
// AdjustShiftWrite covers Add and Mul (not Sub). A Mul that is a Swish is held to both AdjustShiftWrite
// and AdjustShiftSwish.
//
// A rule skips a node when a tensor it reads has no position in the map (an empty name included).
// Swish is recognised from the node list: a Mul with exactly two inputs, x and h, where some
// HardSigmoid node reads x as its input 0 and has output h. The HardSigmoid nodes listed are taken to
// be the DPU's (alpha 1/6, beta 0.5); a HardSigmoid followed by the DPU's constant Mul (SimulateDPU)
// is to be packed as one HardSigmoid node whose output is the Mul's.
#pragma once

#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace onnxq {

// One node of the quantized graph, as the DPU sees it.
struct PosNode {
  std::string name;                 // for the report
  std::string op_type;              // Conv, ConvTranspose, Gemm, Add, Sub, Mul, HardSigmoid, Concat, MaxPool,
                                    // AveragePool, GlobalAveragePool, Pad, Slice; others are ignored
  std::vector<std::string> inputs;  // the quantized activation inputs in order, "" where not quantized
  std::string weight;               // Conv, ConvTranspose, Gemm: the quantized weight ("" if none)
  std::string bias;                 // Conv, ConvTranspose, Gemm: the quantized bias ("" if none)
  std::string output;               // the quantized output (after a fused activation), "" if none
  bool feeds_leaky_relu = false;    // a conv-like node whose fused activation is a LeakyRelu
};

// Which rules run and for how many rounds (NpuLimitationOptions of onnxq/options.h without
// `enabled`, which the caller reads).
struct NpuPositionOptions {
  int max_loops = 5;         // MaxLoopNum; no round runs when <= 0
  bool shift_cut = true;     // AdjustShiftCut
  bool shift_bias = true;    // AdjustShiftBias
  bool shift_read = true;    // AdjustShiftRead
  bool shift_write = true;   // AdjustShiftWrite
  bool hard_sigmoid = true;  // AdjustHardSigmoid
  bool shift_swish = true;   // AdjustShiftSwish
  bool align_concat = true;  // AlignConcat
  bool align_pool = true;    // AlignPool
  bool align_pad = true;     // AlignPad
  bool align_slice = true;   // AlignSlice
};

// One move of one tensor's position.
struct PosAdjustment {
  std::string node;    // the node whose rule moved it
  std::string tensor;  // the tensor moved
  std::string rule;    // as the extra options spell it: "AdjustShiftCut", "AlignConcat", ...
  int old_pos = 0;
  int new_pos = 0;
  int loop = 0;  // the round, from 1
};

struct PosRefinement {
  std::map<std::string, int> pos;          // every position, moved or not
  std::vector<PosAdjustment> adjustments;  // in the order they were made
  // Moves a rule asked of a pinned tensor and that were not made (new_pos: where the rule wanted it),
  // once per node, tensor and rule, in the order first asked; the rule stays broken there.
  std::vector<PosAdjustment> held;
  int loops = 0;           // rounds run (the last one may have moved nothing)
  bool converged = false;  // every enabled rule holds at `pos`
};

// Runs the rules of the file comment on `pos` (tensor name -> position) over `nodes`. The `pinned`
// tensors (positions a user fixed) never move: a rule that would move one is recorded in `held`, and
// the refinement does not converge while it stays broken.
PosRefinement RefineNpuPositions(std::span<const PosNode> nodes, std::map<std::string, int> pos,
                                 const NpuPositionOptions& options = {}, const std::set<std::string>& pinned = {});

}  // namespace onnxq
