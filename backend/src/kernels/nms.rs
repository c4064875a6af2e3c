//! NonMaxSuppression (see `kiln_ir::dynamic`): per batch and class, the candidates are visited
//! in the reference's order (descending score, lower box index first on ties) without sorting
//! or scratch memory: each step scans all boxes for the best one ranked after the previous
//! step's, so a class costs `O(boxes^2)` comparisons. A visited box is kept unless its IoU with
//! a box already kept for the class (read back from the result rows) exceeds the threshold,
//! until `min(max_per_class, max_boxes)` are kept. Rows past the length are zeroed. The IoU
//! arithmetic is the reference's, in f32 and in the same order, so results match exactly.

use crate::emit::{flags, load_at, store_at, when};
use crate::error::Result;
use crate::kernel::{KernelCtx, KernelSpec};
use crate::loops::{for_count, for_range};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, InstBuilder, Value};
use cranelift_frontend::{FunctionBuilder, Variable};
use kiln_ir::Op;

/// Sizes and run-time parameters shared by the loops.
struct Nms {
    boxes: Value,
    scores: Value,
    out: Value,
    len: Value,
    n: i64,
    classes: i64,
    center: bool,
    keep: Value,
    iou: Value,
    score: Value,
}

/// Emits the NonMaxSuppression kernel of `spec`.
pub fn emit(cx: &mut KernelCtx, spec: &KernelSpec) -> Result<()> {
    let Op::NonMaxSuppression { center_point_box, max_boxes } = spec.op else {
        return Err(spec.unsupported("not a NonMaxSuppression"));
    };
    let (Some(boxes), Some(scores), [out_t, _]) = (spec.inputs.first(), spec.inputs.get(1), spec.outputs.as_slice())
    else {
        return Err(spec.unsupported("expected boxes, scores, ... and two outputs"));
    };
    let (&[batches, n, 4], &[_, classes, _]) = (boxes.shape.as_slice(), scores.shape.as_slice()) else {
        return Err(spec.unsupported("boxes must be [batches, boxes, 4] and scores [batches, classes, boxes]"));
    };
    let rows = out_t.shape[0] as i64;
    let b = &mut *cx.b;
    let zero = b.ins().iconst(types::I64, 0);
    b.ins().store(flags(), zero, cx.outputs[1], 0);
    let keep = run_time_keep(b, cx.inputs[2], max_boxes as i64);
    let iou = b.ins().load(types::F32, flags(), cx.inputs[3], 0);
    let score = b.ins().load(types::F32, flags(), cx.inputs[4], 0);
    let s = Nms {
        boxes: cx.inputs[0],
        scores: cx.inputs[1],
        out: cx.outputs[0],
        len: cx.outputs[1],
        n: n as i64,
        classes: classes as i64,
        center: center_point_box,
        keep,
        iou,
        score,
    };
    for_count(b, 0, batches as i64, 1, |b, batch| {
        for_count(b, 0, classes as i64, 1, |b, class| select_class(b, &s, batch, class));
    });
    let used = b.ins().load(types::I64, flags(), s.len, 0);
    let end = b.ins().iconst(types::I64, rows * 3);
    let first = b.ins().imul_imm_s(used, 3);
    for_range(b, first, end, 1, |b, k| store_at(b, s.out, k, zero));
    Ok(())
}

/// `min(max(max_per_class, 0), max_boxes)`.
fn run_time_keep(b: &mut FunctionBuilder, max_out: Value, max_boxes: i64) -> Value {
    let v = b.ins().load(types::I64, flags(), max_out, 0);
    let zero = b.ins().iconst(types::I64, 0);
    let v = b.ins().smax(v, zero);
    let bound = b.ins().iconst(types::I64, max_boxes);
    b.ins().smin(v, bound)
}

/// The greedy selection of one (batch, class).
fn select_class(b: &mut FunctionBuilder, s: &Nms, batch: Value, class: Value) {
    let row = b.ins().imul_imm_s(batch, s.classes);
    let row = b.ins().iadd(row, class);
    let score_base = b.ins().imul_imm_s(row, s.n * 4);
    let scores = b.ins().iadd(s.scores, score_base);
    let first_row = b.ins().load(types::I64, flags(), s.len, 0);
    let prev_score = b.declare_var(types::F32);
    let prev_idx = b.declare_var(types::I64);
    let inf = b.ins().f32const(f32::INFINITY);
    let minus_one = b.ins().iconst(types::I64, -1);
    b.def_var(prev_score, inf);
    b.def_var(prev_idx, minus_one);
    for_count(b, 0, s.n, 1, |b, _| {
        let (best, best_score) = next_candidate(b, s, scores, prev_score, prev_idx);
        let len = b.ins().load(types::I64, flags(), s.len, 0);
        let kept = b.ins().isub(len, first_row);
        let room = b.ins().icmp(IntCC::SignedLessThan, kept, s.keep);
        let found = b.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, best, 0);
        let go = b.ins().band(room, found);
        when(b, go, |b| {
            b.def_var(prev_score, best_score);
            b.def_var(prev_idx, best);
            let suppressed = any_overlap(b, s, batch, best, first_row, len);
            let free = b.ins().icmp_imm_s(IntCC::Equal, suppressed, 0);
            when(b, free, |b| append_row(b, s, [batch, class, best], len));
        });
    });
}

/// The best box ranked after `(prev_score, prev_idx)` whose score passes the threshold:
/// `(index, score)`, index -1 when there is none.
fn next_candidate(
    b: &mut FunctionBuilder,
    s: &Nms,
    scores: Value,
    prev_score: Variable,
    prev_idx: Variable,
) -> (Value, Value) {
    let (ps, pi) = (b.use_var(prev_score), b.use_var(prev_idx));
    let best = b.declare_var(types::I64);
    let best_score = b.declare_var(types::F32);
    let minus_one = b.ins().iconst(types::I64, -1);
    let ninf = b.ins().f32const(f32::NEG_INFINITY);
    b.def_var(best, minus_one);
    b.def_var(best_score, ninf);
    for_count(b, 0, s.n, 1, |b, i| {
        let sc = load_at(b, types::F32, scores, i);
        let below = b.ins().fcmp(FloatCC::LessThan, sc, ps);
        let tie = b.ins().fcmp(FloatCC::Equal, sc, ps);
        let later = b.ins().icmp(IntCC::SignedGreaterThan, i, pi);
        let tie_later = b.ins().band(tie, later);
        let after = b.ins().bor(below, tie_later);
        let passes = b.ins().fcmp(FloatCC::GreaterThan, sc, s.score);
        let ok = b.ins().band(after, passes);
        let (cur, cur_score) = (b.use_var(best), b.use_var(best_score));
        let none = b.ins().icmp_imm_s(IntCC::SignedLessThan, cur, 0);
        let higher = b.ins().fcmp(FloatCC::GreaterThan, sc, cur_score);
        let better = b.ins().bor(none, higher);
        let take = b.ins().band(ok, better);
        let nb = b.ins().select(take, i, cur);
        let ns = b.ins().select(take, sc, cur_score);
        b.def_var(best, nb);
        b.def_var(best_score, ns);
    });
    (b.use_var(best), b.use_var(best_score))
}

/// Writes `row` at result row `len` and increments the length.
fn append_row(b: &mut FunctionBuilder, s: &Nms, row: [Value; 3], len: Value) {
    let at = b.ins().imul_imm_s(len, 3);
    for (k, v) in row.into_iter().enumerate() {
        let idx = b.ins().iadd_imm_s(at, k as i64);
        store_at(b, s.out, idx, v);
    }
    let next = b.ins().iadd_imm_s(len, 1);
    b.ins().store(flags(), next, s.len, 0);
}

/// Non-zero (i8) when box `cand` overlaps a box kept in rows `first..len` beyond the threshold.
fn any_overlap(b: &mut FunctionBuilder, s: &Nms, batch: Value, cand: Value, first: Value, len: Value) -> Value {
    let hit = b.declare_var(types::I8);
    let no = b.ins().iconst(types::I8, 0);
    b.def_var(hit, no);
    let p = corners(b, s, batch, cand);
    for_range(b, first, len, 1, |b, r| {
        let at = b.ins().imul_imm_s(r, 24);
        let addr = b.ins().iadd(s.out, at);
        let kept = b.ins().load(types::I64, flags(), addr, 16);
        let q = corners(b, s, batch, kept);
        let over = suppresses(b, s, p, q);
        let h = b.use_var(hit);
        let h = b.ins().bor(h, over);
        b.def_var(hit, h);
    });
    b.use_var(hit)
}

/// `[ymin, xmin, ymax, xmax]` of box `i` of `batch`, as the reference computes them.
fn corners(b: &mut FunctionBuilder, s: &Nms, batch: Value, i: Value) -> [Value; 4] {
    let at = b.ins().imul_imm_s(batch, s.n);
    let at = b.ins().iadd(at, i);
    let at = b.ins().imul_imm_s(at, 16);
    let base = b.ins().iadd(s.boxes, at);
    let v: Vec<Value> = (0..4).map(|k| b.ins().load(types::F32, flags(), base, k * 4)).collect();
    if s.center {
        let half = b.ins().f32const(2.0);
        let hw = b.ins().fdiv(v[2], half);
        let hh = b.ins().fdiv(v[3], half);
        return [b.ins().fsub(v[1], hh), b.ins().fsub(v[0], hw), b.ins().fadd(v[1], hh), b.ins().fadd(v[0], hw)];
    }
    [b.ins().fmin(v[0], v[2]), b.ins().fmin(v[1], v[3]), b.ins().fmax(v[0], v[2]), b.ins().fmax(v[1], v[3])]
}

/// The reference's `suppress_by_iou` (an i8): positive overlap, positive areas and IoU above
/// the threshold.
fn suppresses(b: &mut FunctionBuilder, s: &Nms, p: [Value; 4], q: [Value; 4]) -> Value {
    let x0 = b.ins().fmax(p[1], q[1]);
    let x1 = b.ins().fmin(p[3], q[3]);
    let y0 = b.ins().fmax(p[0], q[0]);
    let y1 = b.ins().fmin(p[2], q[2]);
    let wx = b.ins().fsub(x1, x0);
    let wy = b.ins().fsub(y1, y0);
    let inter = b.ins().fmul(wx, wy);
    let area = |b: &mut FunctionBuilder, c: [Value; 4]| {
        let w = b.ins().fsub(c[3], c[1]);
        let h = b.ins().fsub(c[2], c[0]);
        b.ins().fmul(w, h)
    };
    let (ap, aq) = (area(b, p), area(b, q));
    let sum = b.ins().fadd(ap, aq);
    let union = b.ins().fsub(sum, inter);
    let ratio = b.ins().fdiv(inter, union);
    let zero = b.ins().f32const(0.0);
    let conds = [
        b.ins().fcmp(FloatCC::GreaterThan, x1, x0),
        b.ins().fcmp(FloatCC::GreaterThan, y1, y0),
        b.ins().fcmp(FloatCC::GreaterThan, inter, zero),
        b.ins().fcmp(FloatCC::GreaterThan, ap, zero),
        b.ins().fcmp(FloatCC::GreaterThan, aq, zero),
        b.ins().fcmp(FloatCC::GreaterThan, union, zero),
        b.ins().fcmp(FloatCC::GreaterThan, ratio, s.iou),
    ];
    conds.into_iter().reduce(|a, c| b.ins().band(a, c)).unwrap_or(zero)
}
