//! Import of `GatherND` (with `batch_dims`) and `ScatterND` (with a reduction and a duplicate
//! index) against direct loops, and the shape errors naming the attribute or input.
mod common;
use common::*;
use kiln_ir::{eval_graph, Tensor};

fn run(b: ModelBuilder, data: &Tensor) -> Vec<f64> {
    eval_graph(&verified(b.graph()), std::slice::from_ref(data)).unwrap_or_else(|e| panic!("{e}"))[0].to_f64_vec()
}

#[test]
fn gather_nd_with_one_batch_dim_picks_rows_per_batch() {
    // data [2, 3, 2]; indices [2, 1, 1] (batch_dims 1): out[b, 0] = data[b, idx[b, 0, 0], :].
    let data = f32s(&[2, 3, 2], &(0..12).map(|v| v as f32).collect::<Vec<_>>());
    let idx = [2i64, -3];
    let b = ModelBuilder::new(13)
        .input("d", &[2, 3, 2])
        .init("i", &Tensor::from_vec(vec![2, 1, 1], idx.to_vec()))
        .node_attrs("GatherND", &["d", "i"], &["y"], vec![a_int("batch_dims", 1)])
        .output("y");
    let want: Vec<f64> = (0..2)
        .flat_map(|bt| {
            let r = if idx[bt] < 0 { idx[bt] + 3 } else { idx[bt] } as usize;
            (0..2).map(move |c| ((bt * 3 + r) * 2 + c) as f64)
        })
        .collect();
    assert_eq!(run(b, &data), want);
}

#[test]
fn scatter_nd_add_accumulates_duplicate_rows() {
    // data [3, 2]; indices [3, 1] with row 1 twice; updates [3, 2].
    let data = f32s(&[3, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let upd = [10.0f32, 20.0, 30.0, 40.0, 50.0, 60.0];
    let b = ModelBuilder::new(18)
        .input("d", &[3, 2])
        .init("i", &Tensor::from_vec(vec![3, 1], vec![1i64, -2, 0]))
        .init("u", &f32s(&[3, 2], &upd))
        .node_attrs("ScatterND", &["d", "i", "u"], &["y"], vec![a_str("reduction", "add")])
        .output("y");
    let mut want: Vec<f64> = data.to_f64_vec();
    for (u, row) in [1usize, 1, 0].iter().enumerate() {
        for c in 0..2 {
            want[row * 2 + c] += upd[u * 2 + c] as f64;
        }
    }
    assert_eq!(run(b, &data), want);
}

#[test]
fn shape_errors_name_the_attribute_or_input() {
    let e = ModelBuilder::new(13)
        .input("d", &[2, 3])
        .init("i", &Tensor::from_vec(vec![2, 1], vec![0i64, 1]))
        .node_attrs("GatherND", &["d", "i"], &["y"], vec![a_int("batch_dims", 2)])
        .output("y")
        .import()
        .unwrap_err()
        .to_string();
    assert!(e.contains("attribute 'batch_dims'"), "{e}");
    let e = ModelBuilder::new(13)
        .input("d", &[2, 3])
        .init("i", &Tensor::from_vec(vec![2, 1], vec![0i64, 1]))
        .init("u", &f32s(&[2, 2], &[0.0; 4]))
        .node("ScatterND", &["d", "i", "u"], &["y"])
        .output("y")
        .import()
        .unwrap_err()
        .to_string();
    assert!(e.contains("(ScatterND), input 'u'"), "{e}");
}
