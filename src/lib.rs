//! kiln: the pipeline and public API.
