//! One module per command group; each has `run(ctx, command) -> Result<Output, CliError>`.

pub mod audit;
pub mod club;
pub mod consent;
pub mod demo;
pub mod init;
pub mod meeting;
pub mod member;
pub mod member_file;
pub mod referral;
pub mod report;
pub mod safety;
pub mod support;
pub mod sync;
pub mod users;

use std::path::Path;

use crate::error::CliError;

/// Writes a file the user named, readable by its owner only (mode 0600 on Unix): reports,
/// exports and backups are for the people who made them.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    // A symlink could send a survivor's report to wherever it points (or truncate that file):
    // refuse it. (Checked before opening: std has no portable O_NOFOLLOW without libc.)
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(CliError::SymlinkRefused(path.to_owned()));
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| CliError::file(path, e))?;
    // The mode above applies only to a new file: an existing 0644 one would stay readable to
    // all, so narrow it before writing anything into it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| CliError::file(path, e))?;
    }
    std::io::Write::write_all(&mut file, bytes).map_err(|e| CliError::file(path, e))?;
    file.sync_all().map_err(|e| CliError::file(path, e))
}

/// Reads a file the user named.
pub fn read_file(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::file(path, e))
}
