//! Writing report directories.
//!
//! One report ([`write_all`]):
//! ```text
//! <dir>/report.json        the run as data (docs/report-format.md)
//! <dir>/junit.xml          one testsuite per rule
//! <dir>/report.md          the human report
//! <dir>/repro/<stem>.sh    curl reproducer per fail/error case (executable)
//! <dir>/repro/<stem>.http  the recorded exchange(s) as raw HTTP
//! ```
//! Several reports from one run ([`write_run`]): each report in its own
//! subdirectory as above, plus combined files at the top:
//! ```text
//! <dir>/report.json        all cases of all reports (meta.api = "all" when several)
//! <dir>/junit.xml          all cases (testsuite names carry the API)
//! <dir>/report.md          an index: one row per report, links to <sub>/report.md
//! <dir>/<sub>/…            write_all of each report
//! ```
//! `<sub>` is the API id (`aws-ec2`), or `<api>-<target>` when one API appears
//! more than once, made file-name-safe and distinct. Existing files of the same
//! name are overwritten; other files are left alone.

use std::path::{Path, PathBuf};

use super::json::to_json;
use super::junit::to_junit;
use super::markdown::{run_index, to_markdown};
use super::repro::{self, case_stems, file_stem, raw_http, unique_names};
use super::text;
use super::{combine, scrubbed, ReportError, RunReport};

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// The directory written to.
    pub dir: PathBuf,
    /// Every file written, in the order written.
    pub files: Vec<PathBuf>,
}

/// Write one report's files into `dir` (created if needed).
pub fn write_all(dir: &Path, report: &RunReport) -> Result<Written, ReportError> {
    let report = scrubbed(report);
    let mut w = Written {
        dir: dir.to_path_buf(),
        files: Vec::new(),
    };
    mkdir(dir)?;
    put(&mut w, &dir.join("report.json"), &to_json(&report), false)?;
    put(&mut w, &dir.join("junit.xml"), &to_junit(&report), false)?;
    put(&mut w, &dir.join("report.md"), &to_markdown(&report), false)?;
    let stems = case_stems(&report.cases);
    let failing: Vec<usize> = (0..report.cases.len())
        .filter(|&i| text::is_failure(&report.cases[i].verdict))
        .collect();
    if !failing.is_empty() {
        let repro_dir = dir.join("repro");
        mkdir(&repro_dir)?;
        for i in failing {
            let case = &report.cases[i];
            let stem = &stems[i];
            put(
                &mut w,
                &repro_dir.join(format!("{stem}.sh")),
                &repro::script(case, &report.meta),
                true,
            )?;
            put(
                &mut w,
                &repro_dir.join(format!("{stem}.http")),
                &raw_http(case),
                false,
            )?;
        }
    }
    Ok(w)
}

/// Write several reports of one run: per-report subdirectories and combined
/// top-level `report.json`, `junit.xml` and an index `report.md` (see the module
/// docs for the layout).
pub fn write_run(dir: &Path, reports: &[RunReport]) -> Result<Written, ReportError> {
    let subdirs = subdir_names(reports);
    let mut w = Written {
        dir: dir.to_path_buf(),
        files: Vec::new(),
    };
    mkdir(dir)?;
    let combined = combine(reports);
    put(&mut w, &dir.join("report.json"), &to_json(&combined), false)?;
    put(&mut w, &dir.join("junit.xml"), &to_junit(&combined), false)?;
    put(
        &mut w,
        &dir.join("report.md"),
        &run_index(reports, &subdirs),
        false,
    )?;
    for (report, sub) in reports.iter().zip(&subdirs) {
        let written = write_all(&dir.join(sub), report)?;
        w.files.extend(written.files);
    }
    Ok(w)
}

/// Subdirectory names for the reports of one run: the API id, or `<api>-<target>`
/// when an API appears more than once; file-name-safe and distinct.
pub fn subdir_names(reports: &[RunReport]) -> Vec<String> {
    let names = reports.iter().map(|r| {
        let repeated = reports.iter().filter(|o| o.meta.api == r.meta.api).count() > 1;
        if repeated {
            file_stem(&format!("{}-{}", r.meta.api, r.meta.target))
        } else {
            file_stem(&r.meta.api)
        }
    });
    unique_names(names)
}

fn mkdir(dir: &Path) -> Result<(), ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Write {
        path: dir.to_path_buf(),
        source,
    })
}

fn put(w: &mut Written, path: &Path, contents: &str, executable: bool) -> Result<(), ReportError> {
    whole(path, contents, executable).map_err(|source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    w.files.push(path.to_path_buf());
    Ok(())
}

/// Write one file whole or not at all: the contents go to a sibling file first,
/// which then takes the name, so a run stopped while writing (a second Ctrl-C)
/// leaves the previous file, or none, never half of one. Every file the tool
/// writes for people or for a later run (reports, baselines, recordings, the
/// matrix) goes through here.
pub fn write_whole(path: &Path, contents: &str) -> std::io::Result<()> {
    whole(path, contents, false)
}

fn whole(path: &Path, contents: &str, executable: bool) -> std::io::Result<()> {
    // A link is written through (the file it names is replaced, the link kept); a
    // FIFO or a device (`/dev/stdout`) is written to as it is; a file keeps its
    // permissions.
    let resolved;
    let mut path = path;
    let mut mode = None;
    if let Ok(m) = std::fs::symlink_metadata(path) {
        if m.file_type().is_symlink() {
            resolved = std::fs::canonicalize(path)?;
            path = &resolved;
        }
        match std::fs::metadata(path) {
            Ok(m) if !m.is_file() => {
                std::fs::write(path, contents)?;
                return Ok(());
            }
            Ok(m) => mode = Some(m.permissions()),
            Err(_) => {}
        }
    }
    let mut partial = path.as_os_str().to_owned();
    partial.push(format!(".{}.partial", std::process::id()));
    let partial = PathBuf::from(partial);
    let written = std::fs::write(&partial, contents).and_then(|()| {
        if let Some(mode) = &mode {
            std::fs::set_permissions(&partial, mode.clone())?;
        }
        if executable {
            make_executable(&partial)?;
        }
        std::fs::rename(&partial, path)
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

#[cfg(unix)]
fn make_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut perms = std::fs::metadata(path)?.permissions();
    perms.set_mode(perms.mode() | 0o755);
    std::fs::set_permissions(path, perms)
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A report written over an older one replaces it whole: a reader holding the
    /// older file still reads all of it (the new one is another file, renamed into
    /// place, not the old one truncated and rewritten), and no partial file is left.
    #[test]
    fn a_file_is_replaced_whole_not_rewritten_in_place() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("report.json");
        let mut w = Written::default();
        put(&mut w, &path, "old and complete", false).expect("first write");
        let held = std::fs::File::open(&path).expect("open the old file");
        put(&mut w, &path, "new", false).expect("second write");
        let mut old = String::new();
        std::io::Read::read_to_string(&mut &held, &mut old).expect("read");
        assert_eq!(old, "old and complete");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "new");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["report.json"]);
    }

    /// A link is written through, the link kept (it was renamed over); a file
    /// keeps its permissions. (A device is written to as it is: not tested here,
    /// where a mistake would replace one of the machine's.)
    #[cfg(unix)]
    #[test]
    fn a_link_stays_a_link_and_a_file_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("a temporary folder");
        let real = dir.path().join("real.json");
        std::fs::write(&real, "old").expect("write");
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).expect("mode");
        let link = dir.path().join("baseline.json");
        std::os::unix::fs::symlink(&real, &link).expect("link");
        write_whole(&link, "new").expect("written");
        assert!(std::fs::symlink_metadata(&link)
            .expect("meta")
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&real).expect("read"), "new");
        let mode = std::fs::metadata(&real).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }

    /// A file that cannot be written is an error naming it, and leaves nothing.
    #[test]
    fn a_failed_write_names_the_file_and_leaves_no_partial() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        // A folder where the file should go: the rename fails.
        let path = dir.path().join("report.md");
        std::fs::create_dir(&path).expect("a folder in the way");
        std::fs::write(path.join("x"), "").expect("not empty");
        let e = put(&mut Written::default(), &path, "text", false).expect_err("refused");
        assert!(e.to_string().contains("report.md"), "{e}");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["report.md"]);
    }
}
