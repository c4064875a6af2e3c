//! What `run` and `bench` share: load the model, bind input files to inputs, specialise on
//! their shapes (and on their values when the import needs them), compile, and complete the
//! inputs with seeded random tensors. Every decision taken for the user is printed as a note.

use super::args::{InputArg, ModelArgs};
use anyhow::{bail, Result};
use kiln::io::{read_tensor, TensorFormat};
use kiln::{CompiledModel, DType, Dim, Model, Options, Tensor, TensorType};
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::path::PathBuf;

/// The seed of the random inputs, fixed so runs repeat.
pub const SEED: u64 = 0;

/// A compiled model with the inputs to run it on.
pub struct Prepared {
    pub compiled: CompiledModel,
    /// In `compiled.input_names()` order.
    pub inputs: Vec<Tensor>,
    /// The format of the first input file, if any was given.
    pub format: Option<TensorFormat>,
}

/// An input file bound to a graph input.
struct Bound {
    name: String,
    path: PathBuf,
    tensor: Tensor,
    format: Option<TensorFormat>,
}

/// Loads the model and applies the `--shape` and `--dim` arguments (each once per name).
pub fn load_model(args: &ModelArgs) -> Result<Model> {
    let mut model = Model::load(&args.model)?;
    for (i, s) in args.shapes.iter().enumerate() {
        if let Some(first) = args.shapes[..i].iter().find(|f| f.name == s.name) {
            bail!("--shape is given twice for input '{}' ({} and {}); give it once", s.name, dims(first), dims(s));
        }
        model = model.with_shape(&s.name, &s.dims);
    }
    for (i, d) in args.dims.iter().enumerate() {
        if let Some(first) = args.dims[..i].iter().find(|f| f.name == d.name) {
            bail!("--dim is given twice for '{}' ({} and {}); give it once", d.name, first.size, d.size);
        }
        model = model.with_dim(&d.name, d.size);
    }
    Ok(model)
}

fn dims(s: &super::args::ShapeArg) -> String {
    let dims: Vec<String> = s.dims.iter().map(usize::to_string).collect();
    format!("{}={}", s.name, dims.join(","))
}

/// Loads, binds, specialises and compiles; see the module docs.
pub fn prepare(args: &ModelArgs, files: &[InputArg], features: &[String]) -> Result<Prepared> {
    prepare_with(args, files, Options { jit_features: features.to_vec(), ..args.options() })
}

/// [`prepare`] with the compilation options given whole (`kiln bench --profile`).
pub fn prepare_with(args: &ModelArgs, files: &[InputArg], options: Options) -> Result<Prepared> {
    let model = load_model(args)?;
    let bound = bind_files(&model, files)?;
    let model = specialise_on_shapes(model, &bound, args);
    let compiled = compile_binding_values(model, &bound, &options)?;
    for note in compiled.notes() {
        eprintln!("note: {note}");
    }
    check_files_fit(&compiled, &bound)?;
    let inputs = runtime_inputs(&compiled, &bound);
    Ok(Prepared { compiled, inputs, format: bound.first().and_then(|b| b.format) })
}

/// Reads the files and pairs each with a declared input: by name, else in order.
fn bind_files(model: &Model, files: &[InputArg]) -> Result<Vec<Bound>> {
    let declared: Vec<String> = model.inputs().into_iter().map(|i| i.name).collect();
    let mut bound: Vec<Bound> = Vec::new();
    for f in files.iter().filter(|f| f.name.is_some()) {
        let name = f.name.clone().unwrap_or_default();
        if !declared.contains(&name) {
            return Err(kiln::Error::UnknownInput { name, known: declared.join(", ") }.into());
        }
        if bound.iter().any(|b| b.name == name) {
            bail!("input '{name}' is given twice");
        }
        bound.push(read(name, f)?);
    }
    let named: Vec<String> = bound.iter().map(|b| b.name.clone()).collect();
    let mut free = declared.iter().filter(|d| !named.contains(d)).cloned();
    let positional: Vec<&InputArg> = files.iter().filter(|f| f.name.is_none()).collect();
    for f in &positional {
        let Some(name) = free.next() else {
            bail!(
                "{} input files given but the model has {} input(s): {}",
                files.len(),
                declared.len(),
                declared.join(", ")
            );
        };
        bound.push(read(name, f)?);
    }
    Ok(bound)
}

fn read(name: String, f: &InputArg) -> Result<Bound> {
    let file = read_tensor(&f.path)?;
    Ok(Bound { name, path: f.path.clone(), tensor: file.tensor, format: TensorFormat::of_path(&f.path) })
}

/// Fixes the symbolic dims of every input given as a file (unless `--shape` names it) to the
/// file's shape. Inputs with fully static dims are left alone, so a mismatch is reported when
/// running rather than silently compiled into another model.
fn specialise_on_shapes(mut model: Model, bound: &[Bound], args: &ModelArgs) -> Model {
    let declared = model.inputs();
    for b in bound.iter().filter(|b| !args.shapes.iter().any(|s| s.name == b.name)) {
        let Some(info) = declared.iter().find(|i| i.name == b.name) else { continue };
        let symbolic = info.dims.iter().any(|d| !matches!(d, Dim::Fixed(_)));
        if symbolic && info.dims.len() == b.tensor.shape().len() {
            model = model.with_shape(&b.name, b.tensor.shape());
        }
    }
    model
}

/// Compiles; when the import needs the value of an input given as a file, binds that value as
/// a compile-time constant and retries (at most once per input).
fn compile_binding_values(mut model: Model, bound: &[Bound], opts: &Options) -> Result<CompiledModel> {
    for _ in 0..=bound.len() {
        let err = match model.compile(opts) {
            Ok(compiled) => return Ok(compiled),
            Err(e) => e,
        };
        let needed = err.needs_value_input().and_then(|n| bound.iter().find(|b| b.name == n));
        match needed {
            Some(b) if !model.has_value(&b.name) => {
                eprintln!("note: input '{}' determines a shape; specialising on its value", b.name);
                model = model.with_value(&b.name, b.tensor.clone());
            }
            _ => return Err(err.into()),
        }
    }
    Ok(model.compile(opts)?)
}

/// Fails, naming the file, when an input file does not fit the compiled input's type.
fn check_files_fit(compiled: &CompiledModel, bound: &[Bound]) -> Result<()> {
    for (name, ty) in compiled.input_names().iter().zip(compiled.input_types()) {
        let Some(b) = bound.iter().find(|b| &b.name == name) else { continue };
        if b.tensor.ty() != ty {
            let (file, got) = (b.path.display(), b.tensor.ty());
            bail!("input '{name}': the model expects {ty}, but {file} holds {got}");
        }
    }
    Ok(())
}

/// The runtime inputs: the bound files, else seeded random tensors (with a note).
fn runtime_inputs(compiled: &CompiledModel, bound: &[Bound]) -> Vec<Tensor> {
    let mut rng = StdRng::seed_from_u64(SEED);
    let names = compiled.input_names().iter();
    names
        .zip(compiled.input_types())
        .map(|(name, ty)| match bound.iter().find(|b| &b.name == name) {
            Some(b) => b.tensor.clone(),
            None => {
                eprintln!(
                    "note: no --input for '{name}'; using seeded random {ty} ({}, seed {SEED})",
                    range_of(ty.dtype)
                );
                random_tensor(&ty, &mut rng)
            }
        })
        .collect()
}

fn range_of(dtype: DType) -> &'static str {
    match dtype {
        d if d.is_float() || d.is_half() => "uniform in [-1, 1)",
        DType::Bool => "true or false",
        _ => "integers in 0..4",
    }
}

/// A random tensor: floats uniform in [-1, 1), integers in 0..4 (valid as small indices).
pub fn random_tensor(ty: &TensorType, rng: &mut StdRng) -> Tensor {
    let values: Vec<f64> = (0..ty.numel())
        .map(|_| match ty.dtype {
            d if d.is_float() || d.is_half() => rng.gen_range(-1.0..1.0),
            DType::Bool => f64::from(u8::from(rng.gen_bool(0.5))),
            _ => f64::from(rng.gen_range(0u8..4)),
        })
        .collect();
    Tensor::from_f64(ty.dtype, ty.shape.clone(), &values)
}
