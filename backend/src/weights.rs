//! Constants as read-only data objects: declared non-writable, 64-byte aligned, so they land in
//! `.rodata` of native objects and in read-only pages of the JIT. Only constants some kernel
//! reads are emitted.

use crate::error::{BackendError, Result};
use crate::mk::pack::PackedB;
use cranelift_module::{DataDescription, DataId, Linkage, Module};
use kiln_ir::{Graph, ValueId};
use std::collections::HashMap;

/// The data objects of the graph's constants, declared on first use.
#[derive(Default)]
pub struct Weights {
    ids: HashMap<usize, DataId>,
    /// Packed copies (`crate::mk::pack`), by constant and packing.
    packed: HashMap<(usize, PackedB), DataId>,
    /// Total bytes of the emitted constants.
    pub bytes: usize,
}

impl Weights {
    /// The data object of constant value `v`, defining it in `module` the first time.
    pub fn data_of<M: Module>(
        &mut self,
        module: &mut M,
        graph: &Graph,
        v: ValueId,
        prefix: &str,
    ) -> Result<Option<DataId>> {
        let Some(tensor) = graph.const_of(v) else { return Ok(None) };
        if let Some(&id) = self.ids.get(&v.index()) {
            return Ok(Some(id));
        }
        let name = format!("{prefix}w{}", v.index());
        let id = self.define(module, &name, tensor.to_le_bytes())?;
        self.ids.insert(v.index(), id);
        Ok(Some(id))
    }

    /// The data object of constant `v` packed as `packing`, defining it the first time.
    pub fn packed_data_of<M: Module>(
        &mut self,
        module: &mut M,
        graph: &Graph,
        v: ValueId,
        packing: &PackedB,
        prefix: &str,
    ) -> Result<DataId> {
        if let Some(&id) = self.packed.get(&(v.index(), *packing)) {
            return Ok(id);
        }
        let tensor = graph.const_of(v).ok_or_else(|| {
            BackendError::Module(format!("packed weight `{}` is not a constant", graph.value(v).name))
        })?;
        let converted;
        let values: &[f32] = match tensor.as_slice::<f32>() {
            Some(v) => v,
            None => {
                converted = tensor.to_f64_vec().into_iter().map(|x| x as f32).collect::<Vec<f32>>();
                &converted
            }
        };
        let bytes = packing.pack_le_bytes(values);
        let name = format!("{prefix}w{}p{}", v.index(), self.packed.len());
        let id = self.define(module, &name, bytes)?;
        self.packed.insert((v.index(), *packing), id);
        Ok(id)
    }

    /// Declares and defines a read-only, 64-byte aligned data object holding `bytes`.
    fn define<M: Module>(&mut self, module: &mut M, name: &str, mut bytes: Vec<u8>) -> Result<DataId> {
        let id = module
            .declare_data(name, Linkage::Local, false, false)
            .map_err(|e| BackendError::Module(format!("declaring weight `{name}`: {e}")))?;
        self.bytes += bytes.len();
        if bytes.is_empty() {
            bytes.push(0); // a zero-sized object still needs an address
        }
        let mut desc = DataDescription::new();
        desc.define(bytes.into_boxed_slice());
        desc.set_align(64);
        module.define_data(id, &desc).map_err(|e| BackendError::Module(format!("defining weight `{name}`: {e}")))?;
        Ok(id)
    }
}
