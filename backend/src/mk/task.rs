//! What a machine-code GEMM kernel computes, independent of the ISA: [`GemmTask`].
//!
//! Every dense kernel with micro-kernels is one shape of the same loop nest:
//!
//! ```text
//! for each outer index (batch, image, group)        -- Outer loops, pointers move by strides
//!   [copy the image into a zero-padded scratch]      -- PadCopy (convolutions with pads)
//!   for each row r = (r1, r2) of the row grid        -- rows of C: matrix rows, or output pixels
//!     for each column j < n                          -- columns of C: matrix columns, channels
//!       C[r, j] = epilogue( sum over taps (t1, t2), depth d:
//!                             A[r] @ (t1*tap1 + t2*tap2 + 4*d)  *  B[(t1, t2, d), j] )
//! ```
//!
//! A row's A elements are contiguous along `depth` inside a tap, taps sit at constant byte
//! offsets from the row's start, and rows sit at constant strides along the two grid axes. That
//! one form covers a plain GEMM (grid `[1, M]`, one tap, `depth = K`), a 1x1 convolution on
//! NHWC (grid `[1, H*W]`), a KxK convolution on NHWC as implicit GEMM (grid `[OH, OW]`, taps
//! `(KH, KW)` over a padded image, `depth = C/groups`: no im2col) and a batched MatMul (outer
//! loops over the batch). B is either prepacked at compile time into panels of `NR` columns
//! ([`BSource::Packed`], see `super::pack`) or read in place with a row stride.
//!
//! All offsets and strides are in bytes, all elements f32. The plan that builds a task
//! (`super::plan`) checks that every displacement the generated code uses fits in 32 bits.

use kiln_ir::{Ieee32, Program};

/// A pointer the kernel starts from: kernel parameter `param` plus `offset` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Base {
    pub param: usize,
    pub offset: i64,
}

/// How an operand's address moves: byte strides per outer loop, per row-grid axis and per
/// column (`col` is 0, broadcast along columns, or 4, contiguous).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Strides {
    pub outer: Vec<i64>,
    pub rows: [i64; 2],
    pub col: i64,
}

/// An operand of the epilogue (a bias, a residual, a per-channel scale...).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Operand {
    pub base: Base,
    pub strides: Strides,
}

/// Where B comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BSource {
    /// Prepacked panels (`super::pack::PackedB`): for each panel of `nr` columns (the last one
    /// narrower, rounded up to whole vectors), the K rows of the panel, contiguous.
    Packed,
    /// Row-major in place: element (k, j) at `k * row + 4 * j` bytes.
    Strided { row: i64 },
}

/// How the micro-kernel reads A.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AMode {
    /// One element per row and reduction step, broadcast against a vector of B's columns: the
    /// dense GEMM and convolutions.
    Broadcast,
    /// A vector per row and tap along the columns, multiplied lane by lane with B's vector of
    /// that tap: depthwise convolution (column j of C reads channel j of A). `depth` is then 1,
    /// and A moves with the column panels.
    Vector,
    /// As `Vector` without B: the accumulator is the lane-wise maximum of the taps' vectors,
    /// starting from the lowest finite f32; NaN inputs are ignored (max pooling).
    VectorMax,
    /// As `Vector` without B: the lane-wise sum of the taps' vectors (average pooling, scaled
    /// by the epilogue's alpha).
    VectorSum,
    /// A Winograd transform along the channels (one vector of channels per tile); see
    /// [`Winograd`].
    Winograd(Winograd),
}

/// A channels-last Winograd F(m, 3) transform as a vector-mode task. The row grid is the
/// `[TH, TW]` tiles of one image, the columns are channels, `taps` are the `a x a` input patch
/// (input transform) or the `m x m` output tile (output transform) as byte strides of rows
/// and pixels, and A or C step over the `a * a` transform slots by `slot_bytes`:
/// - input: A is the padded image (patch of tile `(ty, tx)` at its `(ty*m, tx*m)`), C is
///   `V: [a*a, T, C]`;
/// - output: A is `Mt: [a*a, T, M]`, C is the NHWC output (tile `(ty, tx)` at pixel
///   `(ty*m, tx*m)`, cropped to `extent`), through the task's epilogue (bias, fused program).
/// `stage` is scratch for the `a * a` (or `a * m`) vectors between the two 1-D passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Winograd {
    pub output: bool,
    pub tile: usize,
    pub slot_bytes: i64,
    pub stage: Base,
    /// The output's `[OH, OW]` (output transform; tiles past it are cropped).
    pub extent: [usize; 2],
}

impl Winograd {
    /// The input tile size `a = m + 2`.
    pub fn alpha(&self) -> usize {
        self.tile + 2
    }
    /// Bytes of stage scratch for vectors of `vbytes`.
    pub fn stage_bytes(&self, vbytes: usize) -> usize {
        self.alpha() * self.alpha() * vbytes
    }
}

impl AMode {
    /// True for the modes that read A as vectors along the columns.
    pub fn is_vector(self) -> bool {
        !matches!(self, AMode::Broadcast)
    }
}

/// One outer loop: trip count and the byte strides of A, B and C (the epilogue operands carry
/// their own in [`Strides::outer`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Outer {
    pub count: usize,
    pub a: i64,
    pub b: i64,
    pub c: i64,
}

/// A zero-padded copy of one image into the kernel's scratch, made once per outer iteration
/// before its rows are computed: `src` is `[h][w][c]` floats (dense), the copy is
/// `[top + h + bottom][left + w + right][c]`. The task's A then reads the copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PadCopy {
    pub src: Base,
    /// Byte stride of `src` per outer loop.
    pub src_outer: [i64; 2],
    pub h: usize,
    pub w: usize,
    pub c: usize,
    pub top: usize,
    pub left: usize,
    pub bottom: usize,
    pub right: usize,
    /// The value of the padding: 0 for convolutions, the lowest finite f32 for max pooling.
    pub fill: Ieee32,
}

impl PadCopy {
    /// Bytes of one padded image.
    pub fn bytes(&self) -> usize {
        4 * (self.top + self.h + self.bottom) * (self.left + self.w + self.right) * self.c
    }
}

/// Taps outside the image are skipped instead of read from a padded copy (vector modes:
/// depthwise convolution and pooling, where a copy would double the memory traffic of a
/// memory-bound kernel). Along grid axis `d`, output index `o` and tap `i` read input position
/// `o * stride[d] - pad[d] + i * dilation[d]`, valid in `[0, extent[d])`; A's base then points
/// at input position `(-pad[0], -pad[1])` (never dereferenced there). Tiles whose every tap is
/// valid run in loops; border tiles are generated one by one with their taps resolved at
/// compile time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Clip {
    pub extent: [usize; 2],
    pub pad: [usize; 2],
    pub stride: [usize; 2],
    pub dilation: [usize; 2],
    /// The task's first output index along each axis (non-zero in the parts of a split kernel,
    /// `super::split`): `o` counts from there.
    pub origin: [usize; 2],
}

impl Clip {
    /// True when tap `i` of output index `o` (from `origin`) along axis `d` reads inside the image.
    pub fn valid(&self, d: usize, o: usize, i: usize) -> bool {
        let o = o + self.origin[d];
        let pos = (o * self.stride[d] + i * self.dilation[d]) as i64 - self.pad[d] as i64;
        pos >= 0 && pos < self.extent[d] as i64
    }
}

/// The epilogue applied to each accumulated element before its store:
/// `program(alpha * acc + beta * addend, extras...)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Epilogue {
    pub alpha: Ieee32,
    /// A conv bias or a Gemm C, with its beta.
    pub addend: Option<(Operand, Ieee32)>,
    /// A fused elementwise program; `x0` is the value so far, `x{k}` is `extras[k - 1]`.
    pub program: Option<Program>,
    pub extras: Vec<Operand>,
}

impl Epilogue {
    pub fn none() -> Epilogue {
        Epilogue { alpha: Ieee32::new(1.0), addend: None, program: None, extras: Vec::new() }
    }
    /// The operands the epilogue reads, addend first.
    pub fn operands(&self) -> impl Iterator<Item = &Operand> {
        self.addend.iter().map(|(o, _)| o).chain(&self.extras)
    }
}

/// The whole kernel (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GemmTask {
    pub outer: Vec<Outer>,
    pub pad: Option<PadCopy>,
    /// Border taps skipped (vector modes; exclusive with `pad`).
    pub clip: Option<Clip>,
    /// The row grid `[r1, r2]`.
    pub rows: [usize; 2],
    /// A: the start of row (0, 0) (the padded copy when `pad` is set) and the row strides.
    pub a: Base,
    pub a_rows: [i64; 2],
    pub a_mode: AMode,
    /// Taps: counts and byte strides `[(t1, stride1), (t2, stride2)]` (1 and 0 for a GEMM).
    pub taps: [(usize, i64); 2],
    /// Contiguous reduction elements per tap.
    pub depth: usize,
    pub b: Base,
    pub b_source: BSource,
    /// Columns of C.
    pub n: usize,
    pub c: Base,
    pub c_rows: [i64; 2],
    pub epilogue: Epilogue,
}

impl GemmTask {
    /// The reduction length: taps times depth.
    pub fn k(&self) -> usize {
        self.taps[0].0 * self.taps[1].0 * self.depth
    }
    /// Rows of C per outer iteration.
    pub fn m(&self) -> usize {
        self.rows[0] * self.rows[1]
    }
    /// Multiply-adds of the whole kernel.
    pub fn macs(&self) -> usize {
        self.outer.iter().map(|o| o.count).product::<usize>() * self.m() * self.n * self.k()
    }
}
