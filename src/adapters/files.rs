//! Input files: read from disk here, then parsed and checked against their schema by
//! `app::input`, so the same checks serve a file on the command line and a request body.

use std::path::Path;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use crate::app::input::{InputError, parse};

/// Reads and validates a JSON file as `T`.
pub fn load<T: DeserializeOwned + JsonSchema>(path: &Path) -> Result<T, InputError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| InputError::Read {
        file: file.clone(),
        source,
    })?;
    parse(&file, &text)
}
