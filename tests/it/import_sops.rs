//! `cachet import sops` against real SOPS files (`../shared/fixtures/sops`, read
//! in place; skipped where that folder is absent): every file imports, opens with
//! the new key to the values SOPS encrypted with the types it recorded, exactly
//! the values SOPS had encrypted are sealed, and an altered value or MAC is
//! refused.

use crate::common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use cachet::{Format, ValuePath};
use common::Out;

fn fixtures() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/sops");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: {} is absent", dir.display());
        None
    }
}

const GETSOPS: &str = "getsops-sops-pr1031-0b07dfbc5";
const ROPS: &str = "rops-sops_references";

/// Every SOPS file of the fixtures, with the key file that opens it.
fn sops_files() -> Vec<(&'static str, &'static str)> {
    let mut v = vec![
        (
            "getsops-sops-pr1031-0b07dfbc5/example.yaml",
            "getsops-sops-pr1031-0b07dfbc5/age/keys.txt",
        ),
        (
            "getsops-sops-pr1031-0b07dfbc5/example.json",
            "getsops-sops-pr1031-0b07dfbc5/age/keys.txt",
        ),
        (
            "getsops-sops-pr1031-0b07dfbc5/example.ini",
            "getsops-sops-pr1031-0b07dfbc5/age/keys.txt",
        ),
        (
            "getsops-sops-pr1031-0b07dfbc5/example.txt",
            "getsops-sops-pr1031-0b07dfbc5/age/keys.txt",
        ),
        (
            "sops-nix-test-assets/secrets.yaml",
            "sops-nix-test-assets/age-keys.txt",
        ),
    ];
    for name in ROPS_FILES {
        v.push((name, "rops-sops_references/keys.txt"));
    }
    v
}

const ROPS_FILES: [&str; 7] = [
    "rops-sops_references/age_example.yaml",
    "rops-sops_references/age_empty_value.yaml",
    "rops-sops_references/age_encrypted_regex.yaml",
    "rops-sops_references/age_encrypted_suffix.yaml",
    "rops-sops_references/age_unencrypted_regex.yaml",
    "rops-sops_references/age_unencrypted_suffix.yaml",
    "rops-sops_references/age_mac_only_encrypted.yaml",
];

/// A scratch directory with a home, a new cachet key and its public key.
struct Scratch {
    dir: tempfile::TempDir,
    recipient: String,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("home")).unwrap();
        let s = Scratch {
            dir,
            recipient: String::new(),
        };
        let out = s.run(&["keygen", "-o", "new.key"], &[]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        Scratch {
            recipient: out.stdout.trim().to_string(),
            ..s
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs cachet here, isolated from the caller's CACHET_* and SOPS_* variables.
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Out {
        common::run_cachet(self.dir.path(), &self.path("home"), args, b"", env)
    }

    /// A copy of a fixture's key file, readable by its owner only (cachet warns
    /// about a key file others can read, and the fixtures are read-only).
    fn key(&self, fx: &Path, rel: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let to = self.path(&rel.replace('/', "_"));
        fs::write(&to, fs::read(fx.join(rel)).unwrap()).unwrap();
        fs::set_permissions(&to, fs::Permissions::from_mode(0o600)).unwrap();
        to
    }

    /// Imports `file` with the key file `key` into `out`; returns the sealed text.
    fn import(&self, file: &Path, key: &Path, out: &str) -> String {
        let (f, k) = (file.to_str().unwrap(), key.to_str().unwrap());
        let o = self.run(
            &[
                "import",
                "sops",
                f,
                "-i",
                k,
                "-r",
                &self.recipient,
                "-o",
                out,
            ],
            &[],
        );
        assert_eq!(o.code, 0, "{f}: {}", o.stderr);
        assert_eq!(o.stdout, "", "{f}");
        fs::read_to_string(self.path(out)).unwrap()
    }

    /// Opens a sealed file with the new key.
    fn open(&self, file: &str, extra: &[&str]) -> String {
        let mut args = vec!["open", file, "-i", "new.key"];
        args.extend_from_slice(extra);
        let o = self.run(&args, &[]);
        assert_eq!(o.code, 0, "{file}: {}", o.stderr);
        o.stdout
    }
}

/// The output name of an import: the imported format's extension.
fn output_name(file: &str) -> String {
    let stem = Path::new(file).file_stem().unwrap().to_str().unwrap();
    match Path::new(file).extension().and_then(|e| e.to_str()) {
        Some("yaml") => format!("{stem}.yaml"),
        Some("json") | Some("txt") => format!("{stem}.json"),
        Some("ini") => format!("{stem}.toml"),
        other => panic!("{other:?}"),
    }
}

/// The paths (as cachet writes them) of the values that are SOPS encrypted values
/// in a SOPS YAML or JSON file, outside its metadata.
fn sops_encrypted_paths(v: &serde_yaml::Value, path: &mut ValuePath, out: &mut BTreeSet<String>) {
    use cachet::Segment;
    match v {
        serde_yaml::Value::Mapping(m) => {
            for (k, child) in m {
                let k = k.as_str().unwrap().to_string();
                if path.is_root() && k == "sops" {
                    continue;
                }
                path.push(Segment::Key(k));
                sops_encrypted_paths(child, path, out);
                path.pop();
            }
        }
        serde_yaml::Value::Sequence(items) => {
            for (i, child) in items.iter().enumerate() {
                path.push(Segment::Index(i));
                sops_encrypted_paths(child, path, out);
                path.pop();
            }
        }
        serde_yaml::Value::String(s) if s.starts_with("ENC[") => {
            out.insert(path.to_string());
        }
        _ => {}
    }
}

fn sealed_paths(format: Format, text: &str) -> BTreeSet<String> {
    cachet::list_values(format, text)
        .unwrap()
        .into_iter()
        .filter(|v| v.sealed.is_some())
        .map(|v| v.path.to_string())
        .collect()
}

fn yaml(text: &str) -> serde_yaml::Value {
    serde_yaml::from_str(text).unwrap()
}

#[test]
fn every_fixture_imports_opens_and_seals_exactly_what_sops_encrypted() {
    let Some(fx) = fixtures() else { return };
    let s = Scratch::new();
    for (file, key) in sops_files() {
        let out = output_name(file);
        let sealed = s.import(&fx.join(file), &s.key(&fx, key), &out);
        assert!(!sealed.contains("ENC["), "{file}: a SOPS value is left");
        let format = Format::from_path(Path::new(&out)).unwrap();
        let values = cachet::list_values(format, &sealed).unwrap();
        assert!(
            values
                .iter()
                .all(|v| v.path.segments().first() != Some(&cachet::Segment::Key("sops".into()))),
            "{file}: the sops metadata is left"
        );
        let opened = s.open(&out, &[]);
        // Exactly the values SOPS had encrypted are sealed.
        let original = fs::read_to_string(fx.join(file)).unwrap();
        if file.ends_with(".yaml") || file.ends_with(".json") {
            let mut want = BTreeSet::new();
            sops_encrypted_paths(&yaml(&original), &mut ValuePath::root(), &mut want);
            assert_eq!(sealed_paths(format, &sealed), want, "{file}");
        }
        // Where SOPS's plaintext is known, the values are equal, types included.
        let plain = fx.join(file.replace(".yaml", "_plaintext.yaml"));
        if file.starts_with(ROPS) {
            let want = yaml(&fs::read_to_string(plain).unwrap());
            assert_eq!(yaml(&opened), want, "{file}");
        }
    }
}

#[test]
fn values_comments_and_types_come_out_as_sops_recorded() {
    let Some(fx) = fixtures() else { return };
    let s = Scratch::new();
    let key = s.key(&fx, &format!("{GETSOPS}/age/keys.txt"));

    s.import(&fx.join(GETSOPS).join("example.yaml"), &key, "example.yaml");
    let opened = s.open("example.yaml", &[]);
    let v = yaml(&opened);
    assert_eq!(v["myapp1"], "t00m4nys3cr3tzupdated");
    assert_eq!(v["app2"]["db"]["user"], "eve");
    assert_eq!(v["app2"]["db"]["password"], "c4r1b0u");
    assert!(
        v["app2"]["key"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN RSA PRIVATE KEY-----\n")
    );
    assert_eq!(v["number"].as_f64(), Some(1234568000.0));
    assert!(v["number"].is_f64(), "a float stays a float");
    assert_eq!(v["somebooleans"], yaml("[true, false]"));
    assert_eq!(v["an_array"][3], "some other value");
    assert_eq!(
        v["this"]["is"]["a"]["nested"]["value"],
        "with something secret in it"
    );
    assert_eq!(v["somelist_unencrypted"][1], "remain in clear text");
    for comment in [
        "# private key for secret operations in app2",
        "# sops supports unencrypted fields",
        "# by adding the `_unencrypted` suffix",
        "# to any key",
    ] {
        assert!(opened.contains(comment), "{comment}");
    }

    s.import(&fx.join(GETSOPS).join("example.json"), &key, "example.json");
    let v: serde_json::Value = serde_json::from_str(&s.open("example.json", &[])).unwrap();
    assert_eq!(v["firstName"], "John");
    assert_eq!(v["age"], serde_json::json!(25.4));
    assert_eq!(v["phoneNumbers"][1]["type"], "office");
    assert_eq!(v["anEmptyValue"], "");

    // INI becomes TOML: sections are tables, every value a string.
    s.import(&fx.join(GETSOPS).join("example.ini"), &key, "example.toml");
    let opened = s.open("example.toml", &[]);
    assert!(
        opened.starts_with("#An example file for use with sops!\n"),
        "{opened}"
    );
    assert!(opened.contains("[\"not private\"]\nnotsecret_unencrypted = \"hi there!\""));
    assert!(opened.contains("firstName = \"John\""), "{opened}");

    // A binary file keeps SOPS's wrapper: its text is the value `data`.
    s.import(&fx.join(GETSOPS).join("example.txt"), &key, "example.json");
    let o = s.run(&["get", "example.json", "data", "-i", "new.key"], &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout
            .starts_with("Welcome to SOPS!\n\nSOPS is a manager of encrypted files")
    );
}

/// A copy of a fixture with one character of `what` (found after `after`) changed.
fn tampered(fx: &Path, file: &str, after: &str, dir: &Path) -> PathBuf {
    let text = fs::read_to_string(fx.join(file)).unwrap();
    let at = text.find(after).unwrap() + after.len() + 4;
    let old = text.as_bytes()[at];
    let new = if old == b'A' { 'B' } else { 'A' };
    let mut changed = text.clone();
    changed.replace_range(at..at + 1, &new.to_string());
    let out = dir.join(Path::new(file).file_name().unwrap());
    fs::write(&out, changed).unwrap();
    out
}

#[test]
fn a_changed_byte_in_a_value_or_the_mac_is_refused() {
    let Some(fx) = fixtures() else { return };
    let s = Scratch::new();
    let key = s.key(&fx, &format!("{GETSOPS}/age/keys.txt"));
    let key = key.to_str().unwrap();
    let rops_key = s.key(&fx, &format!("{ROPS}/keys.txt"));
    let rops_key = rops_key.to_str().unwrap();
    let cases = [
        (
            format!("{GETSOPS}/example.yaml"),
            "password: ENC[AES256_GCM,data:",
            "app2.db.password: does not decrypt",
        ),
        (
            format!("{GETSOPS}/example.yaml"),
            "    mac: ENC[AES256_GCM,data:",
            "sops.mac: does not decrypt",
        ),
        (
            format!("{GETSOPS}/example.json"),
            "\"city\": \"ENC[AES256_GCM,data:",
            "address.city: does not decrypt",
        ),
        (
            format!("{GETSOPS}/example.ini"),
            "streetAddress = ENC[AES256_GCM,data:",
            "address.streetAddress: does not decrypt",
        ),
        (
            format!("{ROPS}/age_example.yaml"),
            "- ENC[AES256_GCM,data:",
            "example_array[0]: does not decrypt",
        ),
        // A plain value is covered by the MAC.
        (
            format!("{GETSOPS}/example.yaml"),
            "    - remain in",
            "sops.mac: the values do not match the file's MAC",
        ),
    ];
    for (file, after, want) in cases {
        let bad = tampered(&fx, &file, after, s.dir.path());
        let name = bad.to_str().unwrap();
        let o = s.run(
            &[
                "import",
                "sops",
                name,
                "-i",
                key,
                "-i",
                rops_key,
                "-r",
                &s.recipient,
                "-o",
                "out",
            ],
            &[],
        );
        common::assert_refused(&o, 1, &format!("{name}: {want}"));
        assert!(!s.path("out").exists(), "{file}: nothing is written");
    }
    // --ignore-mac imports a file whose plain values were edited by hand.
    let bad = tampered(
        &fx,
        &format!("{GETSOPS}/example.yaml"),
        "    - remain in",
        s.dir.path(),
    );
    let o = s.run(
        &[
            "import",
            "sops",
            bad.to_str().unwrap(),
            "-i",
            key,
            "-r",
            &s.recipient,
            "--ignore-mac",
        ],
        &[],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("MAC did not match"), "{}", o.stderr);
}

#[test]
fn identities_come_from_where_sops_finds_them() {
    let Some(fx) = fixtures() else { return };
    let s = Scratch::new();
    let file = fx.join("sops-nix-test-assets/secrets.yaml");
    let file = file.to_str().unwrap();
    let keys = fs::read_to_string(fx.join("sops-nix-test-assets/age-keys.txt")).unwrap();
    let args = ["import", "sops", file, "-r", &s.recipient];

    let o = s.run(&args, &[]);
    common::assert_refused(&o, 2, "no age identity for the SOPS file");

    let o = s.run(&args, &[("SOPS_AGE_KEY", keys.as_str())]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.starts_with("test_key: cachet:v1:"), "{}", o.stdout);

    let key_file = s.path("k.txt");
    fs::write(&key_file, &keys).unwrap();
    let o = s.run(&args, &[("SOPS_AGE_KEY_FILE", key_file.to_str().unwrap())]);
    assert_eq!(o.code, 0, "{}", o.stderr);

    let default = s.path("home/.config/sops/age");
    fs::create_dir_all(&default).unwrap();
    fs::write(default.join("keys.txt"), &keys).unwrap();
    let o = s.run(&args, &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);

    // The wrong key names the recipients the data key is encrypted to.
    let other = s.key(&fx, &format!("{ROPS}/keys.txt"));
    let o = s.run(
        &[
            "import",
            "sops",
            file,
            "-i",
            other.to_str().unwrap(),
            "-r",
            &s.recipient,
        ],
        &[],
    );
    common::assert_refused(
        &o,
        1,
        "no identity opens the data key (encrypted to age1yt3tfqlfrwdwx0z0ynwplcr6qxcxfaqycuprpmy89nr83ltx74tqdpszlw, age1a8pk4akrdamj7nvqy3zywgtny8dxz7t5xzu7u8v9mhrayp9freqsqatyrs)",
    );
}

#[test]
fn in_place_replaces_the_file_and_an_ini_file_needs_a_toml_name() {
    let Some(fx) = fixtures() else { return };
    let s = Scratch::new();
    let key = s.key(&fx, &format!("{GETSOPS}/age/keys.txt"));
    let key = key.to_str().unwrap();
    let copy = s.path("secrets.yaml");
    fs::copy(fx.join("sops-nix-test-assets/secrets.yaml"), &copy).unwrap();
    let nix_key = s.key(&fx, "sops-nix-test-assets/age-keys.txt");
    let o = s.run(
        &[
            "import",
            "sops",
            "secrets.yaml",
            "--in-place",
            "-i",
            nix_key.to_str().unwrap(),
            "-r",
            &s.recipient,
        ],
        &[],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        fs::read_to_string(&copy)
            .unwrap()
            .starts_with("test_key: cachet:v1:")
    );
    assert!(s.open("secrets.yaml", &[]).starts_with("test_key: "));

    let ini = fx.join(GETSOPS).join("example.ini");
    let ini = ini.to_str().unwrap();
    let o = s.run(
        &[
            "import",
            "sops",
            ini,
            "--in-place",
            "-i",
            key,
            "-r",
            &s.recipient,
        ],
        &[],
    );
    common::assert_refused(&o, 2, "an INI file is imported as TOML");
    let o = s.run(
        &[
            "import",
            "sops",
            ini,
            "-o",
            "x.yaml",
            "-i",
            key,
            "-r",
            &s.recipient,
        ],
        &[],
    );
    common::assert_refused(&o, 2, "names a YAML file, but importing");
}

mod enc_value {
    use cachet::sops::{DataKey, EncType, EncValue};
    use proptest::prelude::*;

    fn ty() -> impl Strategy<Value = EncType> {
        prop::sample::select(vec![
            EncType::Str,
            EncType::Int,
            EncType::Float,
            EncType::Bool,
            EncType::Bytes,
            EncType::Comment,
        ])
    }

    proptest! {
        /// Any value SOPS could write parses back to itself, decrypts only at its
        /// own place, and the parser never panics on any text.
        #[test]
        fn values_round_trip_and_are_bound_to_their_place(
            key in any::<[u8; 32]>(),
            iv in any::<[u8; 32]>(),
            plain in prop::collection::vec(any::<u8>(), 1..64),
            aad in "[a-z_:]{0,20}",
            ty in ty(),
            junk in ".{0,200}",
        ) {
            let key = DataKey::from_bytes(key);
            let v = EncValue::encrypt(&key, &plain, &aad, iv, ty).unwrap();
            let text = v.to_string();
            prop_assert_eq!(EncValue::parse(&text).unwrap(), v.clone());
            let opened = v.decrypt(&key, &aad).unwrap();
            prop_assert_eq!(opened.as_slice(), plain.as_slice());
            let moved = format!("{aad}x");
            prop_assert!(v.decrypt(&key, &moved).is_none());
            if let Ok(parsed) = EncValue::parse(&junk) {
                prop_assert_eq!(parsed.to_string(), junk);
            }
        }
    }
}

/// `import sops FILE -o NEW` into a path an environment covers, with no `-r`:
/// the new file takes that environment's key, as `seal` would.
#[test]
fn an_import_to_a_new_covered_path_takes_its_environment() {
    let Some(fx) = fixtures() else { return };
    let s = Scratch::new();
    let id = s.path("home/.config/cachet/identity.txt");
    let o = s.run(&["keygen", "-o", id.to_str().unwrap()], &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o = s.run(
        &["init", "--env", "production", "--files", "config/prod/**"],
        &[],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let file = fx.join("sops-nix-test-assets/secrets.yaml");
    let keys = s.key(&fx, "sops-nix-test-assets/age-keys.txt");
    fs::create_dir_all(s.path("config/prod")).unwrap();
    let o = s.run(
        &[
            "import",
            "sops",
            file.to_str().unwrap(),
            "-i",
            keys.to_str().unwrap(),
            "-o",
            "config/prod/secrets.yaml",
        ],
        &[],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    // Opened through production's keyring with the member's own identity.
    let o = s.run(&["open", "config/prod/secrets.yaml"], &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.starts_with("test_key: "), "{}", o.stdout);
    // A new path no environment covers still needs -r.
    let o = s.run(
        &[
            "import",
            "sops",
            file.to_str().unwrap(),
            "-i",
            keys.to_str().unwrap(),
            "-o",
            "elsewhere.yaml",
        ],
        &[],
    );
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(!s.path("elsewhere.yaml").exists());
}
