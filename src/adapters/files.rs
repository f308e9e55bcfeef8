//! Input files: read from disk here, then parsed and checked against their schema by
//! `app::input`, so the same checks serve a file on the command line and a request body.
//!
//! On the team server a command's files are the asking command line's: it sends the files the
//! command reads with the request, and writes the files the command writes from the answer.
//! While such an *exchange* runs on a request thread, reads come from what was sent and writes
//! are collected to send back; nothing touches the server's disk under a client's path.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use crate::app::AppError;
use crate::app::bulk::Recipients;
use crate::app::input::{InputError, parse};
use crate::render::template::{TemplateError, TemplateSet};

/// The files of one remote command, while it runs on this thread.
struct Exchange {
    inputs: std::collections::HashMap<PathBuf, Vec<u8>>,
    outputs: Vec<(PathBuf, Vec<u8>)>,
}

thread_local! {
    static EXCHANGE: std::cell::RefCell<Option<Exchange>> = const { std::cell::RefCell::new(None) };
}

/// From now on, until [`end_exchange`], this thread's file reads come from `inputs` (by the path
/// as the command line wrote it) and its file writes are collected.
pub fn begin_exchange(inputs: Vec<(PathBuf, Vec<u8>)>) {
    EXCHANGE.with(|x| {
        *x.borrow_mut() = Some(Exchange {
            inputs: inputs.into_iter().collect(),
            outputs: Vec::new(),
        })
    });
}

/// Stops the exchange and returns the files written, in order.
pub fn end_exchange() -> Vec<(PathBuf, Vec<u8>)> {
    EXCHANGE
        .with(|x| x.borrow_mut().take())
        .map(|x| x.outputs)
        .unwrap_or_default()
}

/// Whether this thread runs a remote command's file exchange.
pub fn exchanging() -> bool {
    EXCHANGE.with(|x| x.borrow().is_some())
}

/// Whether `path` names a file: one sent with a remote command, or one on this disk.
pub fn is_file(path: &Path) -> bool {
    EXCHANGE.with(|x| match x.borrow().as_ref() {
        Some(x) => x.inputs.contains_key(path),
        None => path.is_file(),
    })
}

/// The bytes sent for `path`, when exchanging (None: read the disk).
fn sent(path: &Path) -> Option<std::io::Result<Vec<u8>>> {
    EXCHANGE.with(|x| {
        x.borrow().as_ref().map(|x| {
            x.inputs.get(path).cloned().ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "not sent with the command to the server (only the files the command names are sent)",
                )
            })
        })
    })
}

/// A whole small file: the one sent with a remote command, or the disk's.
pub fn read_all(path: &Path) -> std::io::Result<Vec<u8>> {
    match sent(path) {
        Some(bytes) => bytes,
        None => std::fs::read(path),
    }
}

/// Reads and validates a JSON file as `T`.
pub fn load<T: DeserializeOwned + JsonSchema>(path: &Path) -> Result<T, InputError> {
    let file = path.display().to_string();
    let text = read_bounded(path, crate::domain::bounds::MAX_INPUT_FILE_BYTES)?;
    // TOML is accepted beside JSON for files people write by hand: it has comments, and
    // `incident new` writes one.
    if path.extension().is_some_and(|x| x == "toml") {
        return crate::app::input::parse_toml(&file, &text);
    }
    parse(&file, &text)
}

/// A text file of at most `limit` bytes: its size is checked before it is read, and a file
/// that grows while read is cut at the limit and refused, so a huge file never fills memory.
pub fn read_bounded(path: &Path, limit: u64) -> Result<String, InputError> {
    use std::io::Read;
    let file = path.display().to_string();
    let read = |source| InputError::Read {
        file: file.clone(),
        source,
    };
    let bytes = match sent(path) {
        Some(bytes) => bytes.map_err(read)?,
        None => {
            let f = std::fs::File::open(path).map_err(read)?;
            let len = f.metadata().map_err(read)?.len();
            crate::app::input::check_size(&file, len, limit)?;
            let mut bytes = Vec::with_capacity(len as usize);
            f.take(limit + 1).read_to_end(&mut bytes).map_err(read)?;
            bytes
        }
    };
    crate::app::input::check_size(&file, bytes.len() as u64, limit)?;
    String::from_utf8(bytes).map_err(|e| {
        read(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not UTF-8 text: {e}"),
        ))
    })
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
            // Said, not silent: otherwise the built-in template is used and nobody knows why.
            eprintln!(
                "warning: {}: {}, so it was ignored and the built-in template (if any) is used; templates are read only from plain files, as a link could point anywhere",
                path.display(),
                if meta.file_type().is_symlink() {
                    "a symbolic link"
                } else {
                    "not a plain file"
                }
            );
            continue;
        }
        let text =
            read_bounded(&path, crate::domain::bounds::MAX_TEXT_FILE_BYTES).map_err(|e| {
                TemplateError::Syntax {
                    file: path.display().to_string(),
                    message: e.to_string(),
                }
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
    let text = read_all(path)
        .and_then(|b| {
            String::from_utf8(b)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
        })
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
        if let Some(why) = crate::domain::organisation::undeliverable(first) {
            return Err(crate::app::AppError::InvalidArgs(format!(
                "{}: line {}: {first:?} {why}",
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
        let mut f = self.open()?;
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
        if let Some(bytes) = sent(self.0) {
            return Ok(Box::new(std::io::Cursor::new(
                bytes.map_err(|e| self.fail(e))?,
            )));
        }
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
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
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
        Ok(s) if s.success() => read_bounded(&path, crate::domain::bounds::MAX_TEXT_FILE_BYTES)
            .map_err(|e| e.to_string()),
        Ok(s) => Err(format!(
            "the editor ({editor}) exited with {s}; nothing stored"
        )),
        Err(e) => Err(format!("could not start the editor ({editor}): {e}")),
    };
    let _ = std::fs::remove_file(&path);
    result
}

/// Where `path` really is: the longest part of it that exists with its symbolic links and
/// `..` resolved, and the rest (which does not exist yet) added after, `..` taken lexically.
pub fn resolve(path: &Path) -> std::io::Result<PathBuf> {
    use std::path::Component;
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    };
    let parts: Vec<Component> = abs.components().collect();
    for split in (1..=parts.len()).rev() {
        let head: PathBuf = parts[..split].iter().collect();
        if let Ok(mut out) = head.canonicalize() {
            for c in &parts[split..] {
                match c {
                    Component::ParentDir => {
                        out.pop();
                    }
                    Component::Normal(name) => out.push(name),
                    _ => {}
                }
            }
            return Ok(out);
        }
    }
    Ok(abs)
}

/// Checks a path the person chose to write to (`--out`, a bundle, a schema folder): once
/// resolved it must not be inside the data directory (a report written over the store's `db`
/// would destroy it), and if something is there already it must be a plain file, not a link.
pub fn check_output(path: &Path, data_dir: &Path) -> Result<(), AppError> {
    // A remote command's output is written by the command line that asked, which checks it.
    if exchanging() {
        return Ok(());
    }
    let io = |e: std::io::Error| AppError::Failed(format!("{}: {e}", path.display()));
    let target = resolve(path).map_err(io)?;
    let store = resolve(data_dir).map_err(io)?;
    if target.starts_with(&store) {
        return Err(AppError::OutputRefused(format!(
            "{}: is inside the data directory {} (as {}); the store's files must only be written by breachflow. Write the output somewhere else",
            path.display(),
            store.display(),
            target.display()
        )));
    }
    if let Ok(meta) = std::fs::symlink_metadata(path)
        && !meta.is_file()
    {
        return Err(AppError::OutputRefused(format!(
            "{}: exists and is not a plain file (a {}); remove it or choose another name",
            path.display(),
            if meta.file_type().is_symlink() {
                "symbolic link, which is never followed"
            } else if meta.is_dir() {
                "directory"
            } else {
                "special file"
            }
        )));
    }
    Ok(())
}

/// Writes `bytes` to `path` readable by the owner only (0600), through a new temporary file
/// beside it and a rename, so a crash never leaves half a file. The temporary file is created
/// with `O_EXCL|O_NOFOLLOW`: a file or link planted under its name is never opened, and the
/// rename replaces a link at `path` instead of writing through it.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let collected = EXCHANGE.with(|x| match x.borrow_mut().as_mut() {
        Some(x) => {
            x.outputs.push((path.to_path_buf(), bytes.to_vec()));
            true
        }
        None => false,
    });
    if collected {
        return Ok(());
    }
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut attempt = 0u32;
    let (tmp, mut f) = loop {
        let tmp = dir.join(format!(".{name}.{}.{attempt}.tmp", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)
        {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    };
    let written = f
        .write_all(bytes)
        .and_then(|_| f.sync_all())
        .and_then(|_| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_link_planted_at_the_temporary_or_the_final_name_is_never_written_through() {
        let tmp = tempfile::tempdir().unwrap();
        let victim = tmp.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let out = tmp.path().join("report.txt");
        // The first temporary name this process would use, planted as a link.
        let first_tmp = tmp
            .path()
            .join(format!(".report.txt.{}.0.tmp", std::process::id()));
        std::os::unix::fs::symlink(&victim, &first_tmp).unwrap();
        // And a link at the final name.
        std::os::unix::fs::symlink(&victim, &out).unwrap();
        write_private(&out, b"written").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        let meta = std::fs::symlink_metadata(&out).unwrap();
        assert!(meta.is_file(), "the link was replaced, not followed");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "written");
    }

    #[test]
    fn an_output_resolved_into_the_data_directory_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("store");
        std::fs::create_dir(&data).unwrap();
        std::fs::create_dir(tmp.path().join("a")).unwrap();
        let via_dots = tmp.path().join("a/../store/db");
        assert!(matches!(
            check_output(&via_dots, &data),
            Err(AppError::OutputRefused(_))
        ));
        assert!(check_output(&tmp.path().join("a/report.csv"), &data).is_ok());
        // A data directory not created yet is still protected.
        let later = tmp.path().join("later");
        assert!(check_output(&later.join("x/../db"), &later).is_err());
    }

    #[test]
    fn an_input_file_over_its_bound_is_refused_by_size() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("big.json");
        std::fs::write(&path, vec![b' '; 2000]).unwrap();
        let e = read_bounded(&path, 1000).unwrap_err().to_string();
        assert!(
            e.contains("2000 bytes") && e.contains("limit is 1000"),
            "{e}"
        );
        assert!(read_bounded(&path, 2000).is_ok());
    }
}
