// The backward pass of Transformer: softmax cross-entropy with a loss mask, then every
// layer's *_backward in reverse order of the forward pass (transformer.cpp), llm.c style.
#include <unordered_map>

#include "io/error.h"
#include "model/transformer.h"

namespace omlkit::model {

void Transformer::set_trainable(const std::vector<bool>& trainable) {
  if (trainable.size() != table_.entries().size())
    throw Error(exit_code::internal, "", "set_trainable: one flag per parameter expected");
  trainable_ = trainable;
  if (checkpoint_) widen_for_backward();
  if (grads_.data()) {
    zero_gradients();  // no stale values left where gradients stop being computed
    bind_gradients();
  }
}

float* Transformer::gradient_data() {
  if (!grads_.data()) {
    grads_ = DeviceBuffer(backend_, table_.total_floats());
    bind_gradients();
  }
  return grads_.data();
}

void Transformer::zero_gradients() {
  float* grads = gradient_data();
  for (const auto& [offset, count] : gradient_runs_) backend_.zero(grads + offset, count);
}

void Transformer::bind_gradients() {
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < table_.entries().size(); i++) index[table_.entries()[i].role] = i;
  // The gradient of a unit of tensors: pointers to each, all null unless one of them trains.
  gradient_runs_.clear();
  auto unit = [&](std::initializer_list<std::string> roles, std::initializer_list<float**> grads) {
    bool any = false;
    for (const auto& r : roles) any = any || (index.count(r) && trainable_[index[r]]);
    if (any)
      for (const auto& r : roles)
        if (index.count(r)) {
          const ParameterInfo& e = table_.entries()[index[r]];
          if (!gradient_runs_.empty() && gradient_runs_.back().first + gradient_runs_.back().second == e.offset)
            gradient_runs_.back().second += e.count;
          else
            gradient_runs_.emplace_back(e.offset, e.count);
        }
    auto g = grads.begin();
    for (const auto& r : roles) {
      if (g == grads.end()) break;
      if (*g) **g = any && index.count(r) ? grads_.data() + table_.entries()[index[r]].offset : nullptr;
      ++g;
    }
  };
  const ModelConfig& c = config_;
  const bool gpt2 = c.architecture == Architecture::gpt2;
  unit({"wte"}, {&d_wte_});
  d_wpe_ = nullptr;
  if (gpt2) unit({"wpe"}, {&d_wpe_});
  unit({"normf.weight", "normf.bias"}, {&d_normf_weight_, &d_normf_bias_});
  if (c.tied_head) d_lm_head_ = d_wte_;
  else unit({"lm_head"}, {&d_lm_head_});
  layer_grads_.assign(size_t(c.n_layer), {});
  for (int l = 0; l < c.n_layer; l++) {
    std::string h = "h." + std::to_string(l) + ".";
    LayerGradients& g = layer_grads_[size_t(l)];
    unit({h + "norm1.weight", h + "norm1.bias"}, {&g.norm1_weight, &g.norm1_bias});
    unit({h + "norm2.weight", h + "norm2.bias"}, {&g.norm2_weight, &g.norm2_bias});
    if (gpt2) {
      unit({h + "attn.qkv.weight", h + "attn.qkv.bias"}, {&g.qkv_weight, &g.qkv_bias});
      unit({h + "attn.out.weight", h + "attn.out.bias"}, {&g.attn_out_weight, &g.attn_out_bias});
      unit({h + "mlp.in.weight", h + "mlp.in.bias"}, {&g.mlp_in_weight, &g.mlp_in_bias});
      unit({h + "mlp.out.weight", h + "mlp.out.bias"}, {&g.mlp_out_weight, &g.mlp_out_bias});
    } else {
      // q|k|v and their biases are adjacent, so the first of each is the fused matrix's.
      unit({h + "attn.q.weight", h + "attn.k.weight", h + "attn.v.weight", h + "attn.q.bias",
            h + "attn.k.bias", h + "attn.v.bias"},
           {&g.qkv_weight, nullptr, nullptr, &g.qkv_bias});
      unit({h + "attn.out.weight"}, {&g.attn_out_weight});
      unit({h + "mlp.gate.weight", h + "mlp.up.weight"}, {&g.mlp_in_weight});
      unit({h + "mlp.out.weight"}, {&g.mlp_out_weight});
    }
  }
  // The backward pass stops at the lowest layer holding a trainable tensor.
  backward_floor_ = d_wte_ || d_wpe_ ? -1 : c.n_layer;
  for (int l = 0; l < c.n_layer && backward_floor_ == c.n_layer; l++) {
    const LayerGradients& g = layer_grads_[size_t(l)];
    if (g.norm1_weight || g.norm2_weight || g.qkv_weight || g.attn_out_weight || g.mlp_in_weight || g.mlp_out_weight)
      backward_floor_ = l;
  }
}

void Transformer::ensure_training_buffers(size_t N) {
  if (N <= training_rows_) return;
  const ModelConfig& c = config_;
  size_t C = size_t(c.dim), F = size_t(c.ffn_dim);
  size_t mlp_h = c.architecture == Architecture::llama ? 2 * F : F;
  d_residual_ = DeviceBuffer(backend_, N * C);
  d_norm_ = DeviceBuffer(backend_, N * C);
  d_qkv_ = DeviceBuffer(backend_, N * (size_t(c.q_dim()) + 2 * size_t(c.kv_dim())));
  d_att_y_ = DeviceBuffer(backend_, N * size_t(c.q_dim()));
  d_mlp_h_ = DeviceBuffer(backend_, N * mlp_h);
  d_mlp_act_ = DeviceBuffer(backend_, N * F);
  losses_ = DeviceBuffer(backend_, N);
  training_rows_ = N;
}

double Transformer::forward_backward(std::span<const int32_t> tokens, std::span<const int32_t> targets,
                                     int B, int T, float loss_scale, std::span<const float> teacher) {
  const ModelConfig& c = config_;
  if (targets.size() != size_t(B) * T)
    throw Error(exit_code::internal, "", "forward_backward: targets do not have shape (B,T)");
  // Only rows with a target go through the LM head: a masked row's logits get a zero
  // gradient, so it adds nothing to any gradient and needs no vocab projection.
  std::vector<int32_t> rows, wanted;
  target_rows(targets, rows, wanted);
  const size_t V = size_t(c.vocab_size);
  if (!teacher.empty() && teacher.size() != rows.size() * V)
    throw Error(exit_code::internal, "", "forward_backward: teacher logits do not have shape (R,V)");
  gradient_data();
  forward_trunk(tokens, B, T, 0, std::max(backward_floor_, 0));
  Backend& be = backend_;
  const int N = B * T, C = c.dim, R = int(rows.size());
  ensure_training_buffers(size_t(N));
  if (R == 0) return 0;

  // logits_ (R,V) become loss_scale * d(sum of losses)/d(logits).
  const float* head_in = head_input(rows);
  const bool all_rows = R == N;  // rows are increasing, so they are 0..N-1
  ensure_logits(size_t(R));
  be.matmul_forward(logits_.data(), head_in, C, lm_head_, R);
  if (teacher.empty()) {
    be.cross_entropy_backward(logits_.data(), losses_.data(), wanted, R, c.vocab_size, loss_scale);
  } else {
    if (teacher_.size() < teacher.size()) teacher_ = DeviceBuffer(be, teacher.size());
    be.upload(teacher_.data(), teacher.data(), teacher.size());
    be.distill_backward(logits_.data(), losses_.data(), teacher_.data(), R, c.vocab_size, loss_scale);
  }
  std::vector<float> losses(static_cast<size_t>(R));
  be.download(losses.data(), losses_.data(), losses.size());
  double loss_sum = 0;
  for (float l : losses) loss_sum += l;

  const bool need_residual = backward_floor_ < c.n_layer;
  const bool need_d_normf = need_residual || d_normf_weight_;
  // d of the head's input: straight into d_norm_ (N,C) when every row has a target, else
  // (R,C) into d_residual_ (free until the zeroing below), scattered into a zeroed d_norm_.
  float* d_head_in = all_rows ? d_norm_.data() : d_residual_.data();
  be.matmul_backward(need_d_normf ? d_head_in : nullptr, d_lm_head_, nullptr, logits_.data(), head_in, C, lm_head_,
                     R);
  if (!need_d_normf) return loss_sum;
  if (!all_rows) {
    be.zero(d_norm_.data(), size_t(N) * C);
    be.scatter_rows(d_norm_.data(), d_head_in, rows, C);
  }

  float* d_res = d_residual_.data();  // the residual stream's gradient, flowing down
  if (need_residual) be.zero(d_res, size_t(N) * C);
  const float* top = c.n_layer > 0 ? layer_output(c.n_layer - 1) : encoded_.data();
  if (c.architecture == Architecture::gpt2)
    be.layernorm_backward(need_residual ? d_res : nullptr, d_normf_weight_, d_normf_bias_, d_norm_.data(), top,
                          normf_weight_, normf_mean_.data(), normf_rstd_.data(), N, C);
  else
    be.rmsnorm_backward(need_residual ? d_res : nullptr, d_normf_weight_, d_norm_.data(), top, normf_weight_,
                        normf_rstd_.data(), N, C);
  for (int l = c.n_layer - 1; l >= std::max(backward_floor_, 0); l--) {
    // Recomputing: every layer ran in slot 0, which the top one still holds.
    if (recompute_ && l < c.n_layer - 1) layer_forward(l, B, T, 0);
    block_backward(l, B, T, d_res, backward_floor_ < l);
  }
  if (backward_floor_ == -1) be.embedding_backward(d_wte_, d_wpe_, d_res, tokens, B, T, C);
  return loss_sum;
}

void Transformer::block_backward(int l, int B, int T, float* d_res,
                                 bool need_d_input) {
  const ModelConfig& c = config_;
  Backend& be = backend_;
  const bool gpt2 = c.architecture == Architecture::gpt2;
  const int N = B * T, C = c.dim, F = c.ffn_dim, qkv_row = c.q_dim() + 2 * c.kv_dim();
  const LayerWeights& w = layers_[size_t(l)];
  const LayerGradients& g = layer_grads_[size_t(l)];
  LayerActivations& a = acts_[activation_slot(l)];
  const float* block_input = layer_input(l);

  // residual3 = residual2 + mlp(norm2(residual2)); d_res holds d residual3.
  be.matmul_backward(d_mlp_act_.data(), g.mlp_out_weight, g.mlp_out_bias, d_res, a.mlp_act.data(), F, w.mlp_out, N);
  if (gpt2)
    be.gelu_backward(d_mlp_h_.data(), a.mlp_h.data(), d_mlp_act_.data(), size_t(N) * F);
  else
    be.swiglu_backward(d_mlp_h_.data(), a.mlp_h.data(), d_mlp_act_.data(), N, F);
  be.matmul_backward(d_norm_.data(), g.mlp_in_weight, g.mlp_in_bias, d_mlp_h_.data(), a.norm2.data(), C, w.mlp_in, N);
  if (gpt2)
    be.layernorm_backward(d_res, g.norm2_weight, g.norm2_bias, d_norm_.data(), a.residual2.data(), w.norm2_weight,
                          a.norm2_mean.data(), a.norm2_rstd.data(), N, C);
  else
    be.rmsnorm_backward(d_res, g.norm2_weight, d_norm_.data(), a.residual2.data(), w.norm2_weight,
                        a.norm2_rstd.data(), N, C);

  // residual2 = input + attn_out(attention(rope(qkv(norm1(input))))); d_res holds d residual2.
  be.matmul_backward(d_att_y_.data(), g.attn_out_weight, g.attn_out_bias, d_res, a.att_y.data(), c.q_dim(),
                     w.attn_out, N);
  be.attention_backward(d_qkv_.data(), d_att_y_.data(), a.att.data(), a.qkv.data(), B, T, S_, c.n_head,
                        c.n_kv_head, c.head_dim);
  if (!gpt2) {
    be.rope_backward(d_qkv_.data(), B, T, 0, qkv_row, c.n_head, c.head_dim, c.rope_theta);
    be.rope_backward(d_qkv_.data() + c.q_dim(), B, T, 0, qkv_row, c.n_kv_head, c.head_dim, c.rope_theta);
  }
  bool need_d_norm1 = need_d_input || g.norm1_weight;
  be.matmul_backward(need_d_norm1 ? d_norm_.data() : nullptr, g.qkv_weight, g.qkv_bias, d_qkv_.data(),
                     a.norm1.data(), C, w.qkv, N);
  if (!need_d_norm1) return;
  float* d_input = need_d_input ? d_res : nullptr;  // d_res becomes d input
  if (gpt2)
    be.layernorm_backward(d_input, g.norm1_weight, g.norm1_bias, d_norm_.data(), block_input, w.norm1_weight,
                          a.norm1_mean.data(), a.norm1_rstd.data(), N, C);
  else
    be.rmsnorm_backward(d_input, g.norm1_weight, d_norm_.data(), block_input, w.norm1_weight,
                        a.norm1_rstd.data(), N, C);
}

}  // namespace omlkit::model
