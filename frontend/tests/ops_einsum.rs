//! Import of `Einsum`: a contraction with a diagonal against a direct loop, explicit and
//! implicit (numpy's rule: a label repeated anywhere is summed), and equation errors naming the
//! attribute.
mod common;
use common::*;
use kiln_ir::eval_graph;

#[test]
fn diagonal_times_matrix_explicit_and_implicit() {
    // "iij,jk->ik": out[i,k] = sum_j a[i,i,j] * b[j,k]; implicit "iij,jk" sums i too ("k").
    let a: Vec<f32> = (0..18).map(|v| v as f32 * 0.5 - 3.0).collect(); // [3,3,2]
    let b: Vec<f32> = (0..8).map(|v| (v as f32).cos()).collect(); // [2,4]
    let run = |eq: &str| {
        let m = ModelBuilder::new(12)
            .input("a", &[3, 3, 2])
            .input("b", &[2, 4])
            .node_attrs("Einsum", &["a", "b"], &["y"], vec![a_str("equation", eq)])
            .output("y");
        let g = verified(m.graph());
        let ins = [f32s(&[3, 3, 2], &a), f32s(&[2, 4], &b)];
        eval_graph(&g, &ins).unwrap_or_else(|e| panic!("{e}"))[0].to_f64_vec()
    };
    let got = run("iij, jk -> ik");
    let want: Vec<f64> = (0..3)
        .flat_map(|i| (0..4).map(move |k| (i, k)))
        .map(|(i, k)| (0..2).map(|j| a[(i * 3 + i) * 2 + j] as f64 * b[j * 4 + k] as f64).sum())
        .collect();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-5, "{got:?} vs {want:?}");
    }
    let implicit = run("iij,jk");
    let traced: Vec<f64> = (0..4).map(|k| (0..3).map(|i| want[i * 4 + k]).sum()).collect();
    assert_eq!(implicit.len(), 4);
    for (g, w) in implicit.iter().zip(&traced) {
        assert!((g - w).abs() < 1e-5, "{implicit:?} vs {traced:?}");
    }
}

#[test]
fn malformed_equations_name_the_attribute() {
    let model = |eq: &str| {
        ModelBuilder::new(12)
            .input("a", &[2, 3])
            .node_attrs("Einsum", &["a"], &["y"], vec![a_str("equation", eq)])
            .output("y")
            .import()
            .unwrap_err()
            .to_string()
    };
    for eq in ["ijk->i", "ij,jk->ik", "ij->iz", "i1->i"] {
        let e = model(eq);
        assert!(e.contains("(Einsum), attribute 'equation'"), "{eq}: {e}");
    }
}

#[test]
fn an_ellipsis_term_longer_than_the_rank_is_an_error() {
    let e = ModelBuilder::new(12)
        .input("a", &[2])
        .node_attrs("Einsum", &["a"], &["y"], vec![a_str("equation", "abcdef...->a")])
        .output("y")
        .import()
        .unwrap_err()
        .to_string();
    assert!(e.contains("attribute 'equation'"), "{e}");
}
