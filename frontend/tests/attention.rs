//! Attention and RotaryEmbedding decompositions: invalid attributes are errors naming node, op
//! and attribute, and the imported graphs compute what a direct loop over the ONNX definition
//! computes in cases the ONNX node tests leave out (f64 with a softmax_precision, grouped-query
//! heads with a KV cache and a short bool mask; 3-D interleaved partial rotation).
mod common;
use common::*;
use kiln_ir::eval::eval_graph;
use kiln_ir::Tensor;

const DOUBLE: i32 = 11;

/// Deterministic values in [-1, 1).
fn values(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

fn attention_error(attrs: Vec<onnx_protobuf::AttributeProto>, q: &[usize], inputs: &[&str]) -> String {
    let b = ModelBuilder::new(23)
        .input("Q", q)
        .input("K", &[1, 2, 3, 4])
        .input("V", &[1, 2, 3, 4])
        .input("past_key", &[1, 2, 3, 4])
        .node_attrs("Attention", inputs, &["Y"], attrs)
        .output("Y");
    b.import().map(|_| ()).unwrap_err().to_string()
}

#[test]
fn attention_invalid_attributes_name_node_op_and_attribute() {
    let q = [1, 2, 3, 4];
    let e = attention_error(vec![a_int("qk_matmul_output_mode", 4)], &q, &["Q", "K", "V"]);
    assert!(e.contains("node 'Attention_0' (Attention), attribute 'qk_matmul_output_mode'"), "{e}");
    let e = attention_error(vec![a_float("scale", -0.5)], &q, &["Q", "K", "V"]);
    assert!(e.contains("attribute 'scale'") && e.contains("-0.5"), "{e}");
    let e = attention_error(vec![a_int("softmax_precision", FLOAT16 as i64)], &q, &["Q", "K", "V"]);
    assert!(e.contains("attribute 'softmax_precision'") && e.contains("FLOAT16"), "{e}");
    let e = attention_error(vec![a_int("left_window_size", -2)], &q, &["Q", "K", "V"]);
    assert!(e.contains("attribute 'left_window_size'"), "{e}");
    let e = attention_error(vec![], &[1, 3, 8], &["Q", "K", "V"]);
    assert!(e.contains("ranks [3, 4, 4]"), "{e}");
    let e = attention_error(vec![], &q, &["Q", "K", "V", "", "past_key"]);
    assert!(e.contains("input 'past_key'") && e.contains("together"), "{e}");
}

#[test]
fn attention_three_d_inputs_need_head_counts() {
    let e = ModelBuilder::new(23)
        .input("Q", &[1, 3, 8])
        .input("K", &[1, 3, 8])
        .input("V", &[1, 3, 8])
        .node_attrs("Attention", &["Q", "K", "V"], &["Y"], vec![a_int("q_num_heads", 2)])
        .output("Y")
        .import()
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(e.contains("attribute 'kv_num_heads'") && e.contains("3-D"), "{e}");
}

/// Sizes of the grouped-query case: odd where possible.
const B: usize = 2;
const HQ: usize = 4;
const HKV: usize = 2;
const SQ: usize = 2;
const PAST: usize = 3;
const NEW: usize = 2;
const D: usize = 3;
const DV: usize = 5;
const MASK_LEN: usize = 4;

/// Y of causal grouped-query attention with a KV cache and a bool mask covering the first
/// `MASK_LEN` keys, straight from the definition (a row with no visible key is 0).
fn naive_attention(q: &[f64], kc: &[f64], vc: &[f64], mask: &[bool]) -> Vec<f64> {
    let total = PAST + NEW;
    let scale = 1.0 / (D as f64).sqrt();
    let mut y = vec![0.0; B * HQ * SQ * DV];
    for b in 0..B {
        for h in 0..HQ {
            let g = h / (HQ / HKV);
            for i in 0..SQ {
                let visible = |j: usize| j < MASK_LEN && mask[i * MASK_LEN + j] && j <= i + PAST;
                let score = |j: usize| {
                    (0..D)
                        .map(|d| q[((b * HQ + h) * SQ + i) * D + d] * kc[((b * HKV + g) * total + j) * D + d])
                        .sum::<f64>()
                        * scale
                };
                let keys: Vec<usize> = (0..total).filter(|&j| visible(j)).collect();
                let max = keys.iter().map(|&j| score(j)).fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = keys.iter().map(|&j| (score(j) - max).exp()).sum();
                for &j in &keys {
                    let p = (score(j) - max).exp() / sum;
                    for e in 0..DV {
                        y[((b * HQ + h) * SQ + i) * DV + e] += p * vc[((b * HKV + g) * total + j) * DV + e];
                    }
                }
            }
        }
    }
    y
}

/// Concatenation of past and new along the sequence axis of `[B, HKV, seq, width]`.
fn concat_seq(past: &[f64], new: &[f64], width: usize) -> Vec<f64> {
    let mut out = Vec::new();
    for bh in 0..B * HKV {
        out.extend_from_slice(&past[bh * PAST * width..(bh + 1) * PAST * width]);
        out.extend_from_slice(&new[bh * NEW * width..(bh + 1) * NEW * width]);
    }
    out
}

#[test]
fn attention_f64_grouped_heads_with_cache_causal_and_short_bool_mask() {
    let dims = |d: &[usize]| d.iter().map(|&x| kiln_frontend::Dim::Fixed(x)).collect();
    let mut b = ModelBuilder::new(24)
        .input_typed("Q", DOUBLE, dims(&[B, HQ, SQ, D]))
        .input_typed("K", DOUBLE, dims(&[B, HKV, NEW, D]))
        .input_typed("V", DOUBLE, dims(&[B, HKV, NEW, DV]))
        .input_typed("mask", BOOL, dims(&[SQ, MASK_LEN]))
        .input_typed("past_key", DOUBLE, dims(&[B, HKV, PAST, D]))
        .input_typed("past_value", DOUBLE, dims(&[B, HKV, PAST, DV]))
        .node_attrs(
            "Attention",
            &["Q", "K", "V", "mask", "past_key", "past_value"],
            &["Y", "present_key", "present_value"],
            vec![a_int("is_causal", 1), a_int("softmax_precision", DOUBLE as i64)],
        );
    for name in ["Y", "present_key", "present_value"] {
        b.graph.output.push(value_info(name, DOUBLE, None));
    }
    let g = b.graph();
    let (q, k, v) = (values(B * HQ * SQ * D, 1), values(B * HKV * NEW * D, 2), values(B * HKV * NEW * DV, 3));
    let (pk, pv) = (values(B * HKV * PAST * D, 4), values(B * HKV * PAST * DV, 5));
    // Query 0 sees keys 0 and 3 (the mask and the causal frontier agree on nothing else); query
    // 1 sees none (a guarded zero row); key 4 lies past the mask, padded as masked.
    let mask = vec![true, false, false, true, false, false, false, false];
    let t = |shape: &[usize], v: &[f64]| Tensor::from_vec(shape.to_vec(), v.to_vec());
    let inputs = [
        t(&[B, HQ, SQ, D], &q),
        t(&[B, HKV, NEW, D], &k),
        t(&[B, HKV, NEW, DV], &v),
        Tensor::from_vec(vec![SQ, MASK_LEN], mask.clone()),
        t(&[B, HKV, PAST, D], &pk),
        t(&[B, HKV, PAST, DV], &pv),
    ];
    let outs = eval_graph(&g, &inputs).unwrap_or_else(|e| panic!("{e}"));
    let (kc, vc) = (concat_seq(&pk, &k, D), concat_seq(&pv, &v, DV));
    assert_eq!(outs[1].as_slice::<f64>().unwrap(), kc.as_slice());
    assert_eq!(outs[2].as_slice::<f64>().unwrap(), vc.as_slice());
    let want = naive_attention(&q, &kc, &vc, &mask);
    let got = outs[0].as_slice::<f64>().unwrap();
    assert_eq!(outs[0].shape(), [B, HQ, SQ, DV]);
    assert!(got.iter().skip(DV).take(DV).all(|&x| x == 0.0), "query 1 of batch 0 head 0 sees no key");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!((g - w).abs() < 1e-12, "Y[{i}] = {g}, expected {w}");
    }
}

#[test]
fn rotary_invalid_attributes_name_node_op_and_attribute() {
    let model = |x: &[usize], attrs| {
        ModelBuilder::new(23)
            .input("x", x)
            .input("cos", &[1, 3, 2])
            .input("sin", &[1, 3, 2])
            .node_attrs("RotaryEmbedding", &["x", "cos", "sin"], &["y"], attrs)
            .output("y")
            .import()
            .map(|_| ())
            .unwrap_err()
            .to_string()
    };
    let e = model(&[1, 2, 3, 8], vec![a_int("rotary_embedding_dim", 3)]);
    assert!(e.contains("node 'RotaryEmbedding_0' (RotaryEmbedding), attribute 'rotary_embedding_dim'"), "{e}");
    let e = model(&[1, 3, 8], vec![]);
    assert!(e.contains("attribute 'num_heads'"), "{e}");
    let e = model(&[1, 2, 3, 8], vec![]);
    assert!(e.contains("input 'cos'") && e.contains("[1, 3, 4]"), "{e}");
}

/// 3-D input `[B, S, H*Dh]`, interleaved rotation of the first `rot` features of every head.
fn naive_rotary(
    x: &[f64],
    cos: &[f64],
    sin: &[f64],
    (b, s, h, dh, rot): (usize, usize, usize, usize, usize),
) -> Vec<f64> {
    let mut y = x.to_vec();
    for bi in 0..b {
        for si in 0..s {
            for hi in 0..h {
                let base = ((bi * s + si) * h + hi) * dh;
                for p in 0..rot / 2 {
                    let (c, sn) = (cos[(bi * s + si) * rot / 2 + p], sin[(bi * s + si) * rot / 2 + p]);
                    let (x1, x2) = (x[base + 2 * p], x[base + 2 * p + 1]);
                    y[base + 2 * p] = c * x1 - sn * x2;
                    y[base + 2 * p + 1] = sn * x1 + c * x2;
                }
            }
        }
    }
    y
}

#[test]
fn rotary_three_d_interleaved_partial_rotation_matches_the_definition() {
    let (b, s, h, dh, rot) = (2, 3, 3, 6, 4);
    let dims = |d: &[usize]| d.iter().map(|&x| kiln_frontend::Dim::Fixed(x)).collect();
    let mut m = ModelBuilder::new(23)
        .input_typed("x", DOUBLE, dims(&[b, s, h * dh]))
        .input_typed("cos", DOUBLE, dims(&[b, s, rot / 2]))
        .input_typed("sin", DOUBLE, dims(&[b, s, rot / 2]))
        .node_attrs(
            "RotaryEmbedding",
            &["x", "cos", "sin"],
            &["y"],
            vec![a_int("num_heads", h as i64), a_int("interleaved", 1), a_int("rotary_embedding_dim", rot as i64)],
        );
    m.graph.output.push(value_info("y", DOUBLE, None));
    let g = m.graph();
    let (x, cos, sin) = (values(b * s * h * dh, 7), values(b * s * rot / 2, 8), values(b * s * rot / 2, 9));
    let inputs = [
        Tensor::from_vec(vec![b, s, h * dh], x.clone()),
        Tensor::from_vec(vec![b, s, rot / 2], cos.clone()),
        Tensor::from_vec(vec![b, s, rot / 2], sin.clone()),
    ];
    let outs = eval_graph(&g, &inputs).unwrap_or_else(|e| panic!("{e}"));
    let want = naive_rotary(&x, &cos, &sin, (b, s, h, dh, rot));
    assert_eq!(outs[0].shape(), [b, s, h * dh]);
    for (i, (g, w)) in outs[0].as_slice::<f64>().unwrap().iter().zip(&want).enumerate() {
        assert!((g - w).abs() < 1e-12, "y[{i}] = {g}, expected {w}");
    }
}

#[test]
fn attention_head_attributes_with_4d_inputs_must_agree_or_be_absent() {
    let e = attention_error(vec![a_int("q_num_heads", 3)], &[1, 2, 3, 4], &["Q", "K", "V"]);
    assert!(e.contains("attribute 'q_num_heads'") && e.contains("2 heads"), "{e}");
    let b = ModelBuilder::new(25)
        .input("Q", &[1, 2, 3, 4])
        .input("K", &[1, 2, 3, 4])
        .input("V", &[1, 2, 3, 4])
        .node_attrs("Attention", &["Q", "K", "V"], &["Y"], vec![a_int("kv_num_heads", 2)])
        .output("Y");
    let e = b.import().map(|_| ()).unwrap_err().to_string();
    assert!(e.contains("attribute 'kv_num_heads'") && e.contains("opset 25"), "{e}");
}

/// `qk_matmul_output` of one head, one query, two keys with a softcap: mode 0 is the raw scaled
/// product (the schema), mode 1 the softcapped one.
fn qk_output(mode: i64) -> Vec<f32> {
    let mut b = ModelBuilder::new(23)
        .input("Q", &[1, 1, 1, 2])
        .input("K", &[1, 1, 2, 2])
        .input("V", &[1, 1, 2, 2])
        .node_attrs(
            "Attention",
            &["Q", "K", "V"],
            &["Y", "", "", "qk"],
            vec![a_int("qk_matmul_output_mode", mode), a_float("softcap", 0.5), a_float("scale", 0.25)],
        )
        .output("Y");
    b.graph.output.push(value_info("qk", FLOAT, None));
    let g = b.graph();
    let inputs = [f32s(&[1, 1, 1, 2], &[1.0, 2.0]), f32s(&[1, 1, 2, 2], &[3.0, -1.0, 0.5, 0.5]), zeros(&[1, 1, 2, 2])];
    let outs = eval_graph(&g, &inputs).unwrap_or_else(|e| panic!("{e}"));
    outs[1].as_slice::<f32>().unwrap().to_vec()
}

#[test]
fn attention_qk_output_mode_0_is_before_softcap_and_mode_1_after() {
    let raw = [0.25 * (3.0 - 2.0), 0.25 * (0.5 + 1.0)];
    let capped = raw.map(|x: f32| 0.5 * (x / 0.5).tanh());
    for (got, want) in qk_output(0).iter().zip(raw) {
        assert!((got - want).abs() < 1e-6, "mode 0: {got} vs {want}");
    }
    for (got, want) in qk_output(1).iter().zip(capped) {
        assert!((got - want).abs() < 1e-6, "mode 1: {got} vs {want}");
    }
}
