#include "model/transformer.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <unordered_map>
#include <unordered_set>

#include "io/error.h"

namespace omlkit::model {

namespace {

// The matrices that may stay in 16 bits, as units that form one Linear (all in place or
// none): Llama's q|k|v and gate|up are rows of one matrix each.
std::vector<std::vector<std::string>> matrix_units(const ModelConfig& c) {
  std::vector<std::vector<std::string>> units = {{"wte"}};
  if (!c.tied_head) units.push_back({"lm_head"});
  for (int l = 0; l < c.n_layer; l++) {
    std::string h = "h." + std::to_string(l) + ".";
    if (c.architecture == Architecture::gpt2) {
      for (const char* m : {"attn.qkv.weight", "attn.out.weight", "mlp.in.weight", "mlp.out.weight"})
        units.push_back({h + m});
    } else {
      units.push_back({h + "attn.q.weight", h + "attn.k.weight", h + "attn.v.weight"});
      units.push_back({h + "attn.out.weight"});
      units.push_back({h + "mlp.gate.weight", h + "mlp.up.weight"});
      units.push_back({h + "mlp.out.weight"});
    }
  }
  return units;
}

std::unordered_map<std::string, size_t> index_by_role(const ParameterTable& table) {
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < table.entries().size(); i++) index[table.entries()[i].role] = i;
  return index;
}

const unsigned char* mapped(const Checkpoint& checkpoint, const ParameterInfo& e) {
  const TensorLocation* location = checkpoint.find(e.name);
  return location->file->bytes(*location->entry).data();
}

// Every tensor as a unit: matrix_units, Llama's q|k|v biases (one bias vector), and each
// other tensor alone.
std::vector<std::vector<std::string>> all_units(const ModelConfig& c, const ParameterTable& table) {
  auto units = matrix_units(c);
  if (c.architecture == Architecture::llama && c.qkv_bias)
    for (int l = 0; l < c.n_layer; l++) {
      std::string h = "h." + std::to_string(l) + ".";
      units.push_back({h + "attn.q.bias", h + "attn.k.bias", h + "attn.v.bias"});
    }
  std::unordered_set<std::string> covered;
  for (const auto& unit : units) covered.insert(unit.begin(), unit.end());
  for (const auto& e : table.entries())
    if (!covered.count(e.role)) units.push_back({e.role});
  return units;
}

// Whether a unit's tensors lie one after another, in unit order, in one file: then the
// first one's address reads as the whole fused F32 matrix.
bool adjacent_in_file(const Checkpoint& checkpoint, const ParameterTable& table,
                      const std::unordered_map<std::string, size_t>& index, const std::vector<std::string>& unit) {
  for (size_t k = 1; k < unit.size(); k++) {
    const TensorLocation* a = checkpoint.find(table.entries()[index.at(unit[k - 1])].name);
    const TensorLocation* b = checkpoint.find(table.entries()[index.at(unit[k])].name);
    if (a->file != b->file || b->entry->begin != a->entry->end) return false;
  }
  return true;
}

// The layer whose backward pass reads a tensor: -1 for the embeddings, n_layer for the
// final norm and the head, else the block's index.
int layer_of(const std::string& role, int n_layer) {
  if (role == "wte" || role == "wpe") return -1;
  if (role.rfind("h.", 0) != 0) return n_layer;
  return std::stoi(role.substr(2));
}

}  // namespace

Transformer::Transformer(const Checkpoint& checkpoint, Backend& backend, WeightPlacement placement)
    : config_(checkpoint.config()),
      backend_(backend),
      table_(ParameterTable::from_checkpoint(checkpoint)) {
  const auto& entries = table_.entries();
  // The buffer spans every tensor; on the CPU backend, slots never written (in-place
  // tensors) are untouched zero pages and cost no memory.
  params_ = DeviceBuffer(backend_, table_.total_floats());
  in_place_.assign(entries.size(), false);
  if (placement == WeightPlacement::in_place && backend_.reads_mapped_weights() &&
      std::endian::native == std::endian::little) {
    checkpoint_ = &checkpoint;
    auto index = index_by_role(table_);
    std::unordered_set<std::string> matrices;
    for (const auto& unit : matrix_units(config_)) matrices.insert(unit.begin(), unit.end());
    for (const auto& unit : all_units(config_, table_)) {
      // One dtype for the whole unit, aligned for its element type (the reference writer
      // aligns tensor data to 8 bytes; a file that does not is widened). F32 as it lies,
      // when a fused unit's parts are adjacent; 16 bits only for matrices.
      const DType dtype = entries[index.at(unit[0])].storage_dtype;
      bool eligible = dtype == DType::F32 ? adjacent_in_file(checkpoint, table_, index, unit)
                                          : (dtype == DType::BF16 || dtype == DType::F16) && matrices.count(unit[0]);
      for (const auto& role : unit) {
        const ParameterInfo& e = entries[index.at(role)];
        eligible = eligible && e.storage_dtype == dtype &&
                   reinterpret_cast<uintptr_t>(mapped(checkpoint, e)) % dtype_size(dtype) == 0;
      }
      if (!eligible) continue;
      for (const auto& role : unit) {
        size_t i = index.at(role);
        if (dtype == DType::F32)
          table_.check_finite(checkpoint, i, reinterpret_cast<const float*>(mapped(checkpoint, entries[i])));
        else
          table_.check_finite_16bit(checkpoint, i);
        in_place_[i] = true;
      }
    }
  }
  for (size_t i = 0; i < entries.size(); i++)
    if (!in_place_[i]) widen(checkpoint, i);
  // In place, nothing trains until set_trainable says what (and widens it); widened
  // weights all train by default.
  trainable_.assign(entries.size(), checkpoint_ == nullptr);
  bind_weights();
}

void Transformer::widen(const Checkpoint& checkpoint, size_t i) {
  const ParameterInfo& e = table_.entries()[i];
  std::vector<float> host(e.count);  // one tensor at a time: never a second whole model
  table_.load_f32(checkpoint, i, host.data());
  backend_.upload(params_.data() + e.offset, host.data(), host.size());
  in_place_[i] = false;
}

void Transformer::widen_for_backward() {
  const auto& entries = table_.entries();
  int lowest = config_.n_layer + 1;  // nothing trains
  for (size_t i = 0; i < entries.size(); i++)
    if (trainable_[i]) lowest = std::min(lowest, layer_of(entries[i].role, config_.n_layer));
  if (lowest > config_.n_layer) return;
  bool changed = false;
  for (size_t i = 0; i < entries.size(); i++) {
    // The head's matrix is read by every backward pass (d of its input); with a tied head
    // that is wte.
    bool head = entries[i].role == "lm_head" || (config_.tied_head && entries[i].role == "wte");
    if (in_place_[i] && (head || layer_of(entries[i].role, config_.n_layer) >= lowest)) {
      widen(*checkpoint_, i);
      changed = true;
    }
  }
  if (changed) bind_weights();
}

void Transformer::bind_weights() {
  const ModelConfig& c = config_;
  const auto index = index_by_role(table_);
  // F32 values of a role: where the mapping holds them when in place, else in params_.
  auto at = [&](const std::string& role) -> const float* {
    size_t i = index.at(role);
    if (in_place_[i]) return reinterpret_cast<const float*>(mapped(*checkpoint_, table_.entries()[i]));
    return params_.data() + table_.entries()[i].offset;
  };
  // A Linear over the rows of `roles` (one matrix, adjacent in params_): F32 from params_,
  // or the 16-bit blocks where the checkpoint holds them.
  auto matrix = [&](std::initializer_list<std::string> roles, const float* bias, int in, int out,
                    bool in_out) {
    Linear layer{nullptr, bias, in, out, in_out};
    size_t first = index.at(*roles.begin());
    if (!in_place_[first] || table_.entries()[first].storage_dtype == DType::F32) {
      layer.weight = at(*roles.begin());  // in place, F32 units are adjacent in the file
      return layer;
    }
    int block = 0;
    for (const auto& role : roles) {
      const ParameterInfo& e = table_.entries()[index.at(role)];
      layer.blocks16[size_t(block++)] = {reinterpret_cast<const uint16_t*>(mapped(*checkpoint_, e)), int(e.shape[0])};
      layer.dtype16 = e.storage_dtype;
    }
    return layer;
  };
  bool gpt2 = c.architecture == Architecture::gpt2;
  wte_ = matrix({"wte"}, nullptr, c.dim, c.vocab_size, false);
  wpe_ = gpt2 ? at("wpe") : nullptr;
  normf_weight_ = at("normf.weight");
  normf_bias_ = gpt2 ? at("normf.bias") : nullptr;
  lm_head_ = c.tied_head ? wte_ : matrix({"lm_head"}, nullptr, c.dim, c.vocab_size, false);
  layers_.assign(size_t(c.n_layer), {});
  for (int l = 0; l < c.n_layer; l++) {
    std::string h = "h." + std::to_string(l) + ".";
    LayerWeights& w = layers_[size_t(l)];
    w.norm1_weight = at(h + "norm1.weight");
    w.norm2_weight = at(h + "norm2.weight");
    int qkv_out = c.q_dim() + 2 * c.kv_dim();
    if (gpt2) {
      w.norm1_bias = at(h + "norm1.bias");
      w.norm2_bias = at(h + "norm2.bias");
      w.qkv = matrix({h + "attn.qkv.weight"}, at(h + "attn.qkv.bias"), c.dim, qkv_out, true);
      w.attn_out = matrix({h + "attn.out.weight"}, at(h + "attn.out.bias"), c.dim, c.dim, true);
      w.mlp_in = matrix({h + "mlp.in.weight"}, at(h + "mlp.in.bias"), c.dim, c.ffn_dim, true);
      w.mlp_out = matrix({h + "mlp.out.weight"}, at(h + "mlp.out.bias"), c.ffn_dim, c.dim, true);
    } else {
      // The layout made q,k,v (and gate,up) adjacent, so each pair is one matrix.
      const float* qkv_bias = c.qkv_bias ? at(h + "attn.q.bias") : nullptr;
      w.qkv = matrix({h + "attn.q.weight", h + "attn.k.weight", h + "attn.v.weight"}, qkv_bias, c.dim, qkv_out,
                     false);
      w.attn_out = matrix({h + "attn.out.weight"}, nullptr, c.q_dim(), c.dim, false);
      w.mlp_in = matrix({h + "mlp.gate.weight", h + "mlp.up.weight"}, nullptr, c.dim, 2 * c.ffn_dim, false);
      w.mlp_out = matrix({h + "mlp.out.weight"}, nullptr, c.ffn_dim, c.dim, false);
    }
  }
}

void Transformer::reserve(int B, int S) {
  if (B == B_ && S == S_) return;
  size_t cache = size_t(B) * size_t(S) * size_t(config_.kv_dim());
  kv_.clear();  // the old cache goes before the new one is made: no two at once
  kv_.resize(size_t(config_.n_layer));
  for (auto& layer : kv_) {
    layer.k = DeviceBuffer(backend_, cache);
    layer.v = DeviceBuffer(backend_, cache);
  }
  B_ = B;
  S_ = S;
}

void Transformer::ensure_activations(size_t layers, size_t N, size_t att) {
  const ModelConfig& c = config_;
  size_t C = size_t(c.dim);
  size_t qkv = size_t(c.q_dim()) + 2 * size_t(c.kv_dim());
  size_t mlp_h = c.architecture == Architecture::llama ? 2 * size_t(c.ffn_dim) : size_t(c.ffn_dim);
  Backend& be = backend_;
  auto grow = [&](DeviceBuffer& buffer, size_t count) {
    if (buffer.size() < count) {
      buffer.reset();  // free first, so old and new never coexist
      buffer = DeviceBuffer(be, count);
    }
  };
  if (acts_.size() < layers) acts_.resize(layers);
  for (size_t l = 0; l < layers; l++) {
    LayerActivations& a = acts_[l];
    grow(a.norm1, N * C);
    grow(a.norm1_mean, N);
    grow(a.norm1_rstd, N);
    grow(a.qkv, N * qkv);
    grow(a.att, att);
    grow(a.att_y, N * size_t(c.q_dim()));
    grow(a.att_out, N * C);
    grow(a.residual2, N * C);
    grow(a.norm2, N * C);
    grow(a.norm2_mean, N);
    grow(a.norm2_rstd, N);
    grow(a.mlp_h, N * mlp_h);
    grow(a.mlp_act, N * size_t(c.ffn_dim));
    grow(a.mlp_out, N * C);
    grow(a.residual3, N * C);
  }
  grow(encoded_, N * C);
  grow(normf_, N * C);
  grow(normf_mean_, N);
  grow(normf_rstd_, N);
}

void Transformer::ensure_logits(size_t rows) {
  size_t need = rows * size_t(config_.vocab_size);
  if (logits_.size() < need) logits_ = DeviceBuffer(backend_, need);
}

size_t Transformer::activation_slot(int l) const {
  if (recompute_ || l < kept_from_) return 0;
  return size_t(l - kept_from_) + (kept_from_ > 0 ? 1 : 0);
}

const float* Transformer::layer_input(int l) const {
  if (l == 0) return encoded_.data();
  if (recompute_ && l >= kept_from_) return layer_inputs_.data() + size_t(l - kept_from_) * rows_ * size_t(config_.dim);
  return acts_[activation_slot(l - 1)].residual3.data();
}

float* Transformer::layer_output(int l) {
  if (recompute_ && l + 1 < config_.n_layer && l + 1 >= std::max(kept_from_, 1))
    return layer_inputs_.data() + size_t(l + 1 - kept_from_) * rows_ * size_t(config_.dim);
  return acts_[activation_slot(l)].residual3.data();
}

void Transformer::forward_trunk(std::span<const int32_t> tokens, int B, int T, int pos0, int kept_from) {
  const ModelConfig& c = config_;
  if (B < 1 || T < 1 || tokens.size() != size_t(B) * T)
    throw Error(exit_code::internal, "", "forward: tokens do not have shape (B,T)");
  if (pos0 + T > c.max_positions)
    throw data_error("", "sequence of " + std::to_string(pos0 + T) + " positions is longer than the " +
                             std::to_string(c.max_positions) + " the model supports");
  for (int32_t t : tokens)
    if (t < 0 || t >= c.vocab_size)
      throw data_error("", "token id " + std::to_string(t) + " is outside the vocabulary of " +
                               std::to_string(c.vocab_size));
  if (B != B_ || pos0 + T > S_) {
    if (pos0 > 0) throw Error(exit_code::internal, "", "forward: KV cache too small for pos0");
    reserve(B, std::max(T, B == B_ ? S_ : 0));
  }
  Backend& be = backend_;
  const int N = B * T, C = c.dim;
  kept_from_ = std::clamp(kept_from, 0, c.n_layer);
  rows_ = size_t(N);
  ensure_activations(activation_slot(c.n_layer - 1) + 1, size_t(N), size_t(B) * c.n_head * T * S_);
  if (recompute_ && kept_from_ < c.n_layer) {
    size_t need = size_t(c.n_layer - kept_from_) * size_t(N) * size_t(C);
    if (layer_inputs_.size() < need) {
      layer_inputs_.reset();
      layer_inputs_ = DeviceBuffer(be, need);
    }
  }
  // Activation rows are laid out (B,T) for this call's T. Sharing one set across layers
  // is safe: a layer reads its input (the previous residual3) before writing residual3.
  be.embedding_forward(encoded_.data(), tokens, wte_, wpe_, B, T, pos0, C);
  for (int l = 0; l < c.n_layer; l++) layer_forward(l, B, T, pos0);
  const float* residual = c.n_layer > 0 ? layer_output(c.n_layer - 1) : encoded_.data();
  if (c.architecture == Architecture::gpt2)
    be.layernorm_forward(normf_.data(), normf_mean_.data(), normf_rstd_.data(), residual, normf_weight_,
                         normf_bias_, N, C, c.norm_eps);
  else
    be.rmsnorm_forward(normf_.data(), normf_rstd_.data(), residual, normf_weight_, N, C, c.norm_eps);
}

void Transformer::layer_forward(int l, int B, int T, int pos0) {
  const ModelConfig& c = config_;
  Backend& be = backend_;
  const bool gpt2 = c.architecture == Architecture::gpt2;
  const int N = B * T, C = c.dim, S = S_;
  const int qkv_row = c.q_dim() + 2 * c.kv_dim();
  const LayerWeights& w = layers_[size_t(l)];
  LayerActivations& a = acts_[activation_slot(l)];
  KvCache& kv = kv_[size_t(l)];
  const float* residual = layer_input(l);
  if (gpt2)
    be.layernorm_forward(a.norm1.data(), a.norm1_mean.data(), a.norm1_rstd.data(), residual, w.norm1_weight,
                         w.norm1_bias, N, C, c.norm_eps);
  else
    be.rmsnorm_forward(a.norm1.data(), a.norm1_rstd.data(), residual, w.norm1_weight, N, C, c.norm_eps);
  be.matmul_forward(a.qkv.data(), a.norm1.data(), C, w.qkv, N);
  if (!gpt2) {
    be.rope_forward(a.qkv.data(), B, T, pos0, qkv_row, c.n_head, c.head_dim, c.rope_theta);
    be.rope_forward(a.qkv.data() + c.q_dim(), B, T, pos0, qkv_row, c.n_kv_head, c.head_dim, c.rope_theta);
  }
  be.kv_cache_store(kv.k.data(), kv.v.data(), a.qkv.data(), B, T, pos0, S, c.q_dim(), c.kv_dim());
  be.attention_forward(a.att_y.data(), a.att.data(), a.qkv.data(), qkv_row, kv.k.data(), kv.v.data(), B, T, pos0,
                       S, c.n_head, c.n_kv_head, c.head_dim);
  be.matmul_forward(a.att_out.data(), a.att_y.data(), c.q_dim(), w.attn_out, N);
  be.residual_forward(a.residual2.data(), residual, a.att_out.data(), size_t(N) * C);
  if (gpt2)
    be.layernorm_forward(a.norm2.data(), a.norm2_mean.data(), a.norm2_rstd.data(), a.residual2.data(),
                         w.norm2_weight, w.norm2_bias, N, C, c.norm_eps);
  else
    be.rmsnorm_forward(a.norm2.data(), a.norm2_rstd.data(), a.residual2.data(), w.norm2_weight, N, C, c.norm_eps);
  be.matmul_forward(a.mlp_h.data(), a.norm2.data(), C, w.mlp_in, N);
  if (gpt2)
    be.gelu_forward(a.mlp_act.data(), a.mlp_h.data(), size_t(N) * c.ffn_dim);
  else
    be.swiglu_forward(a.mlp_act.data(), a.mlp_h.data(), N, c.ffn_dim);
  be.matmul_forward(a.mlp_out.data(), a.mlp_act.data(), c.ffn_dim, w.mlp_out, N);
  be.residual_forward(layer_output(l), a.residual2.data(), a.mlp_out.data(), size_t(N) * C);
}

const float* Transformer::head_input(std::span<const int32_t> rows) {
  size_t C = size_t(config_.dim);
  bool consecutive = true;  // then they are a view of normf_, no copy needed
  for (size_t i = 1; i < rows.size() && consecutive; i++) consecutive = rows[i] == rows[0] + int32_t(i);
  if (consecutive && !rows.empty()) return normf_.data() + size_t(rows[0]) * C;
  if (head_input_.size() < rows.size() * C) head_input_ = DeviceBuffer(backend_, rows.size() * C);
  backend_.gather_rows(head_input_.data(), normf_.data(), rows, config_.dim);
  return head_input_.data();
}

const float* Transformer::forward_rows(std::span<const int32_t> tokens, int B, int T, int pos0,
                                       std::span<const int32_t> rows) {
  for (int32_t r : rows)
    if (r < 0 || int64_t(r) >= int64_t(B) * T)
      throw Error(exit_code::internal, "", "forward_rows: row " + std::to_string(r) + " is outside (B,T)");
  forward_trunk(tokens, B, T, pos0);
  ensure_logits(std::max<size_t>(rows.size(), 1));
  if (!rows.empty())
    backend_.matmul_forward(logits_.data(), head_input(rows), config_.dim, lm_head_, int(rows.size()));
  return logits_.data();
}

void Transformer::target_rows(std::span<const int32_t> targets, std::vector<int32_t>& rows,
                              std::vector<int32_t>& wanted) const {
  for (size_t i = 0; i < targets.size(); i++) {
    if (targets[i] < -1 || targets[i] >= config_.vocab_size)
      throw data_error("", "target id " + std::to_string(targets[i]) + " is outside the vocabulary of " +
                               std::to_string(config_.vocab_size));
    if (targets[i] >= 0) rows.push_back(int32_t(i)), wanted.push_back(targets[i]);
  }
}

std::vector<float> Transformer::token_logprobs(std::span<const int32_t> tokens, std::span<const int32_t> targets,
                                               int B, int T) {
  const ModelConfig& c = config_;
  const size_t N = size_t(B) * size_t(T);
  if (targets.size() != N) throw Error(exit_code::internal, "", "token_logprobs: targets do not have shape (B,T)");
  std::vector<int32_t> rows, wanted;
  target_rows(targets, rows, wanted);
  forward_trunk(tokens, B, T, 0);
  std::vector<float> out(N, 0.0f), chunk_out;
  Backend& be = backend_;
  const size_t chunk = size_t(kHeadChunkRows);
  ensure_logits(std::min(rows.size(), chunk));
  DeviceBuffer device_out(be, std::min(rows.size(), chunk) + 1);
  for (size_t first = 0; first < rows.size(); first += chunk) {
    size_t R = std::min(chunk, rows.size() - first);
    std::span<const int32_t> chunk_rows(rows.data() + first, R), chunk_targets(wanted.data() + first, R);
    be.matmul_forward(logits_.data(), head_input(chunk_rows), c.dim, lm_head_, int(R));
    be.token_logprob_forward(device_out.data(), logits_.data(), chunk_targets, int(R), c.vocab_size);
    chunk_out.resize(R);
    be.download(chunk_out.data(), device_out.data(), R);
    for (size_t i = 0; i < R; i++) out[size_t(chunk_rows[i])] = chunk_out[i];
  }
  return out;
}

const float* Transformer::forward(std::span<const int32_t> tokens, int B, int T, int pos0,
                                  bool last_only) {
  forward_trunk(tokens, B, T, pos0);
  Backend& be = backend_;
  const int N = B * T, C = config_.dim;
  if (last_only) {
    // Row T-1 of each sequence: a strided view, so only B rows go through the head.
    ensure_logits(size_t(B));
    be.matmul_forward(logits_.data(), normf_.data() + size_t(T - 1) * C, T * C, lm_head_, B);
  } else {
    ensure_logits(size_t(N));
    be.matmul_forward(logits_.data(), normf_.data(), C, lm_head_, N);
  }
  return logits_.data();
}

}  // namespace omlkit::model
