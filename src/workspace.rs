//! What one check reads: the nginx tree and the PHP side, with every PHP file registered in the
//! tree's source map so diagnostics can point into php.ini and pool files. Below the rules,
//! the probe and the fix engine, which all take it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::backends::compose::ComposeProject;
use crate::backends::{Located, PhpSetup};
use crate::config::ConfigTree;
use crate::source::FileId;
use crate::syntax::Span;

/// Everything one check reads: the nginx tree and the PHP side, with every PHP file registered
/// in the tree's source map so diagnostics can point into php.ini and pool files.
#[derive(Debug)]
pub struct Workspace {
    pub tree: ConfigTree,
    pub php: PhpSetup,
    php_files: HashMap<PathBuf, FileId>,
    /// A copied system root (`--sysroot`): /etc/passwd, /etc/group, sockets are read under it.
    pub sysroot: Option<PathBuf>,
    /// The Docker Compose project beside the configuration (`--compose`), and its file's id.
    pub compose: Option<(ComposeProject, Option<FileId>)>,
}

impl Workspace {
    pub fn new(mut tree: ConfigTree, php: PhpSetup, sysroot: Option<PathBuf>) -> Self {
        let mut php_files = HashMap::new();
        let paths = php
            .inis
            .iter()
            .map(|i| i.path.clone())
            .chain(php.fpm.iter().flat_map(|f| f.files.iter().cloned()));
        for path in paths {
            if let Some(id) = tree.add_external_file(&path) {
                php_files.insert(path, id);
            }
        }
        Self {
            tree,
            php,
            php_files,
            sysroot,
            compose: None,
        }
    }

    /// The workspace with a Compose project, its file registered so findings can point into it.
    pub fn with_compose(mut self, project: Option<ComposeProject>) -> Self {
        self.compose = project.map(|p| {
            let id = self.tree.add_external_file(&p.path);
            (p, id)
        });
        self
    }

    /// An nginx-only workspace.
    pub fn nginx_only(tree: ConfigTree) -> Self {
        Self::new(tree, PhpSetup::default(), None)
    }

    /// The file and span of a value read from a PHP file.
    pub fn php_location<T>(&self, located: &Located<T>) -> Option<(FileId, Span)> {
        self.php_files
            .get(&located.file)
            .map(|id| (*id, located.span))
    }

    /// The file id of a PHP file by path.
    pub fn php_file(&self, path: &Path) -> Option<FileId> {
        self.php_files.get(path).copied()
    }
}
