//! Fused ops (`Op::Elementwise`, `Op::Fused`): text form, type rules and reference semantics
//! against the unfused ops they stand for.

#[allow(dead_code)] // only `data` of the shared helpers is used here
mod common;

use common::data;
use kiln_ir::*;

fn f32t(shape: &[usize]) -> TensorType {
    TensorType::new(DType::F32, shape.to_vec())
}

fn program(text: &str) -> Program {
    let g = format!("graph(%0: f32[2,3] \"x\") -> (%1) {{\n  %1: f32[2,3] = elementwise(%0) {{expr=\"{text}\"}}\n}}\n");
    let parsed = parse_graph(&g).unwrap_or_else(|e| panic!("{e}\n{g}"));
    let op = parsed.nodes.iter().next().map(|(_, n)| n.op.clone());
    match op {
        Some(Op::Elementwise(p)) => p,
        other => panic!("expected an elementwise op, got {other:?}"),
    }
}

#[test]
fn program_text_round_trips_and_prints_registers() {
    let text = "t0=sigmoid(x0); t1=mul(x0,t0); t2=clip[min=0.0,max=6.0](t1); t3=add(t2,x1)";
    let p = program(text);
    assert_eq!(p.steps.len(), 4);
    assert_eq!(print::program_text(&p), text);
    assert_eq!(p.arity(), 2);
}

#[test]
fn program_parse_errors_name_the_step() {
    for (text, want) in [
        ("t1=relu(x0)", "expected register `t0`"),
        ("t0=frob(x0)", "unknown op"),
        ("t0=add(x0)", "takes 2 operands"),
        ("t0=relu(y0)", "expected an operand"),
        ("t0=clip[min=0](x0)", "max"),
    ] {
        let g = format!("graph(%0: f32[2] \"x\") -> (%1) {{\n  %1: f32[2] = elementwise(%0) {{expr=\"{text}\"}}\n}}\n");
        let err = parse_graph(&g).expect_err(text).to_string();
        assert!(err.contains(want) && err.contains("line 2"), "{text}: {err}");
    }
}

#[test]
fn program_types_are_checked() {
    let p = program("t0=add(x0,t1)");
    let err = p.infer(&[&f32t(&[2])]).unwrap_err();
    assert!(err.contains("t0 reads t1"), "{err}");
    let p = program("t0=add(x0,x1)");
    assert!(p.infer(&[&f32t(&[2])]).unwrap_err().contains("reads x1"));
    assert_eq!(p.infer(&[&f32t(&[2, 1, 3]), &f32t(&[4, 1])]).unwrap(), f32t(&[2, 4, 3]));
    let ints = TensorType::new(DType::I32, vec![2]);
    assert!(p.infer(&[&f32t(&[2]), &ints]).unwrap_err().contains("share one dtype"));
    let cmp = Program { steps: vec![Step::Binary(BinaryOp::Less, Operand::Arg(0), Operand::Arg(0))] };
    assert!(cmp.infer(&[&f32t(&[2])]).is_err(), "comparisons change the dtype and are not allowed");
}

/// The program evaluates like the chain of ops it stands for, with broadcasting.
#[test]
fn program_eval_matches_the_unfused_chain() {
    let (x, b) = (data(&[2, 3, 5], 1), data(&[3, 1], 2));
    let p = program("t0=sigmoid(x0); t1=mul(x0,t0); t2=add(t1,x1); t3=clip[min=-0.25,max=0.5](t2)");
    let got = p.eval(&[&x, &b]).unwrap();
    let sig = eval_op(&Op::Unary(UnaryOp::Sigmoid), &[&x]).unwrap().remove(0);
    let silu = eval_op(&Op::Binary(BinaryOp::Mul), &[&x, &sig]).unwrap().remove(0);
    let add = eval_op(&Op::Binary(BinaryOp::Add), &[&silu, &b]).unwrap().remove(0);
    let want = eval_op(&Op::Unary(UnaryOp::Clip { min: (-0.25).into(), max: 0.5.into() }), &[&add]).unwrap().remove(0);
    assert_eq!(got, want);
    // A program whose result reads only a smaller argument still has the broadcast shape.
    let only_b = program("t0=relu(x1)");
    assert_eq!(only_b.eval(&[&x, &b]).unwrap().shape(), &[2, 3, 5]);
}

#[test]
fn fused_conv_is_conv_then_epilogue() {
    let conv =
        ConvAttrs { kernel: vec![3, 3], strides: vec![1, 1], dilations: vec![1, 1], pads: vec![1, 1, 1, 1], group: 1 };
    let (x, w, bias, res, scale) =
        (data(&[1, 3, 5, 5], 3), data(&[4, 3, 3, 3], 4), data(&[4], 5), data(&[1, 4, 5, 5], 6), data(&[4, 1, 1], 7));
    let epilogue = program("t0=mul(x0,x2); t1=add(t0,x1); t2=relu(t1)");
    let op = Op::Fused { base: Box::new(Op::Conv(conv.clone())), base_inputs: 3, epilogue };
    let got = eval_op(&op, &[&x, &w, &bias, &res, &scale]).unwrap().remove(0);
    let c = eval_op(&Op::Conv(conv), &[&x, &w, &bias]).unwrap().remove(0);
    let m = eval_op(&Op::Binary(BinaryOp::Mul), &[&c, &scale]).unwrap().remove(0);
    let a = eval_op(&Op::Binary(BinaryOp::Add), &[&m, &res]).unwrap().remove(0);
    let want = eval_op(&Op::Unary(UnaryOp::Relu), &[&a]).unwrap().remove(0);
    assert_eq!(got, want);
    assert_eq!(op.name(), "fused_conv");
}

#[test]
fn fused_epilogue_must_not_grow_the_result() {
    let op = Op::Fused { base: Box::new(Op::MatMul), base_inputs: 2, epilogue: program("t0=add(x0,x1)") };
    let (a, b) = (f32t(&[1, 3, 4]), f32t(&[4, 5]));
    assert_eq!(infer_types(&op, &[&a, &b, &f32t(&[5])]).unwrap(), vec![f32t(&[1, 3, 5])]);
    let err = infer_types(&op, &[&a, &b, &f32t(&[2, 3, 5])]).unwrap_err();
    assert!(err.contains("must not grow"), "{err}");
    let bad_base = Op::Fused { base: Box::new(Op::Unary(UnaryOp::Relu)), base_inputs: 1, epilogue: Program::default() };
    assert!(infer_types(&bad_base, &[&a]).unwrap_err().contains("cannot take an epilogue"));
    let too_many = Op::Fused { base: Box::new(Op::MatMul), base_inputs: 5, epilogue: Program::default() };
    assert!(infer_types(&too_many, &[&a, &b]).unwrap_err().contains("base_inputs"));
}
