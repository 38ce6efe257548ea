//! The PHP backend readers on fixture trees, on the shared corpus of real files, and on the
//! Debian php-fpm files of this machine when they are installed.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};

use nginx_gwlint::backends::{
    discover, discover_copy, discover_with_root, read_fpm_config, read_ini, system_paths, Dialect,
    FpmOptions, Listen, Origin, PhpSetup, Pool, ProcessManager, SocketGroup, SocketOwner,
};

fn fixture_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/php/debian")
}

fn pool<'a>(setup: &'a PhpSetup, name: &str) -> &'a Pool {
    setup
        .pools()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no pool {name}: {setup:#?}"))
}

fn listen(pool: &Pool) -> String {
    pool.listen
        .as_ref()
        .map(|l| l.value.to_string())
        .unwrap_or_default()
}

#[test]
fn debian_fixture_layout() {
    let root = fixture_root();
    let paths = system_paths(&root);
    assert_eq!(
        paths,
        [root.join("etc/php/7.4/fpm"), root.join("etc/php/8.2/fpm")]
    );
    let setup = discover_with_root(&paths, Some(&root));
    assert!(
        setup.all_problems().is_empty(),
        "{:#?}",
        setup.all_problems()
    );

    // The CLI's php.ini is not read; php.ini and conf.d are, php.ini first.
    let inis: Vec<PathBuf> = setup.inis.iter().map(|i| i.path.clone()).collect();
    let fpm_dir = root.join("etc/php/8.2/fpm");
    assert_eq!(
        inis,
        [fpm_dir.join("conf.d/20-app.ini"), fpm_dir.join("php.ini")]
    );

    // php-fpm.conf includes the 8.2 pools (sorted); the 7.4 pool file is read on its own.
    let entries: Vec<&Path> = setup.fpm.iter().map(|f| f.entry.as_path()).collect();
    assert_eq!(
        entries,
        [
            fpm_dir.join("php-fpm.conf"),
            root.join("etc/php/7.4/fpm/pool.d/legacy.conf")
        ]
    );
    let names: Vec<&str> = setup.pools().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["api", "shop", "www", "legacy"]);
    let global = &setup.fpm[0].global;
    assert_eq!(
        global.error_log.as_ref().map(|e| e.value.as_str()),
        Some("/var/log/php8.2-fpm.log")
    );
    assert_eq!(global.includes.len(), 1);

    let www = pool(&setup, "www");
    assert_eq!(listen(www), "/run/php/php8.2-fpm.sock");
    assert_eq!(www.header.file, fpm_dir.join("pool.d/www.conf"));
    assert_eq!(www.header.line, 2);
    assert!(matches!(www.socket_owner(), SocketOwner::Configured(o) if o.value == "www-data"));
    assert_eq!(www.socket_mode(), 0o660);
    let e = setup.max_execution_time(www);
    assert_eq!(e.value, 60, "php.ini's value, not the [PATH=] one");
    assert!(
        matches!(&e.origin, Origin::PhpIni(l) if l.line == 6 && l.file == fpm_dir.join("php.ini"))
    );
    assert_eq!(setup.request_terminate_timeout(www).origin, Origin::Default);

    let shop = pool(&setup, "shop");
    assert_eq!(listen(shop), "/run/php/shop.sock");
    assert!(matches!(shop.socket_group(), SocketGroup::Configured(g) if g.value == "www-data"));
    assert_eq!(
        shop.pm.as_ref().map(|p| p.value),
        Some(ProcessManager::Ondemand)
    );
    let max = setup.max_execution_time(shop);
    let kill = setup.request_terminate_timeout(shop);
    assert_eq!((max.value, kill.value), (300, 30));
    assert!(matches!(&max.origin, Origin::PhpAdminValue(l) if l.line == 12));
    assert!(matches!(&kill.origin, Origin::PoolDirective(l) if l.line == 11));

    let api = pool(&setup, "api");
    assert_eq!(
        api.listen.as_ref().map(|l| &l.value),
        Some(&Listen::Tcp {
            host: Some("127.0.0.1".into()),
            port: 9001
        })
    );
    assert!(matches!(
        setup.max_execution_time(api).origin,
        Origin::PhpValue(_)
    ));
    assert_eq!(setup.request_terminate_timeout(api).value, 120);

    // PHP 7.4 has no php.ini here: its pool does not borrow 8.2's.
    let legacy = pool(&setup, "legacy");
    assert_eq!(setup.max_execution_time(legacy).origin, Origin::Default);
    assert_eq!(setup.max_execution_time(legacy).value, 30);
}

#[test]
fn discover_takes_single_files_too() {
    let fpm_dir = fixture_root().join("etc/php/8.2/fpm");
    let setup = discover(&[fpm_dir.join("pool.d/shop.conf"), fpm_dir.join("php.ini")]);
    assert_eq!(setup.pools().count(), 1);
    assert_eq!(setup.inis.len(), 1);
    assert_eq!(setup.max_execution_time(pool(&setup, "shop")).value, 300);
}

/// One row of the corpus MANIFEST.tsv that names a PHP file.
struct CorpusFile {
    kind: String,
    path: PathBuf,
}

/// The corpus's php-fpm pools and php.ini files; `None` without ../shared (the test is
/// skipped, or fails under CI: see common::oracle).
fn corpus_php_files() -> Option<Vec<CorpusFile>> {
    let corpus = common::oracle::shared()?.join("corpus");
    let manifest = fs::read_to_string(corpus.join("MANIFEST.tsv"))
        .unwrap_or_else(|e| panic!("{}: {e}", corpus.display()));
    let files = manifest
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            let [repo, _commit, path, _license, kind] = cols[..] else {
                return None;
            };
            matches!(kind, "php-fpm-pool" | "php-ini").then(|| CorpusFile {
                kind: kind.to_string(),
                path: corpus.join(repo.replace('/', "__")).join(path),
            })
        })
        .collect();
    Some(files)
}

#[test]
#[allow(clippy::print_stdout)] // the counts are the point of this test
fn corpus_php_files_parse() {
    let Some(files) = corpus_php_files() else {
        return;
    };
    let (mut pools, mut pool_files, mut inis, mut ini_entries, mut problems) = (0, 0, 0, 0, 0);
    for file in &files {
        if file.kind == "php-ini" {
            let ini = read_ini(&file.path, Dialect::PhpIni).unwrap_or_else(|e| panic!("{e}"));
            assert!(ini.entries().count() > 0, "{}", file.path.display());
            inis += 1;
            ini_entries += ini.entries().count();
            problems += ini.problems.len();
        } else {
            let cfg = read_fpm_config(&file.path, &FpmOptions::default())
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(!cfg.pools.is_empty(), "{}", file.path.display());
            for pool in &cfg.pools {
                assert!(
                    pool.listen.is_some(),
                    "{}: pool {} has no listen",
                    file.path.display(),
                    pool.name
                );
            }
            pool_files += 1;
            pools += cfg.pools.len();
            problems += cfg.problems.len();
            for p in &cfg.problems {
                println!(
                    "corpus problem: {}:{}: {}",
                    p.file.display(),
                    p.line,
                    p.message
                );
            }
        }
    }
    println!(
        "corpus: {pool_files} php-fpm files with {pools} pools, {inis} ini files with {ini_entries} entries, {problems} problems"
    );
    assert_eq!(pool_files + inis, files.len());
    assert!(pools >= pool_files && inis > 0);
    assert_eq!(problems, 0);
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        // Debian's conf.d holds symlinks into mods-available: copy what they point at.
        let meta = fs::metadata(entry.path())?;
        if meta.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Reads a copy of this machine's Debian php-fpm files, whichever PHP version is installed
/// (`php-fpm8.2` reads /etc/php/8.2/fpm). Skipped without php-fpm, required under CI (see
/// common::oracle).
#[test]
fn installed_debian_php_fpm_copy() -> std::io::Result<()> {
    let Some(binary) = common::oracle::php_fpm() else {
        return Ok(());
    };
    let name = binary.file_name().map(|n| n.to_string_lossy().into_owned());
    let version = name
        .as_deref()
        .and_then(|n| n.strip_prefix("php-fpm"))
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| panic!("{}: not a Debian php-fpmX.Y binary", binary.display()));
    let etc = format!("etc/php/{version}/fpm");
    let system = Path::new("/").join(&etc);
    assert!(
        system.join("php-fpm.conf").is_file(),
        "{} is installed but {}/php-fpm.conf is not",
        binary.display(),
        system.display()
    );
    let tmp = tempfile::tempdir()?;
    copy_tree(&system, &tmp.path().join(&etc))?;
    let setup = discover_with_root(&system_paths(tmp.path()), Some(tmp.path()));
    assert!(
        setup.all_problems().is_empty(),
        "{:#?}",
        setup.all_problems()
    );
    let www = pool(&setup, "www");
    assert_eq!(listen(www), format!("/run/php/php{version}-fpm.sock"));
    assert!(www.header.file.starts_with(tmp.path()));
    let e = setup.max_execution_time(www);
    assert!(
        matches!(&e.origin, Origin::PhpIni(l) if l.file.ends_with("fpm/php.ini")),
        "{e:?}"
    );
    assert!(setup
        .inis
        .iter()
        .any(|i| i.path.ends_with("conf.d/10-opcache.ini")));
    Ok(())
}

/// The GW004 cases whose php/ is a copied /etc/php/8.2/fpm, against the real php-fpm: read as
/// `--php php` (absolute includes re-rooted in the copy), a good case has no problem and php-fpm
/// accepts the same files put at a real path; a bad case has one and php-fpm refuses. `${VAR}`
/// values get values in php-fpm's environment.
#[test]
fn gw004_copied_pools_agree_with_php_fpm() -> std::io::Result<()> {
    let Some(binary) = common::oracle::php_fpm() else {
        return Ok(());
    };
    let cases = common::root().join("tests/rules/GW004");
    let env = [
        ("FPM_LISTEN_MODE", "0660"),
        ("FPM_PM", "ondemand"),
        ("FPM_MAX_CHILDREN", "8"),
        ("FPM_TIMEOUT", "60s"),
        ("PHP_DISPLAY_ERRORS", "off"),
        ("PHP_MEMORY_LIMIT", "256M"),
    ];
    for (case, good) in [
        ("good-include-inside-pool", true),
        ("good-env-values", true),
        ("bad-array-in-global-include", false),
    ] {
        let php = cases.join(case).join("php");
        let setup = discover_copy(std::slice::from_ref(&php));
        assert_eq!(
            setup.all_problems().is_empty(),
            good,
            "{case}: {:#?}",
            setup.all_problems()
        );
        // The same files where php-fpm reads them: /etc/php/8.2/fpm, /run/php and /var/log
        // pointed into a temp dir.
        let tmp = tempfile::tempdir()?;
        let dir = tmp.path().join("fpm");
        copy_tree(&php, &dir)?;
        let main = dir.join("php-fpm.conf");
        if !main.is_file() {
            fs::write(
                &main,
                "[global]\npid = /run/php/fpm.pid\nerror_log = /var/log/fpm.log\ninclude=/etc/php/8.2/fpm/pool.d/*.conf\n",
            )?;
        }
        let mut files = vec![dir.clone()];
        let mut i = 0;
        while i < files.len() {
            let f = files[i].clone();
            i += 1;
            if f.is_dir() {
                for e in fs::read_dir(&f)? {
                    files.push(e?.path());
                }
                continue;
            }
            let text = fs::read_to_string(&f)?
                .replace("/etc/php/8.2/fpm", &dir.display().to_string())
                .replace("/run/php/", &format!("{}/", tmp.path().display()))
                .replace("/var/log/", &format!("{}/", tmp.path().display()));
            fs::write(&f, text)?;
        }
        let out = std::process::Command::new(&binary)
            .arg("-t")
            .arg("-y")
            .arg(&main)
            .envs(env)
            .output()?;
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.success(),
            good,
            "{case}: php-fpm -t said: {said}"
        );
    }
    Ok(())
}
