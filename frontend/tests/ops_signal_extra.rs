//! Import of `STFT` and `MelWeightMatrix` against direct loops written from the ONNX reference
//! implementations (`op_stft.py`, `op_mel_weight_matrix.py`) at odd sizes: real and complex
//! signals, one- and two-sided spectra, constant and run-time windows; and the input errors.
mod common;
use common::*;
use kiln_ir::{eval_graph, Tensor};
use std::f64::consts::PI;

fn scalar_i64(v: i64) -> Tensor {
    Tensor::from_vec(vec![], vec![v])
}

fn signal(n: usize, seed: f32) -> Vec<f32> {
    (0..n).map(|i| ((i as f32 * 0.77 + seed).sin() * 1.5 + (i as f32 * 0.13).cos()) * 0.5).collect()
}

fn close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "{what}: element {i}: got {g}, want {w}");
    }
}

// ---------------------------------------------------------------- STFT

struct Case {
    batch: usize,
    len: usize,
    parts: usize,
    step: usize,
    frame: usize,
    onesided: bool,
}

/// The reference: frames of `frame` samples every `step`, times the window, full DFT, the first
/// `frame/2 + 1` bins when one-sided. `[B, F, K, 2]` flattened.
fn stft_reference(c: &Case, x: &[f32], window: Option<&[f32]>) -> Vec<f64> {
    let frames = 1 + (c.len - c.frame) / c.step;
    let bins = if c.onesided { c.frame / 2 + 1 } else { c.frame };
    let mut out = Vec::new();
    for b in 0..c.batch {
        for f in 0..frames {
            for k in 0..bins {
                let (mut re, mut im) = (0f64, 0f64);
                for j in 0..c.frame {
                    let at = (b * c.len + f * c.step + j) * c.parts;
                    let w = window.map_or(1.0, |w| w[j] as f64);
                    let (xr, xi) = (x[at] as f64 * w, if c.parts == 2 { x[at + 1] as f64 * w } else { 0.0 });
                    let a = -2.0 * PI * (j * k) as f64 / c.frame as f64;
                    re += xr * a.cos() - xi * a.sin();
                    im += xr * a.sin() + xi * a.cos();
                }
                out.extend([re, im]);
            }
        }
    }
    out
}

/// STFT with constant frame_step and frame_length; the window is an initializer (`const_window`)
/// or a graph input.
fn run_stft(c: &Case, x: &[f32], window: Option<&[f32]>, const_window: bool) -> (Vec<usize>, Vec<f64>) {
    let shape = [c.batch, c.len, c.parts];
    let mut b = ModelBuilder::new(17)
        .input("x", &shape)
        .init("step", &scalar_i64(c.step as i64))
        .init("length", &scalar_i64(c.frame as i64));
    let mut feeds = vec![f32s(&shape, x)];
    let win_name = match window {
        None => "",
        Some(w) if const_window => {
            b = b.init("w", &f32s(&[w.len()], w));
            "w"
        }
        Some(w) => {
            b = b.input("w", &[w.len()]);
            feeds.push(f32s(&[w.len()], w));
            "w"
        }
    };
    let attrs = vec![a_int("onesided", c.onesided as i64)];
    let b = b.node_attrs("STFT", &["x", "step", win_name, "length"], &["y"], attrs).output("y");
    let g = verified(b.graph());
    let got = eval_graph(&g, &feeds).unwrap_or_else(|e| panic!("{e}"));
    (got[0].shape().to_vec(), got[0].to_f64_vec())
}

fn check_stft(c: Case, window: bool) {
    let x = signal(c.batch * c.len * c.parts, c.frame as f32);
    let w: Vec<f32> = (0..c.frame).map(|j| 0.5 - 0.4 * (2.0 * PI * j as f64 / c.frame as f64).cos() as f32).collect();
    let win = window.then_some(w.as_slice());
    let want = stft_reference(&c, &x, win);
    let frames = 1 + (c.len - c.frame) / c.step;
    let bins = if c.onesided { c.frame / 2 + 1 } else { c.frame };
    for const_window in [true, false] {
        let (shape, got) = run_stft(&c, &x, win, const_window);
        assert_eq!(shape, vec![c.batch, frames, bins, 2]);
        let what =
            format!("len {} parts {} step {} frame {} window {window}/{const_window}", c.len, c.parts, c.step, c.frame);
        close(&got, &want, 1e-4, &what);
        if !window {
            break;
        }
    }
}

#[test]
fn real_signals_at_odd_sizes_match_the_reference() {
    for (len, step, frame) in [(17, 3, 5), (17, 1, 17), (1, 1, 1), (5, 5, 3), (33, 5, 16)] {
        for onesided in [true, false] {
            for window in [false, true] {
                check_stft(Case { batch: 3, len, parts: 1, step, frame, onesided }, window);
            }
        }
    }
}

#[test]
fn complex_signals_match_the_reference() {
    for (len, step, frame) in [(17, 3, 5), (5, 1, 3), (1, 1, 1)] {
        for onesided in [false, true] {
            check_stft(Case { batch: 1, len, parts: 2, step, frame, onesided }, true);
        }
    }
}

#[test]
fn frame_length_defaults_to_the_window_then_the_signal() {
    let x = signal(17, 0.3);
    let w: Vec<f32> = (0..5).map(|j| 1.0 - 0.1 * j as f32).collect();
    // window only: frame length 5
    let b = ModelBuilder::new(17)
        .input("x", &[1, 17, 1])
        .init("step", &scalar_i64(3))
        .init("w", &f32s(&[5], &w))
        .node("STFT", &["x", "step", "w"], &["y"])
        .output("y");
    let got = eval_graph(&verified(b.graph()), &[f32s(&[1, 17, 1], &x)]).unwrap_or_else(|e| panic!("{e}"));
    let c = Case { batch: 1, len: 17, parts: 1, step: 3, frame: 5, onesided: true };
    close(&got[0].to_f64_vec(), &stft_reference(&c, &x, Some(&w)), 1e-4, "window length");
    // neither: one frame of the whole signal
    let b = ModelBuilder::new(17)
        .input("x", &[1, 17, 1])
        .init("step", &scalar_i64(2))
        .node("STFT", &["x", "step"], &["y"])
        .output("y");
    let got = eval_graph(&verified(b.graph()), &[f32s(&[1, 17, 1], &x)]).unwrap_or_else(|e| panic!("{e}"));
    let c = Case { batch: 1, len: 17, parts: 1, step: 2, frame: 17, onesided: true };
    assert_eq!(got[0].shape(), &[1, 1, 9, 2]);
    close(&got[0].to_f64_vec(), &stft_reference(&c, &x, None), 1e-4, "signal length");
}

#[test]
fn bad_stft_inputs_are_errors_naming_them() {
    let err = |step: i64, length: i64, window: usize| {
        let mut b = ModelBuilder::new(17)
            .input("x", &[1, 9, 1])
            .init("step", &scalar_i64(step))
            .init("length", &scalar_i64(length));
        b = b.init("w", &f32s(&[window], &vec![1.0; window]));
        b.node("STFT", &["x", "step", "w", "length"], &["y"]).output("y").import().unwrap_err().to_string()
    };
    assert!(err(0, 4, 4).contains("frame_step 0 must be > 0"), "{}", err(0, 4, 4));
    assert!(err(2, 10, 10).contains("frame length 10"), "{}", err(2, 10, 10));
    assert!(err(2, 4, 3).contains("'w'"), "{}", err(2, 4, 3));
    let runtime_step = ModelBuilder::new(17)
        .input("x", &[1, 9, 1])
        .input_typed("step", INT64, vec![])
        .node("STFT", &["x", "step"], &["y"])
        .output("y")
        .import()
        .unwrap_err()
        .to_string();
    assert!(runtime_step.contains("input 'step': must be known at compile time"), "{runtime_step}");
    let bad_signal =
        ModelBuilder::new(17).input("x", &[1, 9, 3]).init("step", &scalar_i64(1)).node("STFT", &["x", "step"], &["y"]);
    let e = bad_signal.output("y").import().unwrap_err().to_string();
    assert!(e.contains("'x'") && e.contains("STFT"), "{e}");
}

// ---------------------------------------------------------------- MelWeightMatrix

/// numpy float64 floor division.
fn floor_div(a: f64, b: f64) -> f64 {
    (a / b).floor()
}

/// The reference with f32 edge frequencies (numpy keeps `f32 / 700` and `log1p` in float32).
fn mel_reference(mel_bins: usize, dft: usize, rate: i64, lower: f32, upper: f32) -> Vec<f64> {
    let rows = dft / 2 + 1;
    let mel = |hz: f32| (2595.0f32 * (hz / 700.0).ln_1p()) as f64 / std::f64::consts::LN_10;
    let (lo, hi) = (mel(lower), mel(upper));
    let step = (hi - lo) / (mel_bins + 2) as f64;
    let bins: Vec<i64> = (0..mel_bins + 2)
        .map(|i| {
            let hz = 700.0 * ((i as f64 * step + lo) / 2595.0 * std::f64::consts::LN_10).exp_m1();
            floor_div((dft as f64 + 1.0) * hz, rate as f64) as i64
        })
        .collect();
    let mut out = vec![0.0; rows * mel_bins];
    for i in 0..mel_bins {
        let (l, c, h) = (bins[i], bins[i + 1], bins[i + 2]);
        if c == l {
            out[c as usize * mel_bins + i] = 1.0;
        } else {
            for j in l..=c {
                out[j as usize * mel_bins + i] = (j - l) as f64 / (c - l) as f64;
            }
        }
        if h > c {
            for j in c..h {
                out[j as usize * mel_bins + i] = (h - j) as f64 / (h - c) as f64;
            }
        }
    }
    out
}

fn mel_model(
    mel_bins: i64,
    dft: i64,
    rate: i64,
    lower: f32,
    upper: f32,
    attrs: Vec<onnx_protobuf::AttributeProto>,
) -> ModelBuilder {
    let i32s = |v: i64| Tensor::from_vec(vec![], vec![v as i32]);
    let f = |v: f32| Tensor::from_vec(vec![], vec![v]);
    ModelBuilder::new(17)
        .init("n", &i32s(mel_bins))
        .init("dft", &i32s(dft))
        .init("rate", &i32s(rate))
        .init("lo", &f(lower))
        .init("hi", &f(upper))
        .node_attrs("MelWeightMatrix", &["n", "dft", "rate", "lo", "hi"], &["y"], attrs)
        .output("y")
}

#[test]
fn mel_weights_match_the_reference_at_odd_sizes() {
    let cases = [
        (8, 16, 8192, 0.0, 4096.0),
        (5, 17, 16000, 20.0, 8000.0),
        (1, 33, 22050, 300.0, 3000.0),
        (3, 1, 8000, 0.0, 100.0),
        (17, 64, 16000, 0.0, 8000.0),
        (0, 5, 8000, 0.0, 1000.0),
    ];
    for (n, dft, rate, lo, hi) in cases {
        let g = verified(mel_model(n as i64, dft as i64, rate, lo, hi, vec![]).graph());
        let got = eval_graph(&g, &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got[0].shape(), &[dft / 2 + 1, n]);
        let want: Vec<f64> = mel_reference(n, dft, rate, lo, hi).iter().map(|&v| v as f32 as f64).collect();
        close(&got[0].to_f64_vec(), &want, 0.0, &format!("{n} {dft} {rate}"));
    }
}

#[test]
fn mel_output_datatype_is_honoured() {
    let g = verified(mel_model(5, 17, 16000, 20.0, 8000.0, vec![a_int("output_datatype", 11)]).graph());
    let got = eval_graph(&g, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got[0].dtype(), kiln_ir::DType::F64);
    close(&got[0].to_f64_vec(), &mel_reference(5, 17, 16000, 20.0, 8000.0), 0.0, "f64");
}

#[test]
fn bad_mel_inputs_are_errors_naming_them() {
    let err = |m: ModelBuilder| m.import().unwrap_err().to_string();
    let e = err(mel_model(4, 16, 0, 0.0, 100.0, vec![]));
    assert!(e.contains("'rate'") && e.contains("MelWeightMatrix"), "{e}");
    let e = err(mel_model(-1, 16, 8000, 0.0, 100.0, vec![]));
    assert!(e.contains("'n'"), "{e}");
    // An upper edge above the Nyquist frequency reaches past the spectrogram's rows.
    let e = err(mel_model(4, 16, 8000, 0.0, 16000.0, vec![]));
    assert!(e.contains("outside the 9 bins"), "{e}");
    let e = err(mel_model(4, 16, 8000, 0.0, 100.0, vec![a_int("output_datatype", 8)]));
    assert!(e.contains("output_datatype"), "{e}");
    let runtime = ModelBuilder::new(17)
        .input_typed("n", 6, vec![])
        .init("dft", &Tensor::from_vec(vec![], vec![16i32]))
        .init("rate", &Tensor::from_vec(vec![], vec![8000i32]))
        .init("lo", &Tensor::from_vec(vec![], vec![0f32]))
        .init("hi", &Tensor::from_vec(vec![], vec![100f32]))
        .node("MelWeightMatrix", &["n", "dft", "rate", "lo", "hi"], &["y"])
        .output("y");
    let e = err(runtime);
    assert!(e.contains("input 'n': must be known at compile time"), "{e}");
}
