//! kiln's runtime: JIT-compiled models (being built).
