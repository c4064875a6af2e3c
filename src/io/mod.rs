//! Tensor files: NumPy `.npy` ([`npy`]) and ONNX `TensorProto` `.pb` (the ONNX test-data format,
//! read and written by the frontend). The format follows the file extension.

pub mod npy;

use crate::error::{Error, Result};
use kiln_ir::Tensor;
use std::path::Path;

/// A tensor file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TensorFormat {
    Npy,
    Pb,
}

impl TensorFormat {
    /// The format of a path, from its extension (`.npy` or `.pb`, any case).
    pub fn of_path(path: &Path) -> Option<TensorFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "npy" => Some(TensorFormat::Npy),
            "pb" => Some(TensorFormat::Pb),
            _ => None,
        }
    }
    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            TensorFormat::Npy => "npy",
            TensorFormat::Pb => "pb",
        }
    }
}

/// A tensor read from a file, with the name stored in it (`.pb` files carry one; may be empty).
#[derive(Clone, Debug)]
pub struct NamedTensor {
    pub name: Option<String>,
    pub tensor: Tensor,
}

/// Reads a `.npy` or `.pb` tensor file.
pub fn read_tensor(path: &Path) -> Result<NamedTensor> {
    let format = TensorFormat::of_path(path).ok_or_else(|| Error::TensorFormat { path: path.into() })?;
    let bytes = std::fs::read(path).map_err(|source| Error::Read { path: path.into(), source })?;
    let file_error = |msg: String| Error::TensorFile { path: path.into(), msg };
    match format {
        TensorFormat::Npy => match npy::decode(&bytes) {
            Ok(tensor) => Ok(NamedTensor { name: None, tensor }),
            Err(Error::Npy(msg)) => Err(file_error(msg)),
            Err(e) => Err(e),
        },
        TensorFormat::Pb => {
            let (name, tensor) = kiln_frontend::tensor_from_pb(&bytes).map_err(|e| file_error(e.to_string()))?;
            Ok(NamedTensor { name: Some(name).filter(|n| !n.is_empty()), tensor })
        }
    }
}

/// Writes `tensor` to `path` in the format of its extension; `name` is stored in `.pb` files.
pub fn write_tensor(path: &Path, name: &str, tensor: &Tensor) -> Result<()> {
    let format = TensorFormat::of_path(path).ok_or_else(|| Error::TensorFormat { path: path.into() })?;
    let bytes = match format {
        TensorFormat::Npy => npy::encode(tensor),
        TensorFormat::Pb => kiln_frontend::try_tensor_to_pb(name, tensor)?,
    };
    std::fs::write(path, bytes).map_err(|source| Error::Write { path: path.into(), source })
}

/// The file names `kiln run --output-dir` gives outputs: each graph output's name made a safe
/// file name (letters, digits, `.`, `-`, `_` kept, every other character `_`, no leading dot,
/// at most 100 characters; `output_I` when nothing is left), then `_I` appended to a name that
/// is already taken (compared ignoring case, for case-insensitive file systems), plus `.ext`.
pub fn output_file_names(names: &[String], ext: &str) -> Vec<String> {
    let mut taken: Vec<String> = Vec::new();
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut stem = sanitize(name);
            if stem.is_empty() {
                stem = format!("output_{i}");
            }
            if taken.contains(&stem.to_lowercase()) {
                stem = format!("{stem}_{i}");
            }
            taken.push(stem.to_lowercase());
            format!("{stem}.{ext}")
        })
        .collect()
}

fn sanitize(name: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    let text: String = name.chars().map(|c| if safe(c) { c } else { '_' }).take(100).collect();
    text.trim_start_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::output_file_names;

    #[test]
    fn output_names_are_sanitised_and_unique() {
        let names: Vec<String> = ["prob", "/model/Conv_output_0", "..", "Prob", "a:b"].map(String::from).into();
        let files = output_file_names(&names, "npy");
        assert_eq!(files, ["prob.npy", "_model_Conv_output_0.npy", "output_2.npy", "Prob_3.npy", "a_b.npy"]);
    }
}
