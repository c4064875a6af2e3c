//! Per-axis index maps split into affine segments.
//!
//! Slice, Pad (every mode, negative pads included) and Expand map each output coordinate of an
//! axis to an input coordinate (or to "fill" for constant padding) independently per axis. The
//! maps depend only on shapes and attributes, so they are evaluated here at compile time and cut
//! into maximal runs where the source advances by a constant step; the kernel then emits one
//! strided block copy per combination of runs across axes. No index tables exist at run time.

use kiln_ir::eval::movement::pad_axis_sources;
use kiln_ir::PadMode;

/// A run of `len` output coordinates starting at `out_start`, reading `src_start + i*step`, or
/// filled with the pad value when `src_start` is `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Segment {
    pub out_start: usize,
    pub len: usize,
    pub src_start: Option<i64>,
    pub step: i64,
}

/// Cuts a map (`None` = fill), consumed one coordinate at a time, into maximal affine segments.
pub(crate) fn segments(map: impl IntoIterator<Item = Option<i64>>) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    for (i, src) in map.into_iter().enumerate() {
        if let Some(last) = out.last_mut() {
            let extends = match (last.src_start, src) {
                (None, None) => true,
                (Some(s0), Some(s)) if last.len == 1 => {
                    last.step = s - s0;
                    true
                }
                (Some(s0), Some(s)) => s == s0 + last.step * last.len as i64,
                _ => false,
            };
            if extends {
                last.len += 1;
                continue;
            }
        }
        out.push(Segment { out_start: i, len: 1, src_start: src, step: 1 });
    }
    out
}

/// The segments of one padded axis: input size `dim`, begin/end pads (negative: crop), output
/// size. Computed from the reference evaluator's own [`pad_axis_sources`] (one definition of
/// Pad's index rules, so kernel and oracle cannot drift apart), streamed: no memory per output
/// coordinate, as an axis may be 2^31 long.
pub(crate) fn pad_segments(dim: usize, begin: i64, end: i64, out: usize, mode: PadMode) -> Vec<Segment> {
    segments(pad_map(dim, begin, end, out, mode))
}

/// The map of one padded axis, coordinate by coordinate (see [`pad_segments`]).
pub(crate) fn pad_map(
    dim: usize,
    begin: i64,
    end: i64,
    out: usize,
    mode: PadMode,
) -> impl Iterator<Item = Option<i64>> {
    pad_axis_sources(dim, begin, end, out, mode).map(|s| s.map(|i| i as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_pad_splits_into_three_runs() {
        let map: Vec<_> = pad_map(4, 2, 1, 7, PadMode::Reflect).collect();
        assert_eq!(map, [2, 1, 0, 1, 2, 3, 2].map(Some));
        let segs = segments(map);
        assert_eq!(segs.len(), 3);
        assert_eq!(segs[0], Segment { out_start: 0, len: 3, src_start: Some(2), step: -1 });
        assert_eq!(segs[1], Segment { out_start: 3, len: 3, src_start: Some(1), step: 1 });
    }

    #[test]
    fn constant_pad_and_crop() {
        let map: Vec<_> = pad_map(5, -1, 2, 6, PadMode::Constant).collect();
        assert_eq!(map, vec![Some(1), Some(2), Some(3), Some(4), None, None]);
        assert_eq!(pad_segments(5, -1, 2, 6, PadMode::Constant).len(), 2);
    }
}
