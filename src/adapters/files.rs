//! Input files: read from disk here, then parsed and checked against their schema by
//! `app::input`, so the same checks serve a file on the command line and a request body.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use crate::app::AppError;
use crate::app::bulk::Recipients;
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

/// A recipients file on disk, streamed: its bytes are read for the hash and then row by row,
/// never held whole.
pub struct RecipientsFile<'a>(pub &'a Path);

/// Addresses from a file: one a line, or the first column of a CSV (a header row of `email`
/// or `address` is skipped; blank lines too), e.g. the delivered addresses from a mail
/// server's log.
pub fn address_list(path: &Path) -> Result<Vec<String>, crate::app::AppError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| crate::app::AppError::InvalidArgs(format!("{}: {e}", path.display())))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let first = line
            .split(',')
            .next()
            .unwrap_or_default()
            .trim()
            .trim_matches('"');
        if first.is_empty() || (i == 0 && matches!(first, "email" | "address")) {
            continue;
        }
        if !crate::domain::organisation::is_address(first) {
            return Err(crate::app::AppError::InvalidArgs(format!(
                "{}: line {}: {first:?} is not a mail address",
                path.display(),
                i + 1
            )));
        }
        out.push(first.to_string());
    }
    Ok(out)
}

impl RecipientsFile<'_> {
    fn fail(&self, e: std::io::Error) -> AppError {
        AppError::InvalidArgs(format!("{}: {e}", self.0.display()))
    }
}

impl Recipients for RecipientsFile<'_> {
    fn name(&self) -> String {
        self.0.display().to_string()
    }

    fn sha256(&self) -> Result<String, AppError> {
        use sha2::Digest;
        use std::io::Read;
        let mut f = std::fs::File::open(self.0).map_err(|e| self.fail(e))?;
        let mut h = sha2::Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = f.read(&mut buf).map_err(|e| self.fail(e))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        Ok(hex::encode(h.finalize()))
    }

    fn open(&self) -> Result<Box<dyn std::io::Read + '_>, AppError> {
        Ok(Box::new(
            std::fs::File::open(self.0).map_err(|e| self.fail(e))?,
        ))
    }
}

/// Opens `text` in the person's editor (`$VISUAL`, else `$EDITOR`, else `vi`) on a private
/// temporary file and returns what they saved. The editor command may carry arguments
/// (`code --wait`); it runs through `sh` with the file as its last argument.
pub fn edit_in_editor(text: &str, hint: &str) -> Result<String, String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let editor = ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "vi".to_string());
    let dir = std::env::temp_dir();
    let path = dir.join(format!("breachflow-{}-{hint}.md", std::process::id()));
    let fail = |e: std::io::Error| format!("{}: {e}", path.display());
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(fail)?;
        f.write_all(text.as_bytes()).map_err(fail)?;
    }
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(&path)
        .status();
    let result = match status {
        Ok(s) if s.success() => std::fs::read_to_string(&path).map_err(fail),
        Ok(s) => Err(format!(
            "the editor ({editor}) exited with {s}; nothing stored"
        )),
        Err(e) => Err(format!("could not start the editor ({editor}): {e}")),
    };
    let _ = std::fs::remove_file(&path);
    result
}
