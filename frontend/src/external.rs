//! External tensor data (`data_location = EXTERNAL`): keys `location`, `offset`, `length`.
//!
//! The location is a path relative to the model's folder. Absolute paths, drive prefixes and
//! any `..` component are rejected so a model cannot read files outside its folder. The byte
//! range is checked against the file's size before a buffer is allocated, and its length
//! against what `dims` need.

use crate::error::{FrontendError, Result};
use onnx_protobuf::TensorProto;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};

/// Reads the `nbytes` of data of tensor `name` from its external file.
pub fn read_external(t: &TensorProto, name: &str, base_dir: Option<&Path>, nbytes: usize) -> Result<Vec<u8>> {
    let err = |msg: String| FrontendError::ExternalData { tensor: name.to_string(), msg };
    let mut location = None;
    let mut offset = 0u64;
    let mut length = None;
    for entry in &t.external_data {
        match entry.key.as_str() {
            "location" => location = Some(entry.value.clone()),
            "offset" => offset = parse_u64(&entry.value).map_err(|m| err(format!("offset: {m}")))?,
            "length" => length = Some(parse_u64(&entry.value).map_err(|m| err(format!("length: {m}")))?),
            _ => {}
        }
    }
    let location = location.ok_or_else(|| err("no 'location' key".into()))?;
    let base = base_dir.ok_or_else(|| err("the model was loaded from bytes with no folder to resolve it".into()))?;
    let path = resolve(base, &location).map_err(err)?;
    if let Some(len) = length {
        if len != nbytes as u64 {
            return Err(err(format!("length {len} but dims need {nbytes} bytes")));
        }
    }
    read_range(&path, offset, nbytes).map_err(err)
}

fn parse_u64(s: &str) -> Result<u64, String> {
    s.trim().parse::<u64>().map_err(|_| format!("'{s}' is not a non-negative integer"))
}

/// `base/location`, refusing anything that could leave `base`.
fn resolve(base: &Path, location: &str) -> Result<PathBuf, String> {
    let rel = Path::new(location);
    if location.is_empty() {
        return Err("empty location".into());
    }
    for c in rel.components() {
        match c {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => return Err(format!("location '{location}' escapes the model folder")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!("location '{location}' is absolute; it must be relative to the model folder"))
            }
        }
    }
    Ok(base.join(rel))
}

fn read_range(path: &Path, offset: u64, nbytes: usize) -> Result<Vec<u8>, String> {
    let shown = path.display();
    let mut file = File::open(path).map_err(|e| format!("cannot open '{shown}': {e}"))?;
    let size = file.metadata().map_err(|e| format!("'{shown}': {e}"))?.len();
    let end = offset.checked_add(nbytes as u64).ok_or("offset + length overflows")?;
    if end > size {
        return Err(format!("'{shown}' has {size} bytes, the tensor needs bytes {offset}..{end}"));
    }
    file.seek(SeekFrom::Start(offset)).map_err(|e| format!("'{shown}': {e}"))?;
    let mut buf = vec![0u8; nbytes];
    file.read_exact(&mut buf).map_err(|e| format!("'{shown}': {e}"))?;
    Ok(buf)
}
