#include "voxseg/models/detail/torchscript_optimize.h"

#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/runtime/graph_iterator.h>

#include <exception>

#include "voxseg/core/log.h"

namespace voxseg::models::detail {
namespace {

// First line of a torch error (the full text is a multi-line traceback).
std::string first_line(const std::string& text) {
  const size_t start = text.find_first_not_of(" \t\n");
  if (start == std::string::npos) return "unknown error";
  return text.substr(start, text.find('\n', start) - start);
}

std::string what_of(const std::exception& e) {
  if (const auto* c = dynamic_cast<const c10::Error*>(&e)) return first_line(c->what_without_backtrace());
  return first_line(e.what());
}

// aten::conv_transpose{1,2,3}d, or aten::_convolution with a constant `transposed` = true (what
// torch.jit.trace records).
bool is_transposed_conv(const torch::jit::Node* node) {
  const std::string kind = node->kind().toQualString();
  if (kind == "aten::conv_transpose1d" || kind == "aten::conv_transpose2d" || kind == "aten::conv_transpose3d")
    return true;
  if (kind != "aten::_convolution" || node->inputs().size() < 7) return false;
  const auto transposed = torch::jit::toIValue(node->input(6));
  return transposed && transposed->isBool() && transposed->toBool();
}

}  // namespace

int run_transposed_convs_in_float(torch::jit::Module& module, c10::ScalarType dtype) {
  std::shared_ptr<torch::jit::Graph> graph = module.get_method("forward").graph();
  std::vector<torch::jit::Node*> convs;
  torch::jit::DepthFirstGraphNodeIterator it(graph);
  for (torch::jit::Node* node = it.next(); node != nullptr; node = it.next())
    if (is_transposed_conv(node)) convs.push_back(node);
  for (torch::jit::Node* conv : convs) {
    {
      torch::jit::WithInsertPoint before(conv);
      for (size_t i = 0; i < 3; ++i) {  // input, weight, bias (None stays None)
        torch::jit::Value* v = conv->input(i);
        if (!v->type()->isSubtypeOf(*c10::TensorType::get())) continue;
        conv->replaceInput(i, graph->insert(c10::Symbol::aten("to"), {v, c10::kFloat}));
      }
    }
    torch::jit::WithInsertPoint after(conv->next());
    torch::jit::Value* back = graph->insert(c10::Symbol::aten("to"), {conv->output(), dtype});
    conv->output()->replaceAllUsesAfterNodeWith(back->node(), back);
  }
  // The weights are constants of the frozen graph: fold their casts once instead of per call.
  if (!convs.empty()) torch::jit::ConstantPropagation(graph);
  return static_cast<int>(convs.size());
}

OptimizedModule optimize_torchscript(const torch::jit::Module& module, const c10::Device& device, c10::ScalarType dtype,
                                     const std::string& name) {
  OptimizedModule out{module, "none", ""};
  torch::jit::Module frozen;
  try {
    frozen = torch::jit::freeze(module);
  } catch (const std::exception& e) {
    out.error = "freeze: " + what_of(e);
    log::debug("TorchScript model '{}': running the module as loaded ({})", name, out.error);
    return out;
  }
  out.module = frozen;
  out.passes = "freeze";
  if (device.is_cpu() && dtype == c10::kBFloat16) {
    try {
      const int rewritten = run_transposed_convs_in_float(frozen, dtype);
      if (rewritten > 0) out.passes = "freeze+float_transposed_convs";
    } catch (const std::exception& e) {
      out.error = "float_transposed_convs: " + what_of(e);
      try {
        out.module = torch::jit::freeze(module);  // the rewrite may have stopped half way
      } catch (const std::exception&) {
        out.module = module;
        out.passes = "none";
      }
      log::debug("TorchScript model '{}': {} ({})", name, out.passes, out.error);
      return out;
    }
  }
  if (!device.is_cpu() || dtype != c10::kFloat) {
    log::debug("TorchScript model '{}': frozen (optimize_for_inference is for float32 on the CPU only)", name);
    return out;
  }
  try {
    out.module = torch::jit::optimize_for_inference(frozen);
    out.passes = "freeze+optimize_for_inference";
  } catch (const std::exception& e) {
    // The passes rewrite the frozen graph in place, so a failure may leave it half done: freeze
    // the loaded module again (freezing clones it).
    out.error = "optimize_for_inference: " + what_of(e);
    try {
      out.module = torch::jit::freeze(module);
    } catch (const std::exception&) {
      out.module = module;
      out.passes = "none";
    }
    log::debug("TorchScript model '{}': {} only ({})", name, out.passes == "none" ? "as loaded" : "frozen", out.error);
  }
  return out;
}

}  // namespace voxseg::models::detail
