// What both code generators (the CPU target's and the CUDA target's) do the
// same way: literals, the model's constants, the files they write, and how
// they walk the graph's ops (where the tail starts, which layer an op is of).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "graph/graph.h"
#include "model/model_spec.h"

namespace forge::codegen::cpu {

// A float literal that reads back as exactly the same float ("1e-05f",
// "2.0f"; INFINITY / -INFINITY from <cmath> for infinities).
std::string flt(float f);

// A 64-bit unsigned literal in hex ("0x00000000000000ffull").
std::string hex64(uint64_t v);

// s for inside a string literal: quotes and backslashes escaped, control characters left out.
std::string escaped(const std::string& s);

// The model's hyper-parameters as constexpr declarations, kLayers ..
// kWeightBytesPerToken (generated code names them so).
std::string model_constants(const model::ModelSpec& s);

// Writes text to p; CodegenError if it cannot.
void write_file(const std::filesystem::path& p, const std::string& text);

// The index of g's first tail op (the ops that turn the hidden state into
// logits); CodegenError if there is none or a body op follows one.
int first_tail_op(const graph::Graph& g);

// "blk.N" for an op named "blk.N.<something>", else "": the layer a
// comment in the generated code names.
std::string layer_of(const std::string& op_name);

}  // namespace forge::codegen::cpu
