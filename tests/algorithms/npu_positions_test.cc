// The NPU position rules, worked by hand: each rule on its own, the order of the rules within a round,
// rounds repeated until nothing moves (or max_loops), rules switched off, nodes without positions.
#include "algorithms/npu_positions.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace onnxq {
namespace {

using Positions = std::map<std::string, int>;

PosNode Node(const std::string& name, const std::string& op_type, std::vector<std::string> inputs,
             const std::string& output) {
  return PosNode{.name = name, .op_type = op_type, .inputs = std::move(inputs), .output = output};
}

PosNode ConvNode(const std::string& name, const std::string& op_type, const std::string& x, const std::string& w,
                 const std::string& b, const std::string& y) {
  return PosNode{.name = name, .op_type = op_type, .inputs = {x}, .weight = w, .bias = b, .output = y};
}

// Only the rule named on.
NpuPositionOptions Only(bool NpuPositionOptions::*rule) {
  NpuPositionOptions options{.shift_cut = false,
                             .shift_bias = false,
                             .shift_read = false,
                             .shift_write = false,
                             .hard_sigmoid = false,
                             .shift_swish = false,
                             .align_concat = false,
                             .align_pool = false,
                             .align_pad = false,
                             .align_slice = false};
  options.*rule = true;
  return options;
}

std::string Describe(const PosAdjustment& a) {
  return a.rule + " " + a.node + " " + a.tensor + " " + std::to_string(a.old_pos) + "->" + std::to_string(a.new_pos) +
         " @" + std::to_string(a.loop);
}

std::vector<std::string> Describe(const std::vector<PosAdjustment>& adjustments) {
  std::vector<std::string> lines;
  lines.reserve(adjustments.size());
  for (const PosAdjustment& a : adjustments) lines.push_back(Describe(a));
  return lines;
}

TEST(NpuPositionsTest, ShiftCutMovesTheWeightIntoZeroToSixteen) {
  const std::vector<PosNode> nodes = {
      ConvNode("high", "Conv", "x1", "w1", "", "y1"),                 // 12 + 7 - 2 = 17 > 16: w = 16 + 2 - 7 = 11
      ConvNode("low", "Gemm", "x2", "w2", "", "y2"),                  // 2 + 3 - 8 = -3 < 0: w = 0 + 8 - 3 = 5
      ConvNode("transposed", "ConvTranspose", "x3", "w3", "", "y3"),  // 20 + 0 - 1 = 19: w = 16 + 1 - 0 = 17
      ConvNode("fine", "Conv", "x4", "w4", "", "y4"),                 // 10 + 6 - 0 = 16: kept
  };
  const Positions pos = {{"x1", 7}, {"w1", 12}, {"y1", 2}, {"x2", 3}, {"w2", 2},  {"y2", 8},
                         {"x3", 0}, {"w3", 20}, {"y3", 1}, {"x4", 6}, {"w4", 10}, {"y4", 0}};
  const PosRefinement r = RefineNpuPositions(nodes, pos, Only(&NpuPositionOptions::shift_cut));
  EXPECT_EQ(r.pos.at("w1"), 11);
  EXPECT_EQ(r.pos.at("w2"), 5);
  EXPECT_EQ(r.pos.at("w3"), 17);
  EXPECT_EQ(r.pos.at("w4"), 10);
  EXPECT_EQ(Describe(r.adjustments),
            (std::vector<std::string>{"AdjustShiftCut high w1 12->11 @1", "AdjustShiftCut low w2 2->5 @1",
                                      "AdjustShiftCut transposed w3 20->17 @1"}));
  EXPECT_EQ(r.loops, 2);
  EXPECT_TRUE(r.converged);
}

TEST(NpuPositionsTest, ShiftBiasMovesTheBiasIntoItsRange) {
  // x 6, w 8, y 4: shift_cut = 10, lower bound min(0, -(24 - (8 + 10))) = -6; w + i = 14.
  PosNode leaky = ConvNode("leaky", "Conv", "x", "w", "b3", "y");
  leaky.feeds_leaky_relu = true;
  const std::vector<PosNode> nodes = {
      ConvNode("below", "Conv", "x", "w", "b1", "y"),                // b 22: 14 - 22 = -8 < -6: b = 14 + 6 = 20
      ConvNode("above", "Gemm", "x", "w", "b2", "y"),                // b -2: 14 + 2 = 16 > 15: b = 14 - 15 = -1
      leaky,                                                         // b 17: 14 - 17 = -3 < 0 (LeakyRelu): b = 14
      ConvNode("inside", "Conv", "x", "w", "b4", "y"),               // b 20: -6 is the bound itself: kept
      ConvNode("transposed", "ConvTranspose", "x", "w", "b5", "y"),  // not a bias rule op: kept
  };
  const Positions pos = {{"x", 6}, {"w", 8}, {"y", 4}, {"b1", 22}, {"b2", -2}, {"b3", 17}, {"b4", 20}, {"b5", 30}};
  const PosRefinement r = RefineNpuPositions(nodes, pos, Only(&NpuPositionOptions::shift_bias));
  EXPECT_EQ(r.pos.at("b1"), 20);
  EXPECT_EQ(r.pos.at("b2"), -1);
  EXPECT_EQ(r.pos.at("b3"), 14);
  EXPECT_EQ(r.pos.at("b4"), 20);
  EXPECT_EQ(r.pos.at("b5"), 30);
  EXPECT_EQ(r.adjustments.size(), 3U);
  EXPECT_TRUE(r.converged);
}

TEST(NpuPositionsTest, ShiftBiasLowerBoundIsZeroWhenShiftCutExceedsSixteen) {
  // Shift cut off: x 7, w 12, y 2 gives shift_cut 17 and min(0, -(24 - 25)) = 0; b 20: 19 - 20 = -1 -> b 19.
  const std::vector<PosNode> nodes = {ConvNode("c", "Conv", "x", "w", "b", "y")};
  const PosRefinement r =
      RefineNpuPositions(nodes, {{"x", 7}, {"w", 12}, {"y", 2}, {"b", 20}}, Only(&NpuPositionOptions::shift_bias));
  EXPECT_EQ(r.pos.at("b"), 19);
  EXPECT_EQ(r.pos.at("w"), 12);
}

TEST(NpuPositionsTest, ShiftCutThenShiftBiasInOneRound) {
  // Cut first: 12 + 7 - 2 = 17 -> w 11, shift_cut 16, bias bound min(0, 0) = 0 with w + i = 18.
  // Bias b 20: 18 - 20 = -2 < 0 -> b 18. Had the bias rule read w 12, it would have given b 19.
  const std::vector<PosNode> nodes = {ConvNode("c", "Conv", "x", "w", "b", "y")};
  const PosRefinement r = RefineNpuPositions(nodes, {{"x", 7}, {"w", 12}, {"y", 2}, {"b", 20}});
  EXPECT_EQ(r.pos.at("w"), 11);
  EXPECT_EQ(r.pos.at("b"), 18);
  EXPECT_EQ(Describe(r.adjustments),
            (std::vector<std::string>{"AdjustShiftCut c w 12->11 @1", "AdjustShiftBias c b 20->18 @1"}));
}

TEST(NpuPositionsTest, ShiftReadLowersTheLargestInput) {
  // Add and Sub in list order.
  const std::vector<PosNode> nodes = {
      Node("sub", "Sub", {"c", "d"}, "z"),   // 1 - 12: d = 1 + 7 = 8
      Node("add", "Add", {"a", "b"}, "y"),   // 10 - 2 = 8 > 7: a = 2 + 7 = 9
      Node("near", "Add", {"e", "f"}, "u"),  // 7 apart: kept
  };
  const Positions pos = {{"a", 10}, {"b", 2}, {"y", 2}, {"c", 1}, {"d", 12}, {"z", 1}, {"e", 0}, {"f", 7}, {"u", 0}};
  const PosRefinement r = RefineNpuPositions(nodes, pos, Only(&NpuPositionOptions::shift_read));
  EXPECT_EQ(Describe(r.adjustments),
            (std::vector<std::string>{"AdjustShiftRead sub d 12->8 @1", "AdjustShiftRead add a 10->9 @1"}));
  EXPECT_EQ(r.pos.at("b"), 2);
  EXPECT_EQ(r.pos.at("c"), 1);
}

TEST(NpuPositionsTest, ShiftWriteClampsTheOutputOfAddAndMul) {
  const std::vector<PosNode> nodes = {
      Node("add_low", "Add", {"a1", "a2"}, "o1"),   // min 5 - 13 = -8 < -7: o = 5 + 7 = 12
      Node("add_high", "Add", {"a3", "a4"}, "o2"),  // min 30 - 4 = 26 > 25: o = 30 - 25 = 5
      Node("mul_high", "Mul", {"m1", "m2"}, "o3"),  // 10 + 12 + 11 = 33 > 32: o = 22 - 32 = -10
      Node("mul_low", "Mul", {"m3", "m4"}, "o4"),   // 4 + 6 - 11 = -1 < 0: o = 10
      Node("sub", "Sub", {"a1", "a2"}, "o5"),       // Sub has no write rule: kept
  };
  const Positions pos = {{"a1", 5},  {"a2", 6},   {"o1", 13}, {"a3", 30}, {"a4", 31}, {"o2", 4}, {"m1", 10},
                         {"m2", 12}, {"o3", -11}, {"m3", 4},  {"m4", 6},  {"o4", 11}, {"o5", 40}};
  const PosRefinement r = RefineNpuPositions(nodes, pos, Only(&NpuPositionOptions::shift_write));
  EXPECT_EQ(r.pos.at("o1"), 12);
  EXPECT_EQ(r.pos.at("o2"), 5);
  EXPECT_EQ(r.pos.at("o3"), -10);
  EXPECT_EQ(r.pos.at("o4"), 10);
  EXPECT_EQ(r.pos.at("o5"), 40);
  EXPECT_EQ(r.adjustments.size(), 4U);
}

TEST(NpuPositionsTest, HardSigmoidClampsInputThenOutput) {
  const std::vector<PosNode> nodes = {
      Node("too_fine", "HardSigmoid", {"i1"}, "o1"),  // i 17 -> 15; o 3 -> 7
      Node("negative", "HardSigmoid", {"i2"}, "o2"),  // i -2 -> 0; o 20 > 14 + 0 -> 14
      Node("shift", "HardSigmoid", {"i3"}, "o3"),     // i 4; o 20: 14 + 4 - 20 = -2 -> o 18
      Node("fine", "HardSigmoid", {"i4"}, "o4"),      // i 15, o 29: 14 + 15 - 29 = 0: kept
  };
  const Positions pos = {{"i1", 17}, {"o1", 3}, {"i2", -2}, {"o2", 20}, {"i3", 4}, {"o3", 20}, {"i4", 15}, {"o4", 29}};
  const PosRefinement r = RefineNpuPositions(nodes, pos, Only(&NpuPositionOptions::hard_sigmoid));
  EXPECT_EQ(Describe(r.adjustments), (std::vector<std::string>{
                                         "AdjustHardSigmoid too_fine i1 17->15 @1",
                                         "AdjustHardSigmoid too_fine o1 3->7 @1",
                                         "AdjustHardSigmoid negative i2 -2->0 @1",
                                         "AdjustHardSigmoid negative o2 20->14 @1",
                                         "AdjustHardSigmoid shift o3 20->18 @1",
                                     }));
}

TEST(NpuPositionsTest, ShiftSwishClampsTheMulOutput) {
  // h = HardSigmoid(x) at 7 (within its own rule: 14 + 6 - 7 = 13).
  const std::vector<PosNode> nodes = {
      Node("hs", "HardSigmoid", {"x"}, "h"),
      Node("swish", "Mul", {"x", "h"}, "y"),      // 6 + 7 + 3 = 16 > 15: y = 13 - 15 = -2
      Node("swapped", "Mul", {"h", "x"}, "z"),    // 6 + 7 - 14 = -1 < 0: z = 13
      Node("not_swish", "Mul", {"u", "h"}, "v"),  // h is no HardSigmoid of u: kept
  };
  const Positions pos = {{"x", 6}, {"h", 7}, {"y", -3}, {"z", 14}, {"u", 6}, {"v", -3}};
  const PosRefinement r = RefineNpuPositions(nodes, pos, Only(&NpuPositionOptions::shift_swish));
  EXPECT_EQ(Describe(r.adjustments),
            (std::vector<std::string>{"AdjustShiftSwish swish y -3->-2 @1", "AdjustShiftSwish swapped z 14->13 @1"}));
  EXPECT_EQ(r.pos.at("v"), -3);
}

TEST(NpuPositionsTest, AlignConcatTakesTheSmallestPosition) {
  const std::vector<PosNode> nodes = {Node("cat", "Concat", {"a", "b", "c"}, "y")};
  const PosRefinement r =
      RefineNpuPositions(nodes, {{"a", 5}, {"b", 3}, {"c", 7}, {"y", 4}}, Only(&NpuPositionOptions::align_concat));
  EXPECT_EQ(r.pos, (Positions{{"a", 3}, {"b", 3}, {"c", 3}, {"y", 3}}));
  EXPECT_EQ(Describe(r.adjustments), (std::vector<std::string>{"AlignConcat cat a 5->3 @1", "AlignConcat cat c 7->3 @1",
                                                               "AlignConcat cat y 4->3 @1"}));
}

TEST(NpuPositionsTest, APinnedTensorNeverMovesAndItsRuleIsHeld) {
  // Concat of a (5), b (3, pinned), y (4): a and y go to 3, b stays. MaxPool c (7, pinned) -> d (5)
  // asks c to lower to 5: held, and the rule stays broken, so the refinement does not converge.
  const std::vector<PosNode> nodes = {Node("cat", "Concat", {"a", "b"}, "y"), Node("max", "MaxPool", {"c"}, "d")};
  NpuPositionOptions options = Only(&NpuPositionOptions::align_concat);
  options.align_pool = true;
  const PosRefinement r =
      RefineNpuPositions(nodes, {{"a", 5}, {"b", 3}, {"y", 4}, {"c", 7}, {"d", 5}}, options, {"b", "c"});
  EXPECT_EQ(r.pos, (Positions{{"a", 3}, {"b", 3}, {"y", 3}, {"c", 7}, {"d", 5}}));
  EXPECT_EQ(Describe(r.adjustments),
            (std::vector<std::string>{"AlignConcat cat a 5->3 @1", "AlignConcat cat y 4->3 @1"}));
  // Asked in every round, recorded once.
  EXPECT_EQ(Describe(r.held), (std::vector<std::string>{"AlignPool max c 7->5 @1"}));
  EXPECT_FALSE(r.converged);
  EXPECT_EQ(r.loops, 2);
  // Pinned where no rule asks a move: converged, nothing held.
  const PosRefinement quiet =
      RefineNpuPositions(nodes, {{"a", 3}, {"b", 3}, {"y", 3}, {"c", 5}, {"d", 5}}, options, {"b", "c"});
  EXPECT_TRUE(quiet.converged);
  EXPECT_TRUE(quiet.held.empty());
}

TEST(NpuPositionsTest, PoolPadAndSliceLowerTheLargerSide) {
  const std::vector<PosNode> nodes = {
      Node("max", "MaxPool", {"a"}, "b"),              // 5, 7: output -> 5
      Node("avg", "AveragePool", {"c"}, "d"),          // 7, 5: input -> 5
      Node("gap", "GlobalAveragePool", {"e"}, "f"),    // 2, 3: output -> 2
      Node("pad", "Pad", {"g", ""}, "h"),              // 6, 4: input -> 4; pads not quantized
      Node("slice", "Slice", {"i", "", "", ""}, "j"),  // 1, 9: output -> 1
  };
  const Positions pos = {{"a", 5}, {"b", 7}, {"c", 7}, {"d", 5}, {"e", 2},
                         {"f", 3}, {"g", 6}, {"h", 4}, {"i", 1}, {"j", 9}};
  NpuPositionOptions options = Only(&NpuPositionOptions::align_pool);
  options.align_pad = true;
  options.align_slice = true;
  const PosRefinement r = RefineNpuPositions(nodes, pos, options);
  EXPECT_EQ(Describe(r.adjustments),
            (std::vector<std::string>{"AlignPool max b 7->5 @1", "AlignPool avg c 7->5 @1", "AlignPool gap f 3->2 @1",
                                      "AlignPad pad g 6->4 @1", "AlignSlice slice j 9->1 @1"}));
}

TEST(NpuPositionsTest, ARoundRunsTheRulesInTheReferenceOrder) {
  // One independent violation per rule, the nodes listed in the reverse of the rule order: the moves
  // come out in rule order, each rule over all nodes before the next.
  const std::vector<PosNode> nodes = {
      Node("hs", "HardSigmoid", {"xs"}, "hs_out"),
      Node("swish", "Mul", {"xs", "hs_out"}, "ys"),        // 6 + 7 + 3 = 16: ys -3 -> -2
      Node("sigmoid", "HardSigmoid", {"ih"}, "oh"),        // ih 17 -> 15, oh 3 -> 7
      ConvNode("biased", "Conv", "xb", "wb", "bb", "yb"),  // cut 10; bias 14 - 22 < -6: bb 22 -> 20
      ConvNode("cut", "Conv", "xc", "wc", "", "yc"),       // 12 + 7 - 2 = 17: wc 12 -> 11
      Node("add_write", "Add", {"aw1", "aw2"}, "ow"),      // 5 - 13 = -8: ow 13 -> 12
      Node("add_read", "Add", {"ar1", "ar2"}, "or"),       // 10 - 2 = 8: ar1 10 -> 9
      Node("slice", "Slice", {"si"}, "so"),                // so 7 -> 5
      Node("pad", "Pad", {"pi"}, "po"),                    // pi 7 -> 5
      Node("pool", "MaxPool", {"mi"}, "mo"),               // mo 8 -> 6
      Node("cat", "Concat", {"c1", "c2"}, "co"),           // c1 5 -> 3, co 4 -> 3
  };
  const Positions pos = {{"xs", 6},  {"hs_out", 7}, {"ys", -3}, {"ih", 17}, {"oh", 3}, {"xb", 6},  {"wb", 8},
                         {"bb", 22}, {"yb", 4},     {"xc", 7},  {"wc", 12}, {"yc", 2}, {"aw1", 5}, {"aw2", 6},
                         {"ow", 13}, {"ar1", 10},   {"ar2", 2}, {"or", 2},  {"si", 5}, {"so", 7},  {"pi", 7},
                         {"po", 5},  {"mi", 6},     {"mo", 8},  {"c1", 5},  {"c2", 3}, {"co", 4}};
  const PosRefinement r = RefineNpuPositions(nodes, pos);
  EXPECT_EQ(Describe(r.adjustments), (std::vector<std::string>{
                                         "AlignConcat cat c1 5->3 @1",
                                         "AlignConcat cat co 4->3 @1",
                                         "AlignPool pool mo 8->6 @1",
                                         "AlignPad pad pi 7->5 @1",
                                         "AlignSlice slice so 7->5 @1",
                                         "AdjustShiftRead add_read ar1 10->9 @1",
                                         "AdjustShiftWrite add_write ow 13->12 @1",
                                         "AdjustShiftCut cut wc 12->11 @1",
                                         "AdjustShiftBias biased bb 22->20 @1",
                                         "AdjustHardSigmoid sigmoid ih 17->15 @1",
                                         "AdjustHardSigmoid sigmoid oh 3->7 @1",
                                         "AdjustShiftSwish swish ys -3->-2 @1",
                                     }));
  EXPECT_EQ(r.loops, 2);  // the second round finds nothing
  EXPECT_TRUE(r.converged);
}

TEST(NpuPositionsTest, AConcatEarlierInTheRoundSavesTheShiftCut) {
  // Concat(x, z) lowers x 7 -> 5 before the cut is read: 12 + 5 - 2 = 15, the weight stays.
  const std::vector<PosNode> nodes = {ConvNode("conv", "Conv", "x", "w", "", "y"),
                                      Node("cat", "Concat", {"x", "z"}, "q")};
  const PosRefinement r = RefineNpuPositions(nodes, {{"x", 7}, {"w", 12}, {"y", 2}, {"z", 5}, {"q", 5}});
  EXPECT_EQ(r.pos.at("w"), 12);
  EXPECT_EQ(Describe(r.adjustments), (std::vector<std::string>{"AlignConcat cat x 7->5 @1"}));
}

// Add(a 5, b 6) -> t 13 -> Concat(t, u 13) -> v 13. Round 1: the concat holds, then shift_write moves
// t to 5 + 7 = 12, which breaks the concat; round 2 aligns u and v to 12; round 3 finds nothing.
std::vector<PosNode> WriteThenConcat() {
  return {Node("add", "Add", {"a", "b"}, "t"), Node("cat", "Concat", {"t", "u"}, "v")};
}
const Positions kWriteThenConcat = {{"a", 5}, {"b", 6}, {"t", 13}, {"u", 13}, {"v", 13}};

TEST(NpuPositionsTest, AMoveThatBreaksAnEarlierRuleIsFixedInTheNextRound) {
  const PosRefinement r = RefineNpuPositions(WriteThenConcat(), kWriteThenConcat);
  EXPECT_EQ(Describe(r.adjustments),
            (std::vector<std::string>{"AdjustShiftWrite add t 13->12 @1", "AlignConcat cat u 13->12 @2",
                                      "AlignConcat cat v 13->12 @2"}));
  EXPECT_EQ(r.pos, (Positions{{"a", 5}, {"b", 6}, {"t", 12}, {"u", 12}, {"v", 12}}));
  EXPECT_EQ(r.loops, 3);
  EXPECT_TRUE(r.converged);
}

TEST(NpuPositionsTest, MaxLoopsIsRespected) {
  const PosRefinement one = RefineNpuPositions(WriteThenConcat(), kWriteThenConcat, {.max_loops = 1});
  EXPECT_EQ(one.loops, 1);
  EXPECT_FALSE(one.converged);  // the concat is left broken
  EXPECT_EQ(one.pos.at("t"), 12);
  EXPECT_EQ(one.pos.at("u"), 13);
  EXPECT_EQ(one.adjustments.size(), 1U);

  // Two rounds fix everything; no third round is run to find that out.
  const PosRefinement two = RefineNpuPositions(WriteThenConcat(), kWriteThenConcat, {.max_loops = 2});
  EXPECT_EQ(two.loops, 2);
  EXPECT_TRUE(two.converged);
  EXPECT_EQ(two.pos.at("u"), 12);

  const PosRefinement none = RefineNpuPositions(WriteThenConcat(), kWriteThenConcat, {.max_loops = 0});
  EXPECT_EQ(none.loops, 0);
  EXPECT_FALSE(none.converged);
  EXPECT_EQ(none.pos, kWriteThenConcat);
  EXPECT_TRUE(none.adjustments.empty());
}

TEST(NpuPositionsTest, RulesThatUndoEachOtherStopAtMaxLoops) {
  // MaxPool(a -1) -> b -1 -> HardSigmoid -> c 7. Every round HardSigmoid raises b to 0 and the next
  // round's AlignPool lowers it back to a's -1.
  const std::vector<PosNode> nodes = {Node("pool", "MaxPool", {"a"}, "b"), Node("hs", "HardSigmoid", {"b"}, "c")};
  const PosRefinement r = RefineNpuPositions(nodes, {{"a", -1}, {"b", -1}, {"c", 7}});
  EXPECT_EQ(r.loops, 5);
  EXPECT_FALSE(r.converged);
  ASSERT_EQ(r.adjustments.size(), 9U);  // 1 in round 1, then 2 a round
  EXPECT_EQ(Describe(r.adjustments[0]), "AdjustHardSigmoid hs b -1->0 @1");
  EXPECT_EQ(Describe(r.adjustments[1]), "AlignPool pool b 0->-1 @2");
  EXPECT_EQ(Describe(r.adjustments[8]), "AdjustHardSigmoid hs b -1->0 @5");
  EXPECT_EQ(r.pos.at("b"), 0);
}

TEST(NpuPositionsTest, ARuleSwitchedOffLeavesItsViolation) {
  const std::vector<PosNode> nodes = {ConvNode("conv", "Conv", "x", "w", "", "y"),
                                      Node("cat", "Concat", {"a", "b"}, "q")};
  const Positions pos = {{"x", 7}, {"w", 12}, {"y", 2}, {"a", 5}, {"b", 3}, {"q", 3}};
  NpuPositionOptions options;
  options.shift_cut = false;
  const PosRefinement r = RefineNpuPositions(nodes, pos, options);
  EXPECT_EQ(r.pos.at("w"), 12);  // 12 + 7 - 2 = 17 stays
  EXPECT_EQ(Describe(r.adjustments), (std::vector<std::string>{"AlignConcat cat a 5->3 @1"}));
  EXPECT_TRUE(r.converged);  // of the enabled rules

  options.shift_cut = true;
  options.align_concat = false;
  const PosRefinement other = RefineNpuPositions(nodes, pos, options);
  EXPECT_EQ(other.pos.at("a"), 5);
  EXPECT_EQ(Describe(other.adjustments), (std::vector<std::string>{"AdjustShiftCut conv w 12->11 @1"}));
}

TEST(NpuPositionsTest, NodesWithMissingPositionsAreSkipped) {
  // Every node below would break its rule, but one tensor it needs has no position.
  const std::vector<PosNode> nodes = {
      ConvNode("no_weight", "Conv", "x", "w_missing", "", "y"),  // would be 12 + 7 - 2 with w 12
      ConvNode("no_bias", "Conv", "x2", "w2", "b_missing", "y2"),
      Node("cat", "Concat", {"a", ""}, "q"),        // an input not quantized
      Node("add", "Add", {"c", "d_missing"}, "r"),  // shift_read and shift_write both need d
      Node("pool", "MaxPool", {"e"}, ""),           // output not quantized
      Node("hs", "HardSigmoid", {"f"}, "g_missing"),
      Node("conv_no_input", "Conv", {}, "y3"),
  };
  const Positions pos = {{"x", 7}, {"y", 2},  {"x2", 0}, {"w2", 10}, {"y2", 0}, {"a", 9},
                         {"q", 1}, {"c", 30}, {"r", 0},  {"e", 4},   {"f", 20}, {"y3", 1}};
  const PosRefinement r = RefineNpuPositions(nodes, pos);
  EXPECT_TRUE(r.adjustments.empty());
  EXPECT_EQ(r.pos, pos);
  EXPECT_EQ(r.loops, 1);
  EXPECT_TRUE(r.converged);
}

TEST(NpuPositionsTest, UnknownOpTypesAreIgnored) {
  const std::vector<PosNode> nodes = {Node("relu", "Relu", {"a"}, "b"), Node("mm", "MatMul", {"a", "c"}, "d")};
  const Positions pos = {{"a", 9}, {"b", 0}, {"c", 20}, {"d", -30}};
  const PosRefinement r = RefineNpuPositions(nodes, pos);
  EXPECT_EQ(r.pos, pos);
  EXPECT_TRUE(r.converged);
}

}  // namespace
}  // namespace onnxq
