"""LLM: cache consistency, and agreement with a naive float64 Qwen2 written from the spec."""

import math

import pytest
import torch

import fp32


def _naive_qwen2(model, x):
    """Spec §5.1 in float64 with explicit loops: RMSNorm, half-split RoPE (theta from the
    config, positions 0..S-1), GQA where query head h reads kv head h // (H / KV), causal
    softmax(q k / sqrt(64-style head_dim)), SwiGLU MLP; returns the hidden after the final norm."""
    q2 = model.cfg.qwen
    H, KV, Dh = q2.num_attention_heads, q2.num_key_value_heads, q2.head_dim
    sd = {k: v.double() for k, v in model.state_dict().items()}
    pre = "llm.model.model."
    x = x[0].double()
    S = x.shape[0]

    def rms(h, w):
        return w * h / torch.sqrt((h * h).mean(-1, keepdim=True) + q2.rms_norm_eps)

    def rope(v, pos):          # v [Dh]; pairs (j, j + Dh/2) rotated by pos * theta^(-2j/Dh)
        out = v.clone()
        half = Dh // 2
        for j in range(half):
            a = pos * q2.rope_theta ** (-2.0 * j / Dh)
            c, s = math.cos(a), math.sin(a)
            out[j] = v[j] * c - v[j + half] * s
            out[j + half] = v[j + half] * c + v[j] * s
        return out

    for i in range(q2.num_hidden_layers):
        p = f"{pre}layers.{i}."
        h = rms(x, sd[p + "input_layernorm.weight"])
        q = h @ sd[p + "self_attn.q_proj.weight"].T + sd[p + "self_attn.q_proj.bias"]
        k = h @ sd[p + "self_attn.k_proj.weight"].T + sd[p + "self_attn.k_proj.bias"]
        v = h @ sd[p + "self_attn.v_proj.weight"].T + sd[p + "self_attn.v_proj.bias"]
        q, k, v = q.view(S, H, Dh), k.view(S, KV, Dh), v.view(S, KV, Dh)
        q = torch.stack([torch.stack([rope(q[t, hh], t) for hh in range(H)]) for t in range(S)])
        k = torch.stack([torch.stack([rope(k[t, g], t) for g in range(KV)]) for t in range(S)])
        o = torch.zeros(S, H, Dh, dtype=torch.float64)
        for hh in range(H):
            g = hh // (H // KV)
            for t in range(S):
                sc = torch.stack([q[t, hh] @ k[u, g] for u in range(t + 1)]) / math.sqrt(Dh)
                w = torch.softmax(sc, dim=0)
                o[t, hh] = (w[:, None] * v[: t + 1, g]).sum(0)
        x = x + o.reshape(S, H * Dh) @ sd[p + "self_attn.o_proj.weight"].T
        h = rms(x, sd[p + "post_attention_layernorm.weight"])
        gate = h @ sd[p + "mlp.gate_proj.weight"].T
        up = h @ sd[p + "mlp.up_proj.weight"].T
        x = x + (gate * torch.sigmoid(gate) * up) @ sd[p + "mlp.down_proj.weight"].T
    return rms(x, sd[pre + "norm.weight"])


@pytest.fixture(scope="module")
def prompt(tiny_llm):
    torch.manual_seed(3)
    return tiny_llm.prompt_embeds([151646, 9707, 11, 1879], [17, 4000, 6560, 2])


def test_matches_naive_reference(tiny_llm, prompt):
    h, past = tiny_llm(prompt)
    want = _naive_qwen2(tiny_llm, prompt)
    # float32 against float64: one chain of llm_depth (every layer, attention over the prompt) on the
    # RMS-normalised scale (>= 1)
    bound = fp32.vs64(fp32.llm_depth(tiny_llm, prompt.shape[1]), max(1.0, want.abs().max().item()))
    assert (h[0].double() - want).abs().max() <= bound
    q = tiny_llm.cfg.qwen
    # KV cache layout BSNH [1, P, n_kv, head_dim]
    assert len(past) == q.num_hidden_layers
    assert past[0][0].shape == (1, prompt.shape[1], q.num_key_value_heads, q.head_dim)


def test_prefill_equals_stepwise_decode(tiny_llm, prompt):
    with torch.no_grad():
        full, past_full = tiny_llm(prompt)
        n0 = 3
        h0, past = tiny_llm(prompt[:, :n0])
        outs = [h0]
        for i in range(n0, prompt.shape[1]):
            hi, past = tiny_llm(prompt[:, i:i + 1], past)
            outs.append(hi)
        step = torch.cat(outs, dim=1)
        # the same float32 chains on other shapes (GEMV vs GEMM, other blocking): pair(llm_depth)
        depth = fp32.llm_depth(tiny_llm, prompt.shape[1])
        assert (step - full).abs().max() <= fp32.pair(depth, max(1.0, full.abs().max().item()))
        for (k1, v1), (k2, v2) in zip(past, past_full):
            assert (k1 - k2).abs().max() <= fp32.pair(depth, max(1.0, k2.abs().max().item()))
            assert (v1 - v2).abs().max() <= fp32.pair(depth, max(1.0, v2.abs().max().item()))
        # a chunk of several tokens on top of a cache also agrees
        h_a, past_a = tiny_llm(prompt[:, :5])
        h_b, _ = tiny_llm(prompt[:, 5:], past_a)
        assert (torch.cat([h_a, h_b], 1) - full).abs().max() <= fp32.pair(depth, max(1.0, full.abs().max().item()))


def test_prompt_layout_and_logits(tiny_llm):
    cfg = tiny_llm.cfg
    e = tiny_llm.prompt_embeds([5, 6], [7])
    W_s = tiny_llm.speech_embedding.weight
    W_t = tiny_llm.llm.model.model.embed_tokens.weight
    assert e.shape == (1, 5, cfg.llm_input_size)
    assert torch.equal(e[0, 0], W_s[6561]) and torch.equal(e[0, 3], W_s[6563])   # sos, task_id
    assert torch.equal(e[0, 1], W_t[5]) and torch.equal(e[0, 2], W_t[6]) and torch.equal(e[0, 4], W_s[7])
    h, _ = tiny_llm(e)
    lg = tiny_llm.logits(h[:, -1])
    assert lg.shape == (1, 6761)
    W = tiny_llm.llm_decoder.weight
    # two float32 evaluations of a hidden-size dot product, on sum |h| |W|
    terms = (h[:, -1].abs() @ W.abs().T).max().item()
    assert (lg - h[:, -1] @ W.T).abs().max() <= fp32.pair(cfg.llm_output_size, terms)
    lp = tiny_llm.log_probs(h[:, -1])
    # log_softmax: the log-sum-exp of V terms (gamma(V) + exp, log) and the subtraction err by
    # gamma(V) + 2 FN_ULPS U + U (|lg| + |lse|) absolute; exp turns that into a relative error of each
    # p plus FN_ULPS; the float32 sum of V probabilities adds gamma(V)
    V = lg.shape[-1]
    lse = torch.logsumexp(lg.double(), -1).abs().item()
    tol = 2 * fp32.gamma(V) + 3 * fp32.FN_ULPS * fp32.U + fp32.U * (lg.abs().max().item() + lse)
    assert abs(lp.double().exp().sum().item() - 1.0) <= tol
