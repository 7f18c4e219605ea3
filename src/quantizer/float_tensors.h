// Activations to keep in float because their integer type cannot hold them usefully: found from the
// calibration statistics, before any parameter is decided, so the nodes that read or write them stay
// float (with the reason in the report) and the model stays faithful.
//
//   - a range with a non-finite end: an additive -inf attention mask, an overflow. Quantizing it
//     would clip -inf to the grid's minimum and un-mask what the mask hides.
//   - a tensor from which value-preserving ops lead into an op that amplifies relative error (Log,
//     Reciprocal, a Div's divisor), when its relative SQNR on its grid is below
//     kMinRelativeSqnrDb (algorithms/relative_error.h): a power spectrum before Log.
//   - the input of a LayerNormalization whose rows (the normalized values of one token) spread less
//     than its grid resolves, by the same measure over the rows' standard deviations: the residual
//     stream of a Vision Transformer, whose class token is a row of ~0.02 beside rows of ~7.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "algorithms/relative_error.h"
#include "ir/graph_view.h"
#include "onnxq/calibrate.h"
#include "onnxq/options.h"

namespace onnxq {

inline constexpr double kMinRelativeSqnrDb = 20.0;

// Those of `calibrated` that need a magnitude histogram, with its row size (MagnitudeRequest): those
// reaching Log (0) or a divisor (Reciprocal, Div's input 1: 1) through ops that carry small values on
// (Clip, Relu, MatMul, Add, Mul, Pow, Sqrt, data movement ...); LayerNormalization inputs with the
// normalized size, when known.
std::map<std::string, size_t> TensorsAheadOfRelativeErrorOps(const GraphView& graph,
                                                             const std::vector<std::string>& calibrated);

// Tensor -> why it stays float. `rows`: the row sizes the histograms were counted with.
std::map<std::string, std::string> FloatTensors(const std::map<std::string, TensorRange>& ranges,
                                                const std::map<std::string, MagnitudeHistogram>& magnitudes,
                                                const std::map<std::string, size_t>& rows,
                                                const QuantizeOptions& options);

}  // namespace onnxq
