//! Import of `ScatterElements`: the one-hot decomposition against a direct loop for every
//! reduction on axis 1 with duplicate and negative indices and indices narrower than the data,
//! and the error for an unknown reduction.
mod common;
use common::*;
use kiln_ir::{eval_graph, Tensor};

const IDX: [i64; 4] = [1, -1, 1, 0]; // 2x2 indices into a 3x4 data along axis 1
const UPD: [f32; 4] = [10.0, 20.0, 30.0, 40.0];

fn scatter(reduction: &str) -> Vec<f64> {
    let data = f32s(&[3, 4], &(0..12).map(|v| v as f32).collect::<Vec<_>>());
    let g = ModelBuilder::new(18)
        .input("d", &[3, 4])
        .init("i", &Tensor::from_vec(vec![2, 2], IDX.to_vec()))
        .init("u", &f32s(&[2, 2], &UPD))
        .node_attrs("ScatterElements", &["d", "i", "u"], &["y"], vec![a_int("axis", 1), a_str("reduction", reduction)])
        .output("y")
        .graph();
    eval_graph(&verified(g), &[data]).unwrap_or_else(|e| panic!("{e}"))[0].to_f64_vec()
}

fn direct(reduction: &str) -> Vec<f64> {
    let mut out: Vec<f64> = (0..12).map(|v| v as f64).collect();
    for r in 0..2 {
        for c in 0..2 {
            let k = IDX[r * 2 + c];
            let k = if k < 0 { k + 4 } else { k } as usize;
            let (slot, u) = (&mut out[r * 4 + k], UPD[r * 2 + c] as f64);
            *slot = match reduction {
                "add" => *slot + u,
                "mul" => *slot * u,
                "max" => slot.max(u),
                "min" => slot.min(u),
                _ => u,
            };
        }
    }
    out
}

#[test]
fn every_reduction_equals_the_direct_scatter() {
    for reduction in ["none", "add", "mul", "max", "min"] {
        assert_eq!(scatter(reduction), direct(reduction), "reduction {reduction}");
    }
}

#[test]
fn unknown_reduction_names_the_attribute() {
    let e = ModelBuilder::new(18)
        .input("d", &[2])
        .init("i", &Tensor::from_vec(vec![1], vec![0i64]))
        .init("u", &f32s(&[1], &[1.0]))
        .node_attrs("ScatterElements", &["d", "i", "u"], &["y"], vec![a_str("reduction", "avg")])
        .output("y")
        .import()
        .unwrap_err()
        .to_string();
    assert!(e.contains("(ScatterElements), attribute 'reduction'"), "{e}");
}
