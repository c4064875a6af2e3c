//! Strided block copies, the one primitive of every data-movement kernel.
//!
//! A block is a box of `sizes` elements read at `src + sum(i_k * src_stride_k)` and written at
//! `dst + sum(i_k * dst_stride_k)` (strides in bytes, possibly 0 or negative). Axes of size 1
//! are dropped and axes contiguous in both buffers are merged, so a dense region becomes one flat
//! run copied 16 bytes at a time (`i8x16`), with an unrolled 8/4/2/1-byte tail. Elements are
//! moved as integers of their byte size, so every dtype is the same code.

use crate::emit::flags;
use crate::loops::for_count;
use cranelift_codegen::ir::{types, InstBuilder, Type, Value};
use cranelift_frontend::FunctionBuilder;

/// The integer type of an element of `size` bytes.
pub(crate) fn int_type(size: usize) -> Type {
    match size {
        1 => types::I8,
        2 => types::I16,
        4 => types::I32,
        _ => types::I64,
    }
}

/// One strided box copy.
#[derive(Clone, Debug)]
pub(crate) struct Block {
    pub sizes: Vec<usize>,
    pub src_strides: Vec<i64>,
    pub dst_strides: Vec<i64>,
}

impl Block {
    /// Drops unit axes and merges axes contiguous in both buffers.
    fn merged(&self) -> Block {
        let mut m = Block { sizes: vec![], src_strides: vec![], dst_strides: vec![] };
        for k in 0..self.sizes.len() {
            let (n, s, d) = (self.sizes[k], self.src_strides[k], self.dst_strides[k]);
            if n == 1 {
                continue;
            }
            let joins = m.sizes.last().is_some()
                && *m.src_strides.last().unwrap_or(&0) == s * n as i64
                && *m.dst_strides.last().unwrap_or(&0) == d * n as i64;
            if joins {
                *m.sizes.last_mut().expect("non-empty") *= n;
                *m.src_strides.last_mut().expect("non-empty") = s;
                *m.dst_strides.last_mut().expect("non-empty") = d;
            } else {
                m.sizes.push(n);
                m.src_strides.push(s);
                m.dst_strides.push(d);
            }
        }
        if m.sizes.is_empty() {
            m = Block { sizes: vec![1], src_strides: vec![0], dst_strides: vec![0] };
        }
        m
    }
}

/// `base + i * scale`.
fn at(b: &mut FunctionBuilder, base: Value, i: Value, scale: i64) -> Value {
    if scale == 0 {
        return base;
    }
    let off = b.ins().imul_imm_s(i, scale);
    b.ins().iadd(base, off)
}

/// Emits the copy of `block` from `src` to `dst` (pointers), elements of `esize` bytes.
pub(crate) fn copy_block(b: &mut FunctionBuilder, src: Value, dst: Value, block: &Block, esize: usize) {
    if block.sizes.contains(&0) {
        return;
    }
    let m = block.merged();
    copy_axis(b, src, dst, &m, 0, esize);
}

fn copy_axis(b: &mut FunctionBuilder, src: Value, dst: Value, m: &Block, axis: usize, esize: usize) {
    let last = axis + 1 == m.sizes.len();
    let (n, ss, ds) = (m.sizes[axis], m.src_strides[axis], m.dst_strides[axis]);
    if last && ss == esize as i64 && ds == esize as i64 {
        return copy_bytes(b, src, dst, n * esize);
    }
    for_count(b, 0, n as i64, 1, |b, i| {
        let s = at(b, src, i, ss);
        let d = at(b, dst, i, ds);
        if last {
            let t = int_type(esize);
            let v = b.ins().load(t, flags(), s, 0);
            b.ins().store(flags(), v, d, 0);
        } else {
            copy_axis(b, s, d, m, axis + 1, esize);
        }
    });
}

/// Copies `bytes` contiguous bytes: a 16-byte vector loop, then an unrolled tail.
pub(crate) fn copy_bytes(b: &mut FunctionBuilder, src: Value, dst: Value, bytes: usize) {
    let body = bytes - bytes % 16;
    if body > 0 {
        for_count(b, 0, body as i64, 16, |b, i| {
            let s = b.ins().iadd(src, i);
            let d = b.ins().iadd(dst, i);
            let v = b.ins().load(types::I8X16, flags(), s, 0);
            b.ins().store(flags(), v, d, 0);
        });
    }
    let mut off = body;
    for chunk in [8usize, 4, 2, 1] {
        if bytes - off >= chunk {
            let v = b.ins().load(int_type(chunk), flags(), src, off as i32);
            b.ins().store(flags(), v, dst, off as i32);
            off += chunk;
        }
    }
}

/// Fills `count` elements of `esize` bytes at `dst` with the bit pattern `bits`.
pub(crate) fn fill(b: &mut FunctionBuilder, dst: Value, count: usize, esize: usize, bits: i64) {
    if count == 0 {
        return;
    }
    let t = int_type(esize);
    for_count(b, 0, count as i64, 1, |b, i| {
        let v = b.ins().iconst(t, bits);
        let d = at(b, dst, i, esize as i64);
        b.ins().store(flags(), v, d, 0);
    });
}
