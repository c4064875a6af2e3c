//! Named symbolic dims, fixed once for every input that uses them.
//!
//! ONNX models name their dynamic dims (`batch`, `seq`, `H`), and one name in several inputs
//! means one size. The frontend specialises each input on its own, so before import this module
//! turns what the user gave (a whole input shape, `with_shape`; one dim by name, `with_dim`;
//! by default 1 for a dim at axis 0, the batch by overwhelming convention) into a table from
//! name to size, then gives every input whose dims the table fully determines its whole shape.
//! A dim nothing determines is an error that prints the whole signature and the `--shape` (or
//! `--dim`) line that would fix it, since the user has to look that up next anyway. Two sources
//! disagreeing on one name (`--shape x=2,..` and `--shape y=3,..` for `N`) is an error naming
//! both, rather than one silently winning.

use crate::error::{Error, Result};
use kiln_frontend::{Dim, ImportOptions, InputInfo};
use std::collections::BTreeMap;

/// A size for a dim name and what set it (for messages).
type Known = BTreeMap<String, (usize, String)>;

/// `spec` with a whole shape for every input the named dims determine, plus the notes of the
/// defaults taken. Inputs given a shape or a value, or with fixed dims only, are left as given.
/// `outputs` (as declared) are only for the signature an unknown dim's error prints.
pub fn resolve(
    inputs: &[InputInfo],
    outputs: &[InputInfo],
    spec: &ImportOptions,
    dims: &BTreeMap<String, usize>,
) -> Result<(ImportOptions, Vec<String>)> {
    check_dim_names(inputs, dims)?;
    let mut known: Known = dims.iter().map(|(n, &v)| (n.clone(), (v, format!("--dim {n}={v}")))).collect();
    for info in inputs {
        let given =
            spec.shapes.get(&info.name).cloned().or_else(|| spec.values.get(&info.name).map(|v| v.shape().to_vec()));
        if let Some(shape) = given.filter(|s| s.len() == info.dims.len()) {
            learn(&mut known, info, &shape)?;
        }
    }
    let mut notes = Vec::new();
    let open: Vec<&InputInfo> = inputs.iter().filter(|i| !is_given(spec, &i.name) && has_open_dims(i)).collect();
    for info in &open {
        match info.dims.first() {
            Some(Dim::Symbolic(s)) if !known.contains_key(s) => {
                notes.push(format!("symbolic dim '{s}' (axis 0 of input '{}') set to 1; use --dim {s}=...", info.name));
                known.insert(s.clone(), (1, format!("the default of axis 0 of input '{}'", info.name)));
            }
            Some(Dim::Unknown) => notes
                .push(format!("input '{}': unknown dim (axis 0) set to 1; use --shape {}=...", info.name, info.name)),
            _ => {}
        }
    }
    let mut resolved = spec.clone();
    for info in &open {
        resolved.shapes.insert(info.name.clone(), shape_of(info, &known, inputs, outputs)?);
    }
    Ok((resolved, notes))
}

/// Every name given a size must be a symbolic dim of some input.
fn check_dim_names(inputs: &[InputInfo], dims: &BTreeMap<String, usize>) -> Result<()> {
    let mut names: Vec<&str> = (inputs.iter().flat_map(|i| &i.dims))
        .filter_map(|d| match d {
            Dim::Symbolic(s) => Some(s.as_str()),
            _ => None,
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    match dims.keys().find(|n| !names.contains(&n.as_str())) {
        None => Ok(()),
        Some(n) => {
            let list = if names.is_empty() { "none".to_string() } else { names.join(", ") };
            Err(Error::UnknownDim { name: n.clone(), known: list })
        }
    }
}

/// Records the sizes a given shape assigns to `info`'s symbolic dims.
fn learn(known: &mut Known, info: &InputInfo, shape: &[usize]) -> Result<()> {
    for (axis, (dim, &size)) in info.dims.iter().zip(shape).enumerate() {
        let Dim::Symbolic(name) = dim else { continue };
        let source = format!("axis {axis} of input '{}'", info.name);
        match known.get(name) {
            Some((v, by)) if *v != size => {
                let msg = format!("symbolic dim '{name}' is {size} by {source} but {v} by {by}");
                return Err(Error::Shape { input: info.name.clone(), msg });
            }
            Some(_) => {}
            None => {
                known.insert(name.clone(), (size, source));
            }
        }
    }
    Ok(())
}

fn is_given(spec: &ImportOptions, name: &str) -> bool {
    spec.shapes.contains_key(name) || spec.values.contains_key(name)
}

fn has_open_dims(info: &InputInfo) -> bool {
    info.dims.iter().any(|d| !matches!(d, Dim::Fixed(_)))
}

/// The whole shape of `info` from the table; an unknown dim at axis 0 defaults to 1 (as the
/// frontend does), any other unresolved dim is the error of [`unknown_dim`].
fn shape_of(info: &InputInfo, known: &Known, inputs: &[InputInfo], outputs: &[InputInfo]) -> Result<Vec<usize>> {
    let size = |(axis, d): (usize, &Dim)| match d {
        Dim::Fixed(v) => Some(*v),
        Dim::Symbolic(s) => known.get(s).map(|(v, _)| *v),
        Dim::Unknown => (axis == 0).then_some(1),
    };
    let sizes: Vec<Option<usize>> = info.dims.iter().enumerate().map(size).collect();
    match sizes.iter().position(Option::is_none) {
        None => Ok(sizes.into_iter().flatten().collect()),
        Some(axis) => Err(unknown_dim(info, axis, &sizes, (inputs, outputs))),
    }
}

/// "dimension 'H' (axis 2) of input 'x' is not known", the whole signature, and the line to use.
fn unknown_dim(info: &InputInfo, axis: usize, sizes: &[Option<usize>], io: (&[InputInfo], &[InputInfo])) -> Error {
    let dim = dim_text(&info.dims[axis]);
    let shown: Vec<String> =
        (info.dims.iter().zip(sizes)).map(|(d, s)| s.map_or_else(|| dim_text(d), |v| v.to_string())).collect();
    let open: Vec<String> =
        info.dims.iter().zip(sizes).filter(|(_, s)| s.is_none()).map(|(d, _)| dim_text(d)).collect();
    let names: Vec<&String> = (info.dims.iter().zip(sizes))
        .filter_map(|(d, s)| match d {
            Dim::Symbolic(n) if s.is_none() => Some(n),
            _ => None,
        })
        .collect();
    let mut fix = format!("--shape {}={} (with {} replaced by sizes)", info.name, shown.join(","), open.join(", "));
    if names.len() == open.len() {
        let dims: Vec<String> = names.iter().map(|n| format!("--dim {n}=SIZE")).collect();
        fix = format!("{fix}, or {}", dims.join(" "));
    }
    let list = |infos: &[InputInfo]| infos.iter().map(signature).collect::<Vec<_>>().join(", ");
    let msg = format!(
        "dimension {dim} (axis {axis}) is not known\n  inputs: {}\n  outputs: {}\n  give it with: {fix}",
        list(io.0),
        list(io.1)
    );
    Error::Shape { input: info.name.clone(), msg }
}

/// A declared dim as written in signatures: `3`, `N`, `?`.
pub fn dim_text(d: &Dim) -> String {
    match d {
        Dim::Fixed(v) => v.to_string(),
        Dim::Symbolic(s) => s.clone(),
        Dim::Unknown => "?".into(),
    }
}

/// `name: f32[N,3,H,W]` (`?` for a dtype kiln does not know).
pub fn signature(info: &InputInfo) -> String {
    let dtype = info.dtype.map_or_else(|| "?".to_string(), |d| d.to_string());
    let dims: Vec<String> = info.dims.iter().map(dim_text).collect();
    format!("{}: {dtype}[{}]", info.name, dims.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_ir::DType;

    fn input(name: &str, dims: &[&str]) -> InputInfo {
        let dim = |d: &&str| match d.parse() {
            Ok(v) => Dim::Fixed(v),
            Err(_) if *d == "?" => Dim::Unknown,
            Err(_) => Dim::Symbolic(d.to_string()),
        };
        InputInfo { name: name.into(), dtype: Some(DType::F32), dims: dims.iter().map(dim).collect() }
    }

    #[test]
    fn one_shape_fixes_the_name_for_every_input() {
        let inputs = [input("x", &["N", "3"]), input("mask", &["2", "N"])];
        let mut spec = ImportOptions::default();
        spec.shapes.insert("x".into(), vec![5, 3]);
        let (resolved, notes) = resolve(&inputs, &[], &spec, &BTreeMap::new()).unwrap();
        assert_eq!(resolved.shapes["mask"], vec![2, 5]);
        assert!(notes.is_empty());
    }

    #[test]
    fn axis_zero_defaults_once_for_every_user_of_the_name() {
        let inputs = [input("x", &["batch", "3"]), input("y", &["4", "batch"])];
        let (resolved, notes) = resolve(&inputs, &[], &ImportOptions::default(), &BTreeMap::new()).unwrap();
        assert_eq!(resolved.shapes["y"], vec![4, 1]);
        assert_eq!(notes.len(), 1, "{notes:?}");
    }

    #[test]
    fn dims_by_name_and_conflicts() {
        let inputs = [input("x", &["N", "H"]), input("y", &["N"])];
        let dims = BTreeMap::from([("H".to_string(), 7), ("N".to_string(), 2)]);
        let (resolved, _) = resolve(&inputs, &[], &ImportOptions::default(), &dims).unwrap();
        assert_eq!(resolved.shapes["x"], vec![2, 7]);
        let mut spec = ImportOptions::default();
        spec.shapes.insert("y".into(), vec![3]);
        let err = resolve(&inputs, &[], &spec, &dims).unwrap_err().to_string();
        assert!(err.contains("'N' is 3 by axis 0 of input 'y' but 2 by --dim N=2"), "{err}");
    }

    #[test]
    fn unknown_dims_print_the_signature_and_the_fix() {
        let inputs = [input("x", &["N", "3", "H", "?"])];
        let err = resolve(&inputs, &[], &ImportOptions::default(), &BTreeMap::new()).unwrap_err().to_string();
        assert!(err.contains("dimension H (axis 2) is not known"), "{err}");
        assert!(err.contains("inputs: x: f32[N,3,H,?]"), "{err}");
        assert!(err.contains("--shape x=1,3,H,? (with H, ? replaced by sizes)"), "{err}");
    }
}
