//! Input files: read from disk here, then parsed and checked against their schema by
//! `app::input`, so the same checks serve a file on the command line and a request body.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use crate::app::input::{InputError, parse};
use crate::render::template::{TemplateError, TemplateSet};

/// Reads and validates a JSON file as `T`.
pub fn load<T: DeserializeOwned + JsonSchema>(path: &Path) -> Result<T, InputError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| InputError::Read {
        file: file.clone(),
        source,
    })?;
    parse(&file, &text)
}

/// The templates: the built-in set, with the override folder's `NAME.hbs` files replacing or
/// adding. Only plain files count: a symbolic link could point anywhere.
pub fn templates(overrides: Option<&Path>) -> Result<TemplateSet, TemplateError> {
    let Some(dir) = overrides else {
        return TemplateSet::builtin();
    };
    let folder = |message: String| TemplateError::Folder {
        dir: dir.to_path_buf(),
        message,
    };
    let entries = std::fs::read_dir(dir).map_err(|e| folder(e.to_string()))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "hbs"))
        .collect();
    paths.sort();
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        let meta = std::fs::symlink_metadata(&path).map_err(|e| folder(e.to_string()))?;
        if !meta.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|e| TemplateError::Syntax {
            file: path.display().to_string(),
            message: e.to_string(),
        })?;
        files.push((path.display().to_string(), text));
    }
    TemplateSet::with_overrides(&files)
}
