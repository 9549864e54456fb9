//! The client's stored configuration: a directory holding the deployment
//! `url` and the `session` token, as the Coder CLI keeps them.
//!
//! The directory is `--global-config` / `$CODER_CONFIG_DIR` when set, else
//! `<platform config dir>/coderd` (e.g. `~/.config/coderd`). The `session`
//! file is written with mode 0600 and the directory with 0700.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};

/// The config directory and the files in it.
#[derive(Clone, Debug)]
pub struct ConfigDir {
    path: PathBuf,
}

impl ConfigDir {
    /// The directory given (from `--global-config` / `CODER_CONFIG_DIR`), or
    /// the platform default.
    pub fn resolve(given: Option<&Path>) -> Result<ConfigDir> {
        let path = match given {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => dirs::config_dir()
                .ok_or_else(|| {
                    anyhow!(
                        "cannot find a config directory: set CODER_CONFIG_DIR or --global-config"
                    )
                })?
                .join("coderd"),
        };
        Ok(ConfigDir { path })
    }

    /// The stored deployment URL, if any.
    pub fn url(&self) -> Result<Option<String>> {
        self.read("url")
    }

    /// The stored session token, if any.
    pub fn session(&self) -> Result<Option<String>> {
        self.read("session")
    }

    /// Stores the deployment URL.
    pub fn write_url(&self, url: &str) -> Result<()> {
        self.write("url", url, 0o644)
    }

    /// Stores the session token (mode 0600).
    pub fn write_session(&self, token: &str) -> Result<()> {
        self.write("session", token, 0o600)
    }

    /// Forgets the session token (no error when there is none).
    pub fn delete_session(&self) -> Result<()> {
        let file = self.path.join("session");
        match fs::remove_file(&file) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("delete {}", file.display())),
        }
    }

    fn read(&self, name: &str) -> Result<Option<String>> {
        let file = self.path.join(name);
        match fs::read_to_string(&file) {
            Ok(s) => {
                let s = s.trim();
                Ok((!s.is_empty()).then(|| s.to_owned()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("read {}", file.display())),
        }
    }

    /// Writes `name` atomically: a temporary file created with `mode`, then
    /// renamed over the old one.
    fn write(&self, name: &str, contents: &str, mode: u32) -> Result<()> {
        create_dir(&self.path)?;
        let file = self.path.join(name);
        let tmp = self.path.join(format!(".{name}.tmp"));
        let _ = fs::remove_file(&tmp);
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(mode);
        }
        #[cfg(not(unix))]
        let _ = mode;
        let mut f = options
            .open(&tmp)
            .with_context(|| format!("write {}", tmp.display()))?;
        f.write_all(contents.as_bytes())
            .and_then(|()| f.sync_all())
            .with_context(|| format!("write {}", tmp.display()))?;
        fs::rename(&tmp, &file).with_context(|| format!("write {}", file.display()))
    }
}

fn create_dir(path: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(path)
        .with_context(|| format!("create config directory {}", path.display()))
}
