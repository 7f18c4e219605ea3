// The layer report as text, JSON and one HTML page (onnxq/layer_report.h). The page is plain HTML with
// inline CSS and SVG: it opens from a file without network access and runs no script.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "onnxq/layer_report.h"
#include "onnxq/model_io.h"

namespace onnxq {
namespace {

// `value` with `decimals` decimals; "inf", "-inf" or "n/a" (NaN) when not finite.
std::string Fixed(double value, int decimals) {
  if (std::isnan(value)) return "n/a";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", decimals, value);
  return text;
}

// Four significant digits: scales span many decades.
std::string Significant(double value) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.4g", value);
  return text;
}

// Two decimals; small nonzero fractions with two significant digits, so that one clipped value in a
// million does not read as none.
std::string Percent(double fraction) {
  if (fraction > 0 && fraction < 1e-4) {
    char text[64];
    std::snprintf(text, sizeof(text), "%.2g%%", 100.0 * fraction);
    return text;
  }
  return Fixed(100.0 * fraction, 2) + "%";
}

std::string Sensitivity(const ActivationError& a) { return a.sensitivity_db ? Fixed(*a.sensitivity_db, 1) : "-"; }

std::string Padded(std::string_view text, size_t width, bool left) {
  const std::string pad(width > text.size() ? width - text.size() : 0, ' ');
  return left ? std::string(text) + pad : pad + std::string(text);
}

// Rows of cells as aligned columns; `left` says which columns are text (left-aligned).
std::string Columns(const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& left) {
  std::vector<size_t> widths(left.size(), 0);
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size() && c < widths.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  std::string text;
  for (const auto& row : rows) {
    std::string line = "    ";
    for (size_t c = 0; c < row.size() && c < widths.size(); ++c) {
      // The last column is not padded: no trailing spaces.
      line += (c == 0 ? "" : "  ") + (c + 1 == row.size() && left[c] ? row[c] : Padded(row[c], widths[c], left[c]));
    }
    text += line + "\n";
  }
  return text;
}

nlohmann::ordered_json Number(double value) {
  return std::isfinite(value) ? nlohmann::ordered_json(value) : nlohmann::ordered_json(nullptr);
}

std::string Escaped(std::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// SVG coordinates with one decimal.
std::string Coord(double value) { return Fixed(value, 1); }

// The SQNR of each activation against its position in the float graph, as a line through the points
// in graph order. Infinite SQNRs sit on the top edge.
std::string SqnrPlot(const LayerReport& report) {
  std::vector<const ActivationError*> points;
  for (const auto& a : report.activations) points.push_back(&a);
  std::ranges::stable_sort(
      points, [](const ActivationError* a, const ActivationError* b) { return a->graph_index < b->graph_index; });
  constexpr double kWidth = 1100;
  constexpr double kHeight = 320;
  constexpr double kLeft = 60;
  constexpr double kRight = 20;
  constexpr double kTop = 20;
  constexpr double kBottom = 40;
  double top = 10;
  double bottom = 0;
  for (const auto* a : points) {
    if (std::isfinite(a->sqnr_db)) {
      top = std::max(top, a->sqnr_db);
      bottom = std::min(bottom, a->sqnr_db);
    }
  }
  top = std::ceil(top / 10) * 10;
  bottom = std::floor(bottom / 10) * 10;
  const double first = points.empty() ? 0 : static_cast<double>(points.front()->graph_index);
  const double last = points.empty() ? 1 : std::max(first + 1, static_cast<double>(points.back()->graph_index));
  const auto x_of = [&](double index) { return kLeft + (index - first) / (last - first) * (kWidth - kLeft - kRight); };
  const auto y_of = [&](double db) {
    if (std::isnan(db)) db = bottom;
    db = std::clamp(db, bottom, top);
    return kTop + (top - db) / (top - bottom) * (kHeight - kTop - kBottom);
  };
  std::ostringstream svg;
  svg << "<svg id='sqnr-plot' class='plot' xmlns='http://www.w3.org/2000/svg' width='" << kWidth << "' height='"
      << kHeight << "' viewBox='0 0 " << kWidth << " " << kHeight << "'>\n";
  svg << "<title>Activation SQNR (dB) in graph order</title>\n";
  for (double db = bottom; db <= top + 1e-9; db += 10) {
    const double y = y_of(db);
    svg << "<line class='grid' x1='" << kLeft << "' x2='" << kWidth - kRight << "' y1='" << Coord(y) << "' y2='"
        << Coord(y) << "'/><text class='tick' x='" << kLeft - 6 << "' y='" << Coord(y + 4) << "' text-anchor='end'>"
        << Fixed(db, 0) << "</text>\n";
  }
  svg << "<text class='axis' x='" << (kWidth + kLeft) / 2 << "' y='" << kHeight - 6
      << "' text-anchor='middle'>position in the float graph (node index)</text>\n";
  svg << "<text class='axis' x='14' y='" << kHeight / 2 << "' text-anchor='middle' transform='rotate(-90 14 "
      << kHeight / 2 << ")'>SQNR (dB)</text>\n";
  svg << "<text class='tick' x='" << kLeft << "' y='" << kHeight - 24 << "'>" << Fixed(first, 0)
      << "</text><text class='tick' x='" << kWidth - kRight << "' y='" << kHeight - 24 << "' text-anchor='end'>"
      << Fixed(last, 0) << "</text>\n";
  if (!points.empty()) {
    svg << "<polyline class='line' points='";
    for (const auto* a : points) {
      svg << Coord(x_of(static_cast<double>(a->graph_index))) << "," << Coord(y_of(a->sqnr_db)) << " ";
    }
    svg << "'/>\n";
  }
  for (const auto* a : points) {
    svg << "<circle class='point" << (a->sqnr_db < 15 ? " low" : "") << "' cx='"
        << Coord(x_of(static_cast<double>(a->graph_index))) << "' cy='" << Coord(y_of(a->sqnr_db)) << "' r='3'><title>"
        << Escaped(a->tensor) << " (" << Escaped(a->producer_op) << "): " << Fixed(a->sqnr_db, 1)
        << " dB</title></circle>\n";
  }
  svg << "</svg>\n";
  return svg.str();
}

// One activation's histogram: bars over [lo, hi], the quantized range marked, the parts outside it
// shaded as clipped.
std::string HistogramSvg(const ActivationError& a) {
  constexpr double kWidth = 320;
  constexpr double kHeight = 120;
  constexpr double kPlotTop = 8;
  constexpr double kPlotBottom = 96;
  const auto& h = a.histogram;
  const double peak = h.counts.empty() ? 1 : std::max(1.0, *std::ranges::max_element(h.counts));
  const double span = h.hi > h.lo ? h.hi - h.lo : 1;
  const auto x_of = [&](double v) { return std::clamp((v - h.lo) / span, 0.0, 1.0) * kWidth; };
  std::ostringstream svg;
  svg << "<svg class='histogram' xmlns='http://www.w3.org/2000/svg' width='" << kWidth << "' height='" << kHeight
      << "' viewBox='0 0 " << kWidth << " " << kHeight << "'>";
  const double range_lo = x_of(a.range_min);
  const double range_hi = x_of(a.range_max);
  svg << "<rect class='clipzone' x='0' y='" << kPlotTop << "' width='" << Coord(range_lo) << "' height='"
      << kPlotBottom - kPlotTop << "'/>";
  svg << "<rect class='clipzone' x='" << Coord(range_hi) << "' y='" << kPlotTop << "' width='"
      << Coord(kWidth - range_hi) << "' height='" << kPlotBottom - kPlotTop << "'/>";
  const double bar = h.counts.empty() ? 0 : kWidth / static_cast<double>(h.counts.size());
  for (size_t i = 0; i < h.counts.size(); ++i) {
    if (h.counts[i] <= 0) continue;
    // Square-root heights, so that the tails stay visible beside the peak.
    const double height = std::max(1.0, std::sqrt(h.counts[i] / peak) * (kPlotBottom - kPlotTop));
    svg << "<rect class='bar' x='" << Coord(bar * static_cast<double>(i)) << "' y='" << Coord(kPlotBottom - height)
        << "' width='" << Coord(std::max(bar - 0.5, 0.5)) << "' height='" << Coord(height) << "'/>";
  }
  for (const double x : {range_lo, range_hi}) {
    svg << "<line class='range' x1='" << Coord(x) << "' x2='" << Coord(x) << "' y1='" << kPlotTop << "' y2='"
        << kPlotBottom << "'/>";
  }
  svg << "<text class='tick' x='2' y='" << kHeight - 8 << "'>" << Significant(h.lo) << "</text><text class='tick' x='"
      << kWidth - 2 << "' y='" << kHeight - 8 << "' text-anchor='end'>" << Significant(h.hi) << "</text>";
  svg << "</svg>";
  return svg.str();
}

constexpr std::string_view kStyle = R"(
body { font-family: sans-serif; margin: 24px; color: #222; background: #fff; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; }
p.meta { color: #555; margin: 2px 0; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: right; white-space: nowrap; }
th { background: #eef; position: sticky; top: 0; }
td.name, th.name { text-align: left; font-family: monospace; white-space: normal; overflow-wrap: anywhere; }
tr.low td { background: #fde8e8; }
svg.plot { border: 1px solid #ccc; background: #fcfcff; }
.grid { stroke: #ddd; stroke-width: 1; }
.tick { font-size: 11px; fill: #555; }
.axis { font-size: 12px; fill: #333; }
.line { fill: none; stroke: #36c; stroke-width: 1.5; }
.point { fill: #36c; } .point.low { fill: #c33; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { border: 1px solid #ccc; padding: 6px; width: 322px; font-size: 12px; }
.card .title { font-family: monospace; overflow-wrap: anywhere; }
svg.histogram { display: block; background: #fafafa; }
.bar { fill: #4a7; } .clipzone { fill: #f3d0d0; } .range { stroke: #c33; stroke-width: 1.5; }
)";

}  // namespace

LayerReportFormat LayerReportFormatOf(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::ranges::transform(ext, ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == ".html" || ext == ".htm") return LayerReportFormat::kHtml;
  if (ext == ".json") return LayerReportFormat::kJson;
  return LayerReportFormat::kText;
}

std::string LayerReportText(const LayerReport& report, const LayerReportTitle& title) {
  std::string text = "onnxq report: " + title.float_model + " vs " + title.quantized_model + " on " +
                     std::to_string(report.samples) + (report.samples == 1 ? " sample" : " samples") +
                     (title.data.empty() ? "" : " of " + title.data) + "\n";
  text += "  model outputs\n";
  for (const auto& o : report.outputs) {
    text += "    " + o.output + "  " + Fixed(o.sqnr_db, 1) + " dB, cosine " + Fixed(o.cosine, 4) + "\n";
  }
  text += "  activations, worst SQNR first (" + std::to_string(report.activations.size()) +
          "; sensitivity: the worst output's SQNR with only that tensor quantized, weights float)\n";
  std::vector<std::vector<std::string>> rows = {
      {"#", "SQNR dB", "cosine", "sens. dB", "clipped", "type", "scale", "zp", "range", "op", "node#", "tensor"}};
  for (size_t i = 0; i < report.activations.size(); ++i) {
    const ActivationError& a = report.activations[i];
    rows.push_back({std::to_string(i + 1), Fixed(a.sqnr_db, 1), Fixed(a.cosine, 4), Sensitivity(a),
                    Percent(a.clipped_fraction), a.quant_type, Significant(a.scale), std::to_string(a.zero_point),
                    "[" + Significant(a.range_min) + ", " + Significant(a.range_max) + "]", a.producer_op,
                    std::to_string(a.graph_index), a.tensor});
  }
  text += Columns(rows, {false, false, false, false, false, true, false, false, false, true, false, true});
  text += "  weights, worst SQNR first (" + std::to_string(report.weights.size()) +
          "; the int32 biases last: they also differ by any bias correction folded into them)\n";
  std::vector<std::vector<std::string>> weight_rows = {{"#", "SQNR dB", "cosine", "type", "scales", "op", "tensor"}};
  for (size_t i = 0; i < report.weights.size(); ++i) {
    const WeightError& w = report.weights[i];
    weight_rows.push_back({std::to_string(i + 1), Fixed(w.sqnr_db, 1), Fixed(w.cosine, 5), w.quant_type,
                           w.channels == 1 ? "tensor" : std::to_string(w.channels) + " @" + std::to_string(w.axis),
                           w.consumer_op, w.tensor});
  }
  text += Columns(weight_rows, {false, false, false, true, false, true, true});
  if (!report.unmatched.empty()) {
    text += "  not in the float model (" + std::to_string(report.unmatched.size()) + "):";
    for (const auto& name : report.unmatched) text += " " + name;
    text += "\n";
  }
  return text;
}

std::string LayerReportJson(const LayerReport& report, const LayerReportTitle& title) {
  nlohmann::ordered_json json = {
      {"command", "report"}, {"float_model", title.float_model}, {"quantized_model", title.quantized_model},
      {"data", title.data},  {"samples", report.samples},        {"sensitivity_weights", "float"}};
  json["outputs"] = nlohmann::ordered_json::array();
  for (const auto& o : report.outputs) {
    json["outputs"].push_back(
        {{"output", o.output}, {"sqnr_db", Number(o.sqnr_db)}, {"cosine", Number(o.cosine)}, {"values", o.values}});
  }
  json["activations"] = nlohmann::ordered_json::array();
  for (const auto& a : report.activations) {
    json["activations"].push_back(
        {{"tensor", a.tensor},
         {"producer", a.producer},
         {"op", a.producer_op},
         {"graph_index", a.graph_index},
         {"type", a.quant_type},
         {"scale", a.scale},
         {"zero_point", a.zero_point},
         {"range", {Number(a.range_min), Number(a.range_max)}},
         {"sqnr_db", Number(a.sqnr_db)},
         {"cosine", Number(a.cosine)},
         {"sensitivity_db", a.sensitivity_db ? Number(*a.sensitivity_db) : nullptr},
         {"values", a.values},
         {"min", a.min},
         {"max", a.max},
         {"clipped", a.clipped},
         {"clipped_fraction", a.clipped_fraction},
         {"histogram",
          {{"lo", Number(a.histogram.lo)}, {"hi", Number(a.histogram.hi)}, {"counts", a.histogram.counts}}}});
  }
  json["weights"] = nlohmann::ordered_json::array();
  for (const auto& w : report.weights) {
    json["weights"].push_back({{"tensor", w.tensor},
                               {"consumer", w.consumer},
                               {"op", w.consumer_op},
                               {"graph_index", w.graph_index},
                               {"type", w.quant_type},
                               {"channels", w.channels},
                               {"axis", w.axis},
                               {"sqnr_db", Number(w.sqnr_db)},
                               {"cosine", Number(w.cosine)},
                               {"values", w.values}});
  }
  json["unmatched"] = report.unmatched;
  return json.dump(2) + "\n";
}

std::string LayerReportHtml(const LayerReport& report, const LayerReportTitle& title) {
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n<title>onnxq layer report: "
       << Escaped(title.quantized_model) << "</title>\n<style>" << kStyle << "</style>\n</head>\n<body>\n";
  html << "<h1>Per-layer quantization error</h1>\n";
  html << "<p class='meta'>float model: <code>" << Escaped(title.float_model) << "</code></p>\n";
  html << "<p class='meta'>quantized model: <code>" << Escaped(title.quantized_model) << "</code></p>\n";
  html << "<p class='meta'>" << report.samples << (report.samples == 1 ? " sample" : " samples")
       << (title.data.empty() ? "" : " of <code>" + Escaped(title.data) + "</code>") << "</p>\n";
  html << "<h2>Model outputs</h2>\n<table id='outputs'>\n<tr><th>output</th><th>SQNR dB</th><th>cosine</th></tr>\n";
  for (const auto& o : report.outputs) {
    html << "<tr><td class='name'>" << Escaped(o.output) << "</td><td>" << Fixed(o.sqnr_db, 1) << "</td><td>"
         << Fixed(o.cosine, 4) << "</td></tr>\n";
  }
  html << "</table>\n";
  html << "<h2>Activation SQNR through the network</h2>\n" << SqnrPlot(report);
  html << "<h2>Activations, worst SQNR first</h2>\n<p class='meta'>SQNR and cosine: the float model's tensor "
          "against the quantized model's dequantized one. Sensitivity: the worst model output's SQNR with only "
          "that tensor quantized (weights float). Clipped: float values outside the quantized range.</p>\n";
  html << "<table id='activations'>\n<tr><th>#</th><th>SQNR dB</th><th>cosine</th><th>sensitivity dB</th>"
          "<th>clipped</th><th>type</th><th>scale</th><th>zero point</th><th>range</th><th>op</th><th>node #</th>"
          "<th class='name'>tensor</th></tr>\n";
  for (size_t i = 0; i < report.activations.size(); ++i) {
    const ActivationError& a = report.activations[i];
    html << "<tr" << (a.sqnr_db < 15 ? " class='low'" : "") << "><td>" << i + 1 << "</td><td>" << Fixed(a.sqnr_db, 1)
         << "</td><td>" << Fixed(a.cosine, 4) << "</td><td>" << Sensitivity(a) << "</td><td>"
         << Percent(a.clipped_fraction) << "</td><td>" << a.quant_type << "</td><td>" << Significant(a.scale)
         << "</td><td>" << a.zero_point << "</td><td>[" << Significant(a.range_min) << ", " << Significant(a.range_max)
         << "]</td><td>" << Escaped(a.producer_op) << "</td><td>" << a.graph_index
         << "</td><td class='name'><a href='#h" << i + 1 << "'>" << Escaped(a.tensor) << "</a></td></tr>\n";
  }
  html << "</table>\n";
  html << "<h2>Histograms of the float values</h2>\n<p class='meta'>Bars: the float model's values (square-root "
          "heights); red lines: the quantized range; shaded: clipped.</p>\n<div class='cards'>\n";
  for (size_t i = 0; i < report.activations.size(); ++i) {
    const ActivationError& a = report.activations[i];
    html << "<div class='card' id='h" << i + 1 << "'><div class='title'>#" << i + 1 << " " << Escaped(a.tensor)
         << "</div><div>" << Escaped(a.producer_op) << ", " << Fixed(a.sqnr_db, 1) << " dB, clipped "
         << Percent(a.clipped_fraction) << " (" << a.clipped << " of " << a.values << ")</div>" << HistogramSvg(a)
         << "</div>\n";
  }
  html << "</div>\n";
  html << "<h2>Weights, worst SQNR first</h2>\n<p class='meta'>Each quantized initializer against the float "
          "model's; the int32 biases last: they also differ by any bias correction folded into them.</p>\n<table "
          "id='weights'>\n<tr><th>#</th><th>SQNR dB</th><th>cosine</th>"
          "<th>type</th><th>scales</th><th>op</th><th class='name'>tensor</th></tr>\n";
  for (size_t i = 0; i < report.weights.size(); ++i) {
    const WeightError& w = report.weights[i];
    html << "<tr><td>" << i + 1 << "</td><td>" << Fixed(w.sqnr_db, 1) << "</td><td>" << Fixed(w.cosine, 5)
         << "</td><td>" << w.quant_type << "</td><td>"
         << (w.channels == 1 ? std::string("per tensor")
                             : std::to_string(w.channels) + " on axis " + std::to_string(w.axis))
         << "</td><td>" << Escaped(w.consumer_op) << "</td><td class='name'>" << Escaped(w.tensor) << "</td></tr>\n";
  }
  html << "</table>\n";
  if (!report.unmatched.empty()) {
    html << "<p class='meta'>Quantized tensors the float model does not compute:";
    for (const auto& name : report.unmatched) html << " <code>" << Escaped(name) << "</code>";
    html << "</p>\n";
  }
  html << "</body>\n</html>\n";
  return html.str();
}

Status WriteLayerReport(const LayerReport& report, const LayerReportTitle& title, LayerReportFormat format,
                        const std::filesystem::path& path, std::span<const InputFile> inputs) {
  switch (format) {
    case LayerReportFormat::kHtml:
      return WriteFileAtomically(path, LayerReportHtml(report, title), inputs);
    case LayerReportFormat::kJson:
      return WriteFileAtomically(path, LayerReportJson(report, title), inputs);
    case LayerReportFormat::kText:
      break;
  }
  return WriteFileAtomically(path, LayerReportText(report, title), inputs);
}

}  // namespace onnxq
