//! kiln's tensor IR: the one language every stage of the compiler speaks.
//!
//! - [`Graph`]: values, nodes and constants in append-only arenas with typed handles
//!   ([`ValueId`], [`NodeId`], [`ConstId`]); nodes are in execution order.
//! - [`Op`]: a closed enum whose variants carry typed attributes; see [`op`] for the operand
//!   conventions the frontend normalises every ONNX op into.
//! - [`DType`], [`TensorType`]: element types and static shapes. Symbolic dims never reach the IR:
//!   the frontend specialises them first.
//! - [`Tensor`]: dense typed data, used for constants (shared as `Arc<Tensor>`), evaluator values
//!   and runtime I/O.
//! - [`infer`]: output types of an op from its input types; [`verify`]: the graph invariants;
//!   [`print`]/[`parse`]: a text form that round-trips; [`eval`]: a plain scalar reference
//!   evaluator of every op (constant folding and the oracle of the backend tests).
//! - [`layout`]: channels-last (NHWC) forms of conv and pooling.
//! - [`dynamic`]: the few ops whose output extent is data-dependent (bounded buffer + length).

pub mod arena;
pub mod dtype;
pub mod dynamic;
pub mod error;
pub mod eval;
pub mod fused;
pub mod graph;
pub mod half;
pub mod ieee;
pub mod infer;
pub mod layout;
pub mod minifloat;
pub mod narrow;
pub mod op;
pub mod parse;
pub mod print;
pub mod tensor;
pub mod verify;
pub mod winograd;

pub use arena::{Arena, Handle};
pub use dtype::{DType, TensorType};
pub use error::{IrError, Result};
pub use eval::{eval_graph, eval_op};
pub use fused::{Operand, Program, Step};
pub use graph::{ConstId, Graph, Node, NodeId, Value, ValueDef, ValueId};
pub use half::{BF16, F16};
pub use infer::infer_types;
pub use narrow::{F4E2M1, F8E4M3FN, F8E4M3FNUZ, F8E5M2, F8E5M2FNUZ, F8E8M0, I2, I4, U2, U4};
pub use op::*;
pub use parse::parse_graph;
pub use print::print_graph;
pub use tensor::{broadcast_shapes, strides_of, Element, Tensor, TensorData};
pub use verify::verify;
