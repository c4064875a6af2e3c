//! Test support for the optimizer and its rule families: random inputs, before/after output
//! comparison with the reference evaluator, and a generated residual network.
//!
//! It lives in the library (not in `tests/`) so every rule family's tests share one copy; it has
//! no dependencies (a xorshift generator instead of `rand`) and is never used by the optimizer.

use kiln_ir::{eval_graph, print_graph, BinaryOp, ConvAttrs, DType, Graph, Op, Tensor, TensorType, UnaryOp};

/// A small deterministic generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * (hi - lo)
    }
}

/// Random inputs of the graph's input types: floats in [-2, 2), ints in [-20, 20) (unsigned
/// [0, 40)), random bools.
pub fn random_inputs(g: &Graph, seed: u64) -> Vec<Tensor> {
    let mut rng = Rng::new(seed);
    g.inputs
        .iter()
        .map(|&v| {
            let ty = g.ty(v);
            let vals: Vec<f64> = (0..ty.numel())
                .map(|_| match ty.dtype {
                    DType::F32 | DType::F64 => rng.uniform(-2.0, 2.0),
                    DType::Bool => rng.uniform(0.0, 2.0).floor(),
                    d if d.is_signed_int() => rng.uniform(-20.0, 20.0).floor(),
                    _ => rng.uniform(0.0, 40.0).floor(),
                })
                .collect();
            Tensor::from_f64(ty.dtype, ty.shape.clone(), &vals)
        })
        .collect()
}

/// Outputs of both graphs on the same random inputs (types checked equal), as f64 vectors.
///
/// # Panics
/// When a graph fails to evaluate or the output types differ (it is a test helper).
pub fn outputs_of(before: &Graph, after: &Graph, seed: u64) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let inputs = random_inputs(before, seed);
    let a = eval_graph(before, &inputs).unwrap_or_else(|e| panic!("{e}\n{}", print_graph(before, false)));
    let b = eval_graph(after, &inputs).unwrap_or_else(|e| panic!("{e}\n{}", print_graph(after, false)));
    assert_eq!(a.len(), b.len(), "output counts differ");
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.ty(), y.ty(), "output types differ");
    }
    (a.iter().map(|t| t.to_f64_vec()).collect(), b.iter().map(|t| t.to_f64_vec()).collect())
}

/// Asserts identical outputs on two random input sets.
///
/// # Panics
/// When they differ.
pub fn assert_same_outputs(before: &Graph, after: &Graph) {
    for seed in [1, 2] {
        let (a, b) = outputs_of(before, after, seed);
        assert!(
            a == b,
            "outputs differ\nbefore:\n{}\nafter:\n{}",
            print_graph(before, false),
            print_graph(after, false)
        );
    }
}

/// Asserts outputs equal within `tol * (1 + |expected|)`.
///
/// # Panics
/// When they differ by more.
pub fn assert_close_outputs(before: &Graph, after: &Graph, tol: f64) {
    let (a, b) = outputs_of(before, after, 3);
    for (x, y) in a.iter().zip(&b) {
        for (p, q) in x.iter().zip(y) {
            assert!((p - q).abs() <= tol * (1.0 + p.abs()), "{p} vs {q}");
        }
    }
}

fn f32t(shape: &[usize]) -> TensorType {
    TensorType::new(DType::F32, shape.to_vec())
}

fn random_const(rng: &mut Rng, shape: &[usize], scale: f64) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::from_vec(shape.to_vec(), (0..n).map(|_| rng.uniform(-scale, scale) as f32).collect::<Vec<f32>>())
}

/// A residual network of `blocks` blocks of 10 nodes each on `f32[1,4,6,6]`, with work for the
/// algebra rules in every block (a multiply by ones, a transpose pair, a reshape pair, an add of
/// zeros): conv -> relu -> mul 1 -> add residual -> transpose -> transpose -> reshape ->
/// reshape -> add 0 -> sigmoid.
pub fn residual_net(blocks: usize) -> Graph {
    let mut rng = Rng::new(7);
    let mut g = Graph::new();
    let shape = [1, 4, 6, 6];
    let mut x = g.add_input("x", f32t(&shape));
    let ones = g.add_const("ones", Tensor::from_vec(vec![1], vec![1.0f32]));
    let zeros = g.add_const("zeros", Tensor::from_vec(vec![4, 1, 1], vec![0.0f32; 4]));
    let conv = Op::Conv(ConvAttrs {
        kernel: vec![3, 3],
        strides: vec![1, 1],
        dilations: vec![1, 1],
        pads: vec![1, 1, 1, 1],
        group: 1,
    });
    for b in 0..blocks {
        let w = g.add_const(format!("w{b}"), random_const(&mut rng, &[4, 4, 3, 3], 0.3));
        let bias = g.add_const(format!("b{b}"), random_const(&mut rng, &[4], 0.1));
        let n = |s: &str| format!("{s}_{b}");
        let c = g.add_node1(n("Conv"), conv.clone(), vec![x, w, bias], n("conv"), f32t(&shape));
        let r = g.add_node1(n("Relu"), Op::Unary(UnaryOp::Relu), vec![c], n("relu"), f32t(&shape));
        let m = g.add_node1(n("Mul"), Op::Binary(BinaryOp::Mul), vec![r, ones], n("mul"), f32t(&shape));
        let a = g.add_node1(n("Add"), Op::Binary(BinaryOp::Add), vec![m, x], n("add"), f32t(&shape));
        let t1 = g.add_node1(n("T1"), Op::Transpose { perm: vec![0, 2, 3, 1] }, vec![a], n("t1"), f32t(&[1, 6, 6, 4]));
        let t2 = g.add_node1(n("T2"), Op::Transpose { perm: vec![0, 3, 1, 2] }, vec![t1], n("t2"), f32t(&shape));
        let r1 = g.add_node1(n("R1"), Op::Reshape { shape: vec![1, 4, 36] }, vec![t2], n("r1"), f32t(&[1, 4, 36]));
        let r2 = g.add_node1(n("R2"), Op::Reshape { shape: shape.to_vec() }, vec![r1], n("r2"), f32t(&shape));
        let z = g.add_node1(n("AddZero"), Op::Binary(BinaryOp::Add), vec![r2, zeros], n("z"), f32t(&shape));
        x = g.add_node1(n("Sigmoid"), Op::Unary(UnaryOp::Sigmoid), vec![z], n("sig"), f32t(&shape));
    }
    g.outputs = vec![x];
    g
}
