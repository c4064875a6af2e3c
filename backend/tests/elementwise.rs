//! Elementwise kernels (Unary, Binary, Where, Cast) against the reference evaluator, at odd
//! sizes and on shapes that exercise each path of the broadcasting driver (same shape, scalar,
//! channel, trailing and general broadcast), for every dtype each op supports.

mod common;

use common::*;
use kiln_ir::{BinaryOp, DType, Op, Tensor, UnaryOp};

const RTOL: f64 = 2e-6;
const ATOL: f64 = 1e-6;

fn float_unary_ops() -> Vec<UnaryOp> {
    use UnaryOp::*;
    vec![
        Neg,
        Abs,
        Relu,
        LeakyRelu { alpha: 0.1.into() },
        HardSigmoid { alpha: 0.2.into(), beta: 0.5.into() },
        HardSwish,
        Clip { min: (-1.5).into(), max: 2.0.into() },
        Clip { min: f32::NEG_INFINITY.into(), max: 0.5.into() },
        Elu { alpha: 1.3.into() },
        Sigmoid,
        Tanh,
        Erf,
        Exp,
        Log,
        Sqrt,
        Reciprocal,
        Floor,
        Ceil,
        Round,
        Sign,
        Sin,
        Cos,
        Softplus,
        Softsign,
    ]
}

/// Inputs for `u`: positive where the op needs it, else symmetric around 0 (with exact halves
/// for Round).
fn unary_input(u: UnaryOp, dtype: DType, shape: &[usize], seed: u64) -> Tensor {
    let mut r = rng(seed);
    let t = random_f32(&mut r, shape, -4.0, 4.0);
    let v: Vec<f64> = t.to_f64_vec();
    let v: Vec<f64> = match u {
        UnaryOp::Log | UnaryOp::Sqrt | UnaryOp::Reciprocal => v.iter().map(|x| x.abs() + 0.01).collect(),
        UnaryOp::Round => v.iter().map(|x| (x * 2.0).round() / 2.0 + if x.fract() > 0.6 { 0.1 } else { 0.0 }).collect(),
        _ => v,
    };
    Tensor::from_f64(dtype, shape.to_vec(), &v)
}

#[test]
fn float_unary_ops_match_reference_at_odd_sizes() {
    for u in float_unary_ops() {
        for n in SIZES {
            for dtype in [DType::F32, DType::F64] {
                let x = unary_input(u, dtype, &[3, n], n as u64);
                check_against_reference(&Op::Unary(u), &[x], RTOL, ATOL);
            }
        }
    }
}

#[test]
fn rounding_without_sse41_matches_reference() {
    for u in [UnaryOp::Floor, UnaryOp::Ceil, UnaryOp::Round] {
        for dtype in [DType::F32, DType::F64] {
            let x = unary_input(u, dtype, &[33], 7);
            check_against_reference_on(IsaFlavor::Baseline, &Op::Unary(u), &[x], 0.0, 0.0);
        }
    }
}

#[test]
fn unary_nan_and_infinity_follow_reference() {
    let x = Tensor::from_vec(vec![5], vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, 0.0]);
    for u in [
        UnaryOp::Relu,
        UnaryOp::Sign,
        UnaryOp::Abs,
        UnaryOp::Clip { min: (-1.0).into(), max: 1.0.into() },
        UnaryOp::Exp,
    ] {
        check_against_reference(&Op::Unary(u), &[x.clone()], RTOL, ATOL);
    }
}

#[test]
fn integer_unary_ops_match_reference() {
    let ops = [
        UnaryOp::Neg,
        UnaryOp::Abs,
        UnaryOp::Sign,
        UnaryOp::Relu,
        UnaryOp::Clip { min: (-5.0).into(), max: 7.0.into() },
    ];
    let mut checked = 0;
    for dtype in DType::ALL.into_iter().filter(|d| d.is_int()) {
        for u in ops {
            for n in SIZES {
                let x = random_tensor(&mut rng(n as u64), dtype, &[n]);
                checked += check_if_accepted(&Op::Unary(u), &[x], 0.0, 0.0) as usize;
            }
        }
    }
    // Signed ints take all five ops; unsigned at least Abs/Sign/Clip.
    assert!(checked >= 4 * 5 * 5 + 4 * 3 * 5, "only {checked} integer unary cases checked");
    let x = random_tensor(&mut rng(3), DType::Bool, &[17]);
    check_against_reference(&Op::Unary(UnaryOp::Not), &[x], 0.0, 0.0);
}

/// Shape pairs covering each driver path, at a given odd size `n`.
fn broadcast_cases(n: usize) -> Vec<(Vec<usize>, Vec<usize>)> {
    vec![
        (vec![n], vec![n]),                // same shape: flat
        (vec![2, 3, n], vec![2, 3, n]),    // same shape, merged
        (vec![n, 3], vec![]),              // scalar on the right
        (vec![], vec![3, n]),              // scalar on the left
        (vec![2, 3, 2, n], vec![3, 1, 1]), // channel broadcast
        (vec![5, n], vec![n]),             // trailing broadcast
        (vec![n, 1], vec![1, n]),          // general: outer product
        (vec![3, 1, n], vec![1, 4, 1]),    // general, 3-d
    ]
}

#[test]
fn float_binary_ops_match_reference_on_every_broadcast_path() {
    use BinaryOp::*;
    let ops = [Add, Sub, Mul, Div, Max, Min, PRelu, Equal, Less, LessOrEqual, Greater, GreaterOrEqual];
    for n in SIZES {
        for (sa, sb) in broadcast_cases(n) {
            for dtype in [DType::F32, DType::F64] {
                let mut r = rng(n as u64);
                let a = random_tensor(&mut r, dtype, &sa);
                let b = random_nonzero(&mut r, dtype, &sb);
                for op in ops {
                    check_against_reference(&Op::Binary(op), &[a.clone(), b.clone()], RTOL, ATOL);
                }
            }
        }
    }
}

#[test]
fn float_pow_handles_negative_bases_and_integral_exponents() {
    let x: Vec<f32> = vec![-2.0, -2.0, -1.5, -3.0, 0.0, 0.0, 2.0, 1.0, -0.5, 4.0, f32::NAN, -2.0, 1.0];
    let y: Vec<f32> = vec![3.0, 2.0, 0.5, -1.0, 2.0, -1.0, 0.5, f32::NAN, 4.0, -0.5, 0.0, 0.0, 7.0];
    for dtype in [DType::F32, DType::F64] {
        let a = Tensor::from_vec(vec![13], x.clone()).cast(dtype).unwrap();
        let b = Tensor::from_vec(vec![13], y.clone()).cast(dtype).unwrap();
        check_against_reference(&Op::Binary(BinaryOp::Pow), &[a, b], 1e-6, 1e-6);
    }
    for n in SIZES {
        let mut r = rng(n as u64);
        let a = random_f32(&mut r, &[n, 4], 0.1, 3.0);
        let b = random_f32(&mut r, &[4], -3.0, 3.0);
        check_against_reference(&Op::Binary(BinaryOp::Pow), &[a, b], 1e-5, 1e-6);
    }
}

#[test]
fn max_and_min_propagate_nan() {
    let a = Tensor::from_vec(vec![6], vec![f32::NAN, 1.0, f32::NAN, -0.0, 2.0, 5.0]);
    let b = Tensor::from_vec(vec![6], vec![1.0, f32::NAN, f32::NAN, 0.0, 3.0, 4.0]);
    for op in [BinaryOp::Max, BinaryOp::Min] {
        check_against_reference(&Op::Binary(op), &[a.clone(), b.clone()], 0.0, 0.0);
        let out = run_kernel(&Op::Binary(op), &[a.clone(), b.clone()]).expect("kernel");
        let v = out[0].to_f64_vec();
        assert!(v[0].is_nan() && v[1].is_nan() && v[2].is_nan(), "{op:?}: {v:?}");
    }
}

#[test]
fn integer_binary_ops_match_reference() {
    use BinaryOp::*;
    let ops = [Add, Sub, Mul, Div, Max, Min, PRelu, Equal, Less, LessOrEqual, Greater, GreaterOrEqual];
    let mut checked = 0;
    for dtype in DType::ALL.into_iter().filter(|d| d.is_int()) {
        for n in [1, 5, 17] {
            for (sa, sb) in broadcast_cases(n) {
                let mut r = rng(n as u64);
                let a = random_tensor(&mut r, dtype, &sa);
                let b = random_nonzero(&mut r, dtype, &sb);
                for op in ops {
                    checked += check_if_accepted(&Op::Binary(op), &[a.clone(), b.clone()], 0.0, 0.0) as usize;
                }
            }
        }
    }
    assert!(checked >= 8 * 3 * 8 * 11, "only {checked} integer binary cases checked");
}

#[test]
fn integer_pow_matches_reference() {
    let mut checked = 0;
    for dtype in [DType::I8, DType::I32, DType::I64, DType::U8, DType::U32, DType::U64] {
        let signed = dtype.is_signed_int();
        let base: Vec<f64> = if signed { vec![-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0] } else { vec![0.0, 1.0, 2.0, 3.0] };
        let exps: Vec<f64> = if signed { vec![-2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0] } else { vec![0.0, 1.0, 2.0, 4.0] };
        let a = Tensor::from_f64(dtype, vec![base.len(), 1], &base);
        let b = Tensor::from_f64(dtype, vec![1, exps.len()], &exps);
        checked += check_if_accepted(&Op::Binary(BinaryOp::Pow), &[a, b], 0.0, 0.0) as usize;
    }
    // The IR accepts integer Pow on i32 and i64 only.
    assert!(checked >= 2, "only {checked} integer pow dtypes checked");
}

#[test]
fn integer_division_never_traps() {
    // The reference reports division by zero; the kernel's documented result is 0.
    let a = Tensor::from_vec(vec![4], vec![i32::MIN, 7, -7, 5]);
    let b = Tensor::from_vec(vec![4], vec![-1, 0, 2, -2]);
    let out = run_kernel(&Op::Binary(BinaryOp::Div), &[a, b]).expect("kernel");
    assert_eq!(out[0].as_slice::<i32>().expect("i32"), &[i32::MIN, 0, -3, -2]);
    let a = Tensor::from_vec(vec![2], vec![9u8, 200]);
    let b = Tensor::from_vec(vec![2], vec![0u8, 7]);
    let out = run_kernel(&Op::Binary(BinaryOp::Div), &[a, b]).expect("kernel");
    assert_eq!(out[0].as_slice::<u8>().expect("u8"), &[0, 28]);
}

#[test]
fn bool_logic_matches_reference() {
    for op in [BinaryOp::And, BinaryOp::Or, BinaryOp::Xor, BinaryOp::Equal] {
        for (sa, sb) in broadcast_cases(5) {
            let mut r = rng(9);
            let a = random_tensor(&mut r, DType::Bool, &sa);
            let b = random_tensor(&mut r, DType::Bool, &sb);
            check_against_reference(&Op::Binary(op), &[a, b], 0.0, 0.0);
        }
    }
}

#[test]
fn where_broadcasts_three_ways() {
    let shapes: [(&[usize], &[usize], &[usize]); 4] =
        [(&[3, 5], &[3, 5], &[3, 5]), (&[5], &[3, 1], &[]), (&[2, 1, 17], &[1, 3, 1], &[17]), (&[1], &[33], &[1])];
    for dtype in [DType::F32, DType::F64, DType::I64, DType::U8, DType::Bool] {
        for (sc, sx, sy) in shapes {
            let mut r = rng(4);
            let c = random_tensor(&mut r, DType::Bool, sc);
            let x = random_tensor(&mut r, dtype, sx);
            let y = random_tensor(&mut r, dtype, sy);
            check_against_reference(&Op::Where, &[c, x, y], 0.0, 0.0);
        }
    }
}

/// Values that probe truncation, saturation and NaN for every source dtype.
fn cast_edge_values(dtype: DType) -> Tensor {
    let v: Vec<f64> = match dtype {
        DType::F32 | DType::F64 => vec![
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e10,
            -1e10,
            2.7,
            -2.7,
            300.0,
            -129.0,
            0.5,
            -0.0,
            65535.9,
            4294967295.0,
            -2147483648.0,
            1e19,
            127.5,
        ],
        DType::Bool => vec![0.0, 1.0, 1.0, 0.0, 1.0],
        DType::I8 | DType::I16 | DType::I32 | DType::I64 => {
            vec![-128.0, 127.0, -1.0, 0.0, 1.0, 255.0, -32768.0, 65535.0, 1e6, -1e6]
        }
        _ => vec![0.0, 1.0, 127.0, 128.0, 255.0, 256.0, 65535.0, 70000.0],
    };
    // Out-of-range sources (e.g. 1e6 for i8) wrap/saturate on the way in: still valid inputs.
    Tensor::from_f64(dtype, vec![v.len()], &v)
}

#[test]
fn cast_between_every_pair_of_dtypes() {
    for from in DType::ALL {
        for to in DType::ALL {
            let x = cast_edge_values(from);
            check_against_reference(&Op::Cast { to }, &[x], 0.0, 0.0);
            let y = random_tensor(&mut rng(2), from, &[33]);
            check_against_reference(&Op::Cast { to }, &[y], 0.0, 0.0);
        }
    }
}

#[test]
fn integer_extremes_cast_exactly() {
    let x = Tensor::from_vec(vec![4], vec![i64::MIN, i64::MAX, -1, 1 << 40]);
    for to in [DType::I32, DType::U64, DType::I8, DType::U16] {
        check_against_reference(&Op::Cast { to }, &[x.clone()], 0.0, 0.0);
    }
    let u = Tensor::from_vec(vec![3], vec![u64::MAX, 1u64 << 63, 5]);
    for to in [DType::I64, DType::U32, DType::I8] {
        check_against_reference(&Op::Cast { to }, &[u.clone()], 0.0, 0.0);
    }
}

#[test]
fn every_elementwise_kernel_compiles_for_aarch64() {
    use kiln_ir::TensorType;
    let t = |d: DType, s: &[usize]| TensorType::new(d, s.to_vec());
    let mut count = 0;
    for u in float_unary_ops() {
        for d in [DType::F32, DType::F64] {
            compile_for_aarch64(&Op::Unary(u), &[t(d, &[3, 5])]).unwrap_or_else(|e| panic!("{u:?} {d}: {e}"));
            count += 1;
        }
    }
    for op in BinaryOp::ALL {
        for d in DType::ALL {
            let types = [t(d, &[2, 3, 5]), t(d, &[3, 1])];
            let inputs: Vec<Tensor> = types.iter().map(Tensor::zeros).collect();
            if ir_accepts(&Op::Binary(op), &inputs) {
                compile_for_aarch64(&Op::Binary(op), &types).unwrap_or_else(|e| panic!("{op:?} {d}: {e}"));
                count += 1;
            }
        }
    }
    for from in DType::ALL {
        for to in DType::ALL {
            compile_for_aarch64(&Op::Cast { to }, &[t(from, &[7])]).unwrap_or_else(|e| panic!("{from}->{to}: {e}"));
        }
    }
    compile_for_aarch64(&Op::Where, &[t(DType::Bool, &[5]), t(DType::F32, &[3, 5]), t(DType::F32, &[])])
        .expect("where");
    assert!(count > 60, "only {count} kernels compiled");
}

/// Random bit patterns over the full range of `dtype` (negative values, high bits set), which
/// the small-range `random_tensor` never produces.
fn random_bits(r: &mut rand::rngs::StdRng, dtype: DType, shape: &[usize]) -> Tensor {
    use rand::Rng;
    let n: usize = shape.iter().product();
    let bytes: Vec<u8> = (0..n * dtype.size()).map(|_| r.gen()).collect();
    Tensor::from_le_bytes(dtype, shape.to_vec(), &bytes).expect("size matches")
}

#[test]
fn integer_bitwise_ops_match_reference_on_every_broadcast_path() {
    let mut checked = 0;
    for dtype in DType::ALL.into_iter().filter(|d| d.is_int() || *d == DType::Bool) {
        for n in SIZES {
            for (sa, sb) in broadcast_cases(n) {
                let mut r = rng(n as u64 + 100);
                let a = random_bits(&mut r, dtype, &sa);
                let b = random_bits(&mut r, dtype, &sb);
                for op in [BinaryOp::And, BinaryOp::Or, BinaryOp::Xor] {
                    check_against_reference(&Op::Binary(op), &[a.clone(), b.clone()], 0.0, 0.0);
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 9 * SIZES.len() * 8 * 3);
}

#[test]
fn integer_bitwise_and_keeps_only_common_bits() {
    // Direct check, independent of the evaluator: 35 lanes cover two i8x16 vectors and a tail.
    let a: Vec<i8> = (0..35).map(|i| (i * 37 - 90) as i8).collect();
    let b: Vec<i8> = (0..35).map(|i| (i * 53 + 7) as i8).collect();
    let want: Vec<i8> = a.iter().zip(&b).map(|(x, y)| x & y).collect();
    let out = run_kernel(&Op::Binary(BinaryOp::And), &[Tensor::from_vec(vec![35], a), Tensor::from_vec(vec![35], b)])
        .expect("kernel");
    assert_eq!(out[0].as_slice::<i8>().expect("i8"), want.as_slice());
}

#[test]
fn integer_bitwise_vector_kernels_compile_for_aarch64() {
    use kiln_ir::TensorType;
    for d in DType::ALL.into_iter().filter(|d| d.is_int() || *d == DType::Bool) {
        for op in [BinaryOp::And, BinaryOp::Or, BinaryOp::Xor] {
            let types = [TensorType::new(d, vec![3, 33]), TensorType::new(d, vec![33])];
            compile_for_aarch64(&Op::Binary(op), &types).unwrap_or_else(|e| panic!("{op:?} {d}: {e}"));
        }
    }
}

#[test]
fn bit_cast_matches_reference_for_every_same_size_pair() {
    let mut checked = 0;
    for from in DType::ALL {
        for to in DType::ALL.into_iter().filter(|t| t.size() == from.size()) {
            for n in SIZES {
                let x = random_bits(&mut rng(n as u64 + 7), from, &[2, n]);
                check_against_reference(&Op::BitCast { to }, &[x], 0.0, 0.0);
                checked += 1;
            }
            let types = [kiln_ir::TensorType::new(from, vec![33])];
            compile_for_aarch64(&Op::BitCast { to }, &types).unwrap_or_else(|e| panic!("{from}->{to}: {e}"));
        }
    }
    assert!(checked >= 40 * SIZES.len(), "only {checked} bit_cast cases checked");
}

#[test]
fn bit_cast_of_floats_gives_their_ieee_bits() {
    // Direct check, independent of the evaluator (17 lanes: four f32x4 vectors and a tail).
    let v: Vec<f32> = (0..17).map(|i| (i as f32 - 8.5) * 1.25e-3).chain([f32::NEG_INFINITY]).collect();
    let out = run_kernel(&Op::BitCast { to: DType::U32 }, &[Tensor::from_vec(vec![18], v.clone())]).expect("kernel");
    let want: Vec<u32> = v.iter().map(|f| f.to_bits()).collect();
    assert_eq!(out[0].as_slice::<u32>().expect("u32"), want.as_slice());
}
