//! What every fuzz target asserts, as plain functions: the cargo-fuzz targets in
//! `fuzz_targets/` call them on libFuzzer's inputs, and the main crate's
//! `tests/it/fuzz_regressions.rs` calls them on the seed corpus and on every input
//! kept in `fuzz/regressions/`, so a crash once found stays fixed.

use std::collections::HashSet;
use std::sync::LazyLock;

use cachet::deploy::export;
use cachet::deploy::variables::{VariableOptions, variables};
use cachet::document::tree::Value;
use cachet::format::Scalar;
use cachet::team::identity_file::IdentitySet;
use cachet::team::keyring::Keyring;
use cachet::team::member::{Member, MemberRecipient};
use cachet::team::policy::Policy;
use cachet::team::protected_identity::{self, ProtectError};
use cachet::{
    FileGlob, Format, Identities, KeyError, PathGlob, SealedAt, Sealer, SecretKey, Segment,
    Selection, Token, ValuePath,
};
use rand_core::{CryptoRng, Error, RngCore};

/// A deterministic "random" source: a 64-bit counter run through splitmix64.
/// Only for fuzzing, where every run must be reproducible.
struct CounterRng(u64);

impl RngCore for CounterRng {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

// Not cryptographically secure; the marker is needed only to satisfy the API.
impl CryptoRng for CounterRng {}

/// The fixed fuzzing identity.
static KEY: LazyLock<SecretKey> = LazyLock::new(|| SecretKey::from_bytes([7u8; 32]));

static IDS: LazyLock<Identities> = LazyLock::new(|| {
    let mut ids = Identities::new();
    ids.push(KEY.clone());
    ids
});

/// The fixed fuzzing identity as age sees it, for opening keyrings.
static AGE_ID: LazyLock<age::x25519::Identity> = LazyLock::new(|| {
    KEY.to_age_string()
        .parse()
        .expect("the fixed key is an age identity")
});

/// 2026-01-01T00:00:00Z.
const SEALED_AT: u64 = 1_767_225_600;

/// `Token::parse` never panics, and a token that parses prints back to exactly its
/// input (the grammar is canonical).
pub fn token(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(token) = Token::parse(text) {
        let shown = token.to_string();
        let again = Token::parse(&shown)
            .unwrap_or_else(|e| panic!("displayed token {shown:?} does not parse: {e}"));
        assert_eq!(again, token, "display/parse round trip changed the token");
        assert_eq!(
            shown, text,
            "a parsed token printed differently from its input"
        );
    }
}

/// `Conflict::parse` never panics; a marker that parses prints back to exactly
/// its input, and `Token::parse` refuses it as a conflict (never as a token).
pub fn conflict(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Whatever follows `cachet:conflict`, the text is never one token: a
    // well-formed marker is a conflict, anything else malformed.
    if text.starts_with("cachet:conflict") {
        match Token::parse(text) {
            Err(cachet::OpenError::Conflict) => {
                assert!(matches!(cachet::Conflict::parse(text), Some(Ok(_))))
            }
            Err(cachet::OpenError::Malformed(_)) => {}
            other => panic!("{text:?} parsed as {other:?}"),
        }
    }
    match cachet::Conflict::parse(text) {
        Some(Ok(c)) => {
            assert_eq!(c.to_string(), text, "a parsed marker printed differently");
            assert_eq!(Token::parse(text), Err(cachet::OpenError::Conflict));
        }
        Some(Err(e)) => assert_one_line("conflict marker", &e.to_string(), text),
        None => {}
    }
}

/// `ValuePath::from_str` never panics, and a parsed path prints to text that parses
/// to the same path (unless the display escaped a control character as `\u{…}`).
pub fn path(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(path) = text.parse::<ValuePath>() {
        let shown = path.to_string();
        if shown.contains("\\u{") {
            return;
        }
        let again: ValuePath = shown.parse().unwrap_or_else(|e| {
            panic!("displayed path {shown:?} (from {text:?}) does not parse: {e}")
        });
        assert_eq!(
            again, path,
            "display/parse round trip changed {text:?} -> {shown:?}"
        );
    }
}

/// `Identities::parse` never panics and never returns an empty set.
pub fn identity_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(ids) = Identities::parse(text) {
        assert!(!ids.is_empty(), "parse returned an empty identity set");
    }
}

/// Opening and sealing arbitrary text in `format` never panics, and whatever seals
/// opens back to the input byte for byte (or, when the input already held sealed
/// values, which sealing leaves as they are, to what opening the input gives).
pub fn document(format: Format, data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let plain = cachet::open_document(format, text, &IDS);
    // A document with no sealed value opens to itself: the structure check never
    // refuses a document that nothing was put back into.
    if let Ok(values) = cachet::list_values(format, text)
        && values.iter().all(|v| v.sealed.is_none())
    {
        match &plain {
            Ok(p) => assert_eq!(p.as_str(), text, "opening a plain document changed it"),
            Err(e) => panic!("a plain document does not open: {e}\ninput: {text:?}"),
        }
    }
    let mut sealer = Sealer::with_rng(
        &KEY.public_key(),
        CounterRng(0),
        SealedAt::from_unix(SEALED_AT).expect("representable time"),
    )
    .expect("the fixed key is a valid recipient");
    let (sealed, report) =
        match cachet::seal_document(format, text, &Selection::Default, &mut sealer) {
            Ok(done) => done,
            // Sealing's own structure check failing is a bug in a scanner or in the
            // check, never the input's fault.
            Err(e) if e.to_string().contains("report this as a bug") => {
                panic!("sealing refused its own result: {e}\ninput: {text:?}")
            }
            Err(_) => return,
        };
    let expected: &str = if report.already_sealed == 0 {
        text
    } else {
        // A token in the input that does not open (damaged, or a forgery with the
        // fuzzing key id) is carried through by sealing: nothing to compare then.
        match &plain {
            Ok(p) => p.as_str(),
            Err(_) => return,
        }
    };
    let opened = cachet::open_document(format, &sealed, &IDS).unwrap_or_else(|e| {
        panic!("sealed output does not open: {e}\ninput: {text:?}\nsealed: {sealed:?}")
    });
    assert_eq!(
        opened.as_str(),
        expected,
        "seal then open did not give back the expected text\ninput: {text:?}\nsealed: {sealed:?}"
    );
}

/// A plain document (the first byte picks its format) read as a tree and exported:
/// nothing panics, every error is one line, every JSON, TOML and YAML conversion
/// that succeeds reads back through cachet's own scanners as the same data, and
/// the default variables written as .env read back as the same names and values.
pub fn export(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let formats = Format::all();
    let format = formats[usize::from(pick) % formats.len()];
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let documents = match cachet::open_tree(format, text, &IDS) {
        Ok(t) => t.documents,
        Err(e) => return assert_one_line("open_tree", &e.to_string(), text),
    };
    for (target, out) in [
        (Format::Json, export::to_json(&documents)),
        (Format::Toml, export::to_toml(&documents)),
        (Format::Yaml, export::to_yaml(&documents)),
    ] {
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                assert_one_line("export", &e.to_string(), text);
                continue;
            }
        };
        let back = cachet::open_tree(target, &out, &IDS).unwrap_or_else(|e| {
            panic!(
                "{target} output does not read back: {e}\ninput: {text:?}\noutput: {:?}",
                out.as_str()
            )
        });
        assert!(
            back.documents.len() == documents.len()
                && documents
                    .iter()
                    .zip(&back.documents)
                    .all(|(a, b)| same_data(a, b)),
            "{target} output reads back as other data\ninput: {text:?}\noutput: {:?}",
            out.as_str()
        );
    }
    let Ok(doc) = export::single_document(&documents, "environment variables") else {
        return;
    };
    let vars = match variables(doc, &VariableOptions::default()) {
        Ok(vars) => vars,
        Err(e) => return assert_one_line("variables", &e.to_string(), text),
    };
    let out = match export::to_dotenv(&vars) {
        Ok(out) => out,
        Err(e) => return assert_one_line("to_dotenv", &e.to_string(), text),
    };
    let back = cachet::open_tree(Format::Env, &out, &IDS).unwrap_or_else(|e| {
        panic!(
            ".env output does not read back: {e}\noutput: {:?}",
            out.as_str()
        )
    });
    let expected: Vec<(String, Value)> = vars
        .iter()
        .map(|v| {
            (
                v.name.clone(),
                Value::Scalar(Scalar::String(v.value.clone())),
            )
        })
        .collect();
    assert_eq!(
        back.documents,
        vec![Value::Table(expected)],
        ".env output reads back as other variables\ninput: {text:?}\noutput: {:?}",
        out.as_str()
    );
}

/// Whether two trees hold the same data across formats: tables compared as sets
/// of keys (TOML puts sub-tables last), numbers by value, dates and times equal to
/// the strings JSON and YAML write them as.
fn same_data(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Table(x), Value::Table(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.iter().any(|(k2, v2)| k == k2 && same_data(v, v2)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same_data(v, w))
        }
        (Value::Scalar(x), Value::Scalar(y)) => match (x, y) {
            (Scalar::String(s) | Scalar::Datetime(s), Scalar::String(t))
            | (Scalar::Datetime(s), Scalar::Datetime(t)) => s == t,
            (Scalar::Integer(s), Scalar::Integer(t)) => {
                match (s.parse::<i128>(), t.parse::<i128>()) {
                    (Ok(m), Ok(n)) => m == n,
                    _ => s == t,
                }
            }
            (Scalar::Float(s), Scalar::Float(t)) => {
                let parse = |f: &str| match f {
                    "inf" => Some(f64::INFINITY),
                    "-inf" => Some(f64::NEG_INFINITY),
                    "nan" => Some(f64::NAN),
                    other => other.parse::<f64>().ok(),
                };
                match (parse(s), parse(t)) {
                    (Some(m), Some(n)) => m == n || (m.is_nan() && n.is_nan()),
                    _ => false,
                }
            }
            (Scalar::Bool(m), Scalar::Bool(n)) => m == n,
            (Scalar::Null, Scalar::Null) => true,
            _ => false,
        },
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// Shared assertions about error messages.

/// Every error message of the library is one non-empty line (`src/error.rs`):
/// no line break of any kind, and no other control character either (the library
/// escapes them, as globs and value paths do, so that text read from a file
/// cannot break a message apart or drive the terminal it is printed on).
fn assert_one_line(what: &str, message: &str, input: &str) {
    assert!(
        !message.trim().is_empty(),
        "{what}: empty error message\ninput: {input:?}"
    );
    assert!(
        !message.contains(|c: char| c.is_control() || c == '\u{2028}' || c == '\u{2029}'),
        "{what}: error message is not one line: {message:?}\ninput: {input:?}"
    );
}

/// Replaces each run of ASCII digits with one `0`: integers in a message (line
/// numbers, parameter values) are reported on purpose and are never text.
fn collapse_digits(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_number = false;
    for c in s.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push('0');
            }
            in_number = true;
        } else {
            out.push(c);
            in_number = false;
        }
    }
    out
}

/// Runs this long or longer of an input line must not reappear in an error.
const ECHO_RUN: usize = 8;

/// Panics when `message` repeats a run of [`ECHO_RUN`] characters of one of
/// `lines` that is not part of `fixed`, the text the message has whatever the
/// input (its template, integers aside, and the format's fixed header words).
fn assert_no_echo<'a>(
    what: &str,
    message: &str,
    fixed: &str,
    lines: impl Iterator<Item = &'a str>,
) {
    let chars: Vec<(usize, char)> = message.char_indices().collect();
    let mut runs = HashSet::new();
    for i in 0..chars.len().saturating_sub(ECHO_RUN - 1) {
        let end = chars.get(i + ECHO_RUN).map_or(message.len(), |&(k, _)| k);
        runs.insert(&message[chars[i].0..end]);
    }
    if runs.is_empty() {
        return;
    }
    let fixed = collapse_digits(fixed);
    for line in lines {
        let idx: Vec<usize> = line.char_indices().map(|(k, _)| k).collect();
        for i in 0..idx.len().saturating_sub(ECHO_RUN - 1) {
            let end = idx.get(i + ECHO_RUN).copied().unwrap_or(line.len());
            let run = &line[idx[i]..end];
            if runs.contains(run) && !fixed.contains(&collapse_digits(run)) {
                panic!(
                    "{what}: the error message repeats {run:?} of the input\nmessage: {message}\nline: {line:?}"
                );
            }
        }
    }
}

/// The lines of `text` that are neither blank nor `#` comments, trimmed: where a
/// key or a payload is.
fn data_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

// ---------------------------------------------------------------------------
// policy

/// Everything a policy says about one environment, as comparable text.
type EnvSummary = (
    String,
    String,
    u64,
    Option<u32>,
    Vec<String>,
    Vec<String>,
    Vec<(String, String)>,
);

fn environments(policy: &Policy) -> Vec<EnvSummary> {
    policy
        .environments
        .iter()
        .map(|e| {
            (
                e.name.clone(),
                e.public_key.to_string(),
                e.created.unix(),
                e.rotate_every_days,
                e.files.iter().map(|g| g.as_str().to_string()).collect(),
                e.seal.iter().map(|g| g.as_str().to_string()).collect(),
                e.members
                    .iter()
                    .map(|m| (m.name.clone(), m.recipient.to_string()))
                    .collect(),
            )
        })
        .collect()
}

/// `Policy::parse` never panics and its errors are one line; a parsed policy
/// prints to text that parses to the same environments (names, keys, dates,
/// periods, file and value globs, members), and setting an environment's members
/// or key to what they are succeeds and changes no environment.
pub fn policy(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let policy = match Policy::parse(text) {
        Ok(p) => p,
        Err(e) => return assert_one_line("Policy::parse", &e.to_string(), text),
    };
    let shown = policy.to_string();
    let again = Policy::parse(&shown).unwrap_or_else(|e| {
        panic!("a parsed policy prints to text that does not parse: {e}\ninput: {text:?}\nprinted: {shown:?}")
    });
    assert_eq!(
        environments(&again),
        environments(&policy),
        "print/parse round trip changed the environments\ninput: {text:?}"
    );
    for env in &policy.environments {
        assert_eq!(
            policy.environment(&env.name).map(|e| &e.name),
            Ok(&env.name)
        );
        assert_eq!(
            policy
                .environment_of_key(&env.public_key.key_id())
                .map(|e| &e.name),
            Some(&env.name),
            "two environments share a key"
        );
        let _ = env.selection();
    }
    // Edits that change nothing (what `members` and `env` commands do to the
    // environments they leave alone) succeed and keep the environments; members
    // are compared as a set, since a member written in a non-canonical spelling is
    // rewritten, after the others.
    let mut edited = policy.clone();
    for env in policy.environments.iter().take(2) {
        edited
            .set_members(&env.name, &env.members)
            .unwrap_or_else(|e| {
                panic!(
                    "setting the members of {} to themselves failed: {e}\ninput: {text:?}",
                    env.name
                )
            });
        // A policy written before attestations has no attestation key to set.
        if let Some(attest_key) = &env.attest_key {
            edited
                .set_key(&env.name, &env.public_key, attest_key, env.created)
                .unwrap_or_else(|e| {
                    panic!(
                        "setting the key of {} to itself failed: {e}\ninput: {text:?}",
                        env.name
                    )
                });
        }
    }
    let sorted = |p: &Policy| {
        let mut envs = environments(p);
        for env in &mut envs {
            env.6.sort();
        }
        envs
    };
    assert_eq!(
        sorted(&edited),
        sorted(&policy),
        "edits that change nothing changed the environments\ninput: {text:?}\nedited: {edited}"
    );
    for file in ["config/prod/app.toml", ".env", "a/b/c/d.yaml"] {
        if let Err(e) = policy.environment_for(file) {
            assert_one_line("Policy::environment_for", &e.to_string(), text);
        }
    }
}

// ---------------------------------------------------------------------------
// keyring_content

/// What must hold of any keyring the library accepted.
fn keyring_invariants(ring: &Keyring, input: &str) {
    assert_eq!(
        ring.keys.iter().filter(|k| k.retired.is_none()).count(),
        1,
        "an accepted keyring has not exactly one current key\ninput: {input:?}"
    );
    assert!(
        ring.members.is_sorted(),
        "members are not sorted\ninput: {input:?}"
    );
    let text = ring.to_text();
    let again = Keyring::parse(&text).unwrap_or_else(|e| {
        panic!(
            "a keyring's text does not parse: {e}\ninput: {input:?}\ntext: {:?}",
            *text
        )
    });
    let text_again = again.to_text();
    assert_eq!(
        *text_again, *text,
        "to_text is not a fixed point of parse\ninput: {input:?}"
    );
    // The content is at once an age identity file holding every key.
    let ids = Identities::parse(&text).unwrap_or_else(|e| {
        panic!("a keyring's text is not an identity file: {e}\ninput: {input:?}")
    });
    assert_eq!(ids.len(), ring.identities().len());
}

/// `Keyring::open` on arbitrary bytes with the fixed fuzzing identity never
/// panics and its errors are one line. A keyring that opens meets the keyring
/// invariants, and sealed again to its members (when none needs a plugin
/// program) it opens to the same text.
fn keyring_open(data: &[u8]) {
    let input = String::from_utf8_lossy(data);
    let ring = match Keyring::open(data, std::iter::once(&*AGE_ID as &dyn age::Identity)) {
        Ok(ring) => ring,
        Err(e) => return assert_one_line("Keyring::open", &e.to_string(), &input),
    };
    keyring_invariants(&ring, &input);
    if ring
        .members
        .iter()
        .any(|m| matches!(m.recipient, MemberRecipient::Plugin(_)))
    {
        return; // Sealing would run age-plugin-NAME.
    }
    let armored = ring
        .seal(age::NoCallbacks)
        .unwrap_or_else(|e| panic!("an opened keyring does not seal again: {e}\ninput: {input:?}"));
    let me = MemberRecipient::X25519(KEY.public_key());
    if ring.members.iter().any(|m| m.recipient == me) {
        let again = Keyring::open(
            armored.as_bytes(),
            std::iter::once(&*AGE_ID as &dyn age::Identity),
        )
        .unwrap_or_else(|e| panic!("a resealed keyring does not open: {e}\ninput: {input:?}"));
        assert_eq!(*again.to_text(), *ring.to_text());
    }
}

/// `Keyring::parse` never panics and its errors are one line; an accepted
/// keyring's `to_text` parses again and is a fixed point. The same bytes are also
/// given to `Keyring::open` as an armored age file (see [`keyring_open`]).
pub fn keyring_content(data: &[u8]) {
    keyring_open(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Keyring::parse(text) {
        Ok(ring) => keyring_invariants(&ring, text),
        Err(e) => assert_one_line("Keyring::parse", &e.to_string(), text),
    }
}

// ---------------------------------------------------------------------------
// protected_identity

/// The data line's fixed words: they may appear in messages.
const PROTECTED_GRAMMAR: &str = "cachet-identity:v1:argon2id:m=…,t=…,p=…:<salt>:<payload>";

/// The text of a protection error's message whatever the input: its integers
/// zeroed. For a variant carrying text (or one added later), nothing but the
/// grammar is fixed, so any echo of the input is caught.
fn protect_error_template(e: &ProtectError) -> String {
    use ProtectError as P;
    let template = match e {
        P::Malformed { reason, .. } => P::Malformed { line: 0, reason }.to_string(),
        P::OutOfBounds { parameter, .. } => P::OutOfBounds {
            parameter: *parameter,
            value: 0,
            min: 0,
            max: 0,
        }
        .to_string(),
        P::OutOfMemory { .. } => P::OutOfMemory { memory_kib: 0 }.to_string(),
        P::NotProtected
        | P::UnsupportedVersion
        | P::WrongPassphraseOrDamaged
        | P::NotUtf8
        | P::EmptyPassphrase
        | P::AlreadyProtected
        | P::TooLarge
        | P::KeyDerivation => e.to_string(),
        _ => String::new(),
    };
    format!("{template}\n{PROTECTED_GRAMMAR}")
}

/// `protected_identity::unprotect` never panics, its errors are one line and never
/// repeat the data line's text, and it agrees with `is_protected`.
///
/// It is called with an empty passphrase, which `unprotect` refuses after the
/// whole syntax and the Argon2id bounds are checked and before any key
/// derivation: every input is parsed in full at no Argon2 cost (at least 64 MiB
/// and a tenth of a second per call). Key derivation and decryption are not
/// fuzzed.
pub fn protected_identity(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let sniffed = protected_identity::is_protected(text);
    let e = match protected_identity::unprotect(text, "") {
        Ok(_) => panic!("opened with an empty passphrase\ninput: {text:?}"),
        Err(e) => e,
    };
    assert!(
        !matches!(
            e,
            ProtectError::WrongPassphraseOrDamaged
                | ProtectError::NotUtf8
                | ProtectError::OutOfMemory { .. }
                | ProtectError::KeyDerivation
        ),
        "an empty passphrase reached key derivation: {e:?}\ninput: {text:?}"
    );
    assert_eq!(
        e == ProtectError::NotProtected,
        !sniffed,
        "is_protected ({sniffed}) disagrees with unprotect ({e:?})\ninput: {text:?}"
    );
    let message = e.to_string();
    assert_one_line("unprotect", &message, text);
    assert_no_echo(
        "unprotect",
        &message,
        &protect_error_template(&e),
        data_lines(text),
    );
}

// ---------------------------------------------------------------------------
// globs

/// Whether `s` is a path a file glob can be written for: relative, `/`-separated,
/// with no empty, `.` or `..` segment.
fn valid_rel_path(s: &str) -> bool {
    !s.is_empty()
        && s.split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
}

/// `s` with a `\` before every character that means something in a file glob.
fn escape_specials(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if matches!(c, '\\' | '*' | '?' | '[') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `s` with a `\` before every character but `/`.
fn escape_all(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if c != '/' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn file_glob(pattern: &str, subject: &str) {
    match FileGlob::new(pattern) {
        Err(e) => assert_one_line("FileGlob::new", &e.to_string(), pattern),
        Ok(glob) => {
            assert_eq!(glob.as_str(), pattern);
            assert_eq!(glob.to_string(), pattern);
            assert!(!glob.matches(""), "{pattern:?} matches the empty path");
            let matched = glob.matches(subject);
            // No wildcard, class or escape: the glob is the one path it names.
            if !pattern.contains(['*', '?', '[', '\\']) {
                assert_eq!(
                    matched,
                    subject == pattern,
                    "literal file glob {pattern:?} against {subject:?}"
                );
            }
        }
    }
    if valid_rel_path(subject) {
        for escaped in [escape_specials(subject), escape_all(subject)] {
            let glob = FileGlob::new(&escaped).unwrap_or_else(|e| {
                panic!("escaped path {escaped:?} (of {subject:?}) is not a file glob: {e}")
            });
            assert!(
                glob.matches(subject),
                "escaped path {escaped:?} does not match {subject:?}"
            );
            assert_eq!(
                glob.matches(pattern),
                pattern == subject,
                "escaped path {escaped:?} (of {subject:?}) against {pattern:?}"
            );
        }
    }
}

fn path_glob(pattern: &str, subject: &str) {
    let subject_path = subject.parse::<ValuePath>().ok();
    let glob = match PathGlob::new(pattern) {
        Err(e) => {
            assert_one_line("PathGlob::new", &e.to_string(), pattern);
            None
        }
        Ok(glob) => {
            assert_eq!(glob.as_str(), pattern);
            assert_eq!(glob.to_string(), pattern);
            if let Some(path) = &subject_path {
                let segments = path.segments();
                let matched = glob.matches(path);
                let under = glob.matches_or_under(path);
                // "Or under": the glob matches the path or one of its leading
                // prefixes, the root included.
                let prefix = (0..=segments.len())
                    .any(|k| glob.matches(&ValuePath::from_segments(segments[..k].to_vec())));
                assert_eq!(
                    under, prefix,
                    "matches_or_under of {pattern:?} on {subject:?}"
                );
                assert!(!matched || under);
                let child = path.child(Segment::Index(0));
                assert!(!matched || glob.matches_or_under(&child));
            }
            Some(glob)
        }
    };
    // With no wildcard, a value glob is written exactly like a value path and
    // matches that one path.
    if !pattern.contains(['*', '?']) {
        let as_path = pattern.parse::<ValuePath>();
        assert_eq!(
            glob.is_some(),
            as_path.is_ok(),
            "value glob and value path disagree on {pattern:?}: {as_path:?}"
        );
        if let (Some(glob), Ok(path)) = (&glob, &as_path) {
            assert!(glob.matches(path), "literal value glob {pattern:?}");
            if let Some(subject_path) = &subject_path {
                assert_eq!(
                    glob.matches(subject_path),
                    subject_path == path,
                    "literal value glob {pattern:?} against {subject:?}"
                );
            }
        }
    }
    // A written path is a glob for exactly that path (unless its display escaped
    // a control character, which does not parse back).
    if let Some(path) = &subject_path {
        let shown = path.to_string();
        if !shown.contains("\\u{") {
            let glob = PathGlob::new(&shown).unwrap_or_else(|e| {
                panic!("written path {shown:?} (of {subject:?}) is not a value glob: {e}")
            });
            assert!(glob.matches(path), "{shown:?} does not match {subject:?}");
            if let Ok(other) = pattern.parse::<ValuePath>() {
                assert_eq!(
                    glob.matches(&other),
                    other == *path,
                    "{shown:?} against {pattern:?}"
                );
            }
        }
    }
}

/// File and value globs, the input split at its first NUL into a pattern and a
/// subject (a file path, and a value path when it parses as one): parsing and
/// matching never panic, errors are one line, a pattern prints as written, a
/// glob without wildcards matches exactly the path it names, an escaped path is
/// a file glob matching that path, and `matches_or_under` is "matches a prefix".
pub fn globs(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (pattern, subject) = text.split_once('\0').unwrap_or((text, ""));
    file_glob(pattern, subject);
    path_glob(pattern, subject);
}

// ---------------------------------------------------------------------------
// member

/// `MemberRecipient::from_str` and `Member::from_str` never panic and their errors
/// are one line; what parses prints to text that parses to an equal value (and
/// prints the same), and a recipient that needs no plugin converts to an age
/// recipient.
pub fn member(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match text.parse::<MemberRecipient>() {
        Err(e) => assert_one_line("MemberRecipient::from_str", &e.to_string(), text),
        Ok(r) => {
            let shown = r.to_string();
            let again: MemberRecipient = shown.parse().unwrap_or_else(|e| {
                panic!("recipient {shown:?} (from {text:?}) does not parse: {e}")
            });
            assert_eq!(again, r, "display/parse round trip of {text:?}");
            assert_eq!(again.to_string(), shown);
            let _ = r.kind();
            if !matches!(r, MemberRecipient::Plugin(_))
                && let Err(e) = r.to_age(age::NoCallbacks)
            {
                panic!("recipient {shown:?} does not convert to an age recipient: {e}");
            }
        }
    }
    match text.parse::<Member>() {
        Err(e) => assert_one_line("Member::from_str", &e.to_string(), text),
        Ok(m) => {
            assert!(
                cachet::team::member::check_member_name(&m.name).is_ok(),
                "{:?}",
                m.name
            );
            let written = format!("{}={}", m.name, m.recipient);
            let again: Member = written.parse().unwrap_or_else(|e| {
                panic!("member {written:?} (from {text:?}) does not parse: {e}")
            });
            assert_eq!(again, m, "write/parse round trip of {text:?}");
        }
    }
}

// ---------------------------------------------------------------------------
// identity_set

/// The text of a key error's message whatever the input (integers aside). A
/// plugin's name is shown on purpose; a variant carrying other text (or one added
/// later) has nothing fixed, so any echo of the input is caught.
fn key_error_template(e: &KeyError) -> String {
    match e {
        KeyError::IdentityLine { .. } => KeyError::IdentityLine { line: 0 }.to_string(),
        KeyError::InvalidRecipient
        | KeyError::InvalidIdentity
        | KeyError::NoIdentity
        | KeyError::WeakRecipient
        | KeyError::Recipient(_)
        | KeyError::PluginMissing(_)
        | KeyError::UnsupportedIdentity(_)
        | KeyError::NeedsPassphrase
        | KeyError::WrongPassphrase => e.to_string(),
        _ => String::new(),
    }
}

/// `IdentitySet::parse` with `age::NoCallbacks` never panics; its errors are one
/// line and never repeat a key line's text; a set it returns is not empty, lists
/// the recipient of each of its X25519 keys, and agrees with `Identities::parse`
/// on plain identity files. Opening its passphrase-protected identities asks the
/// callbacks, which answer no: it fails with `NeedsPassphrase` before any
/// scrypt, bcrypt-pbkdf or Argon2 work.
pub fn identity_set(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut set = match IdentitySet::parse(data, "fuzz", age::NoCallbacks) {
        Ok(set) => set,
        Err(e) => {
            let message = e.to_string();
            assert_one_line("IdentitySet::parse", &message, &text);
            assert_no_echo(
                "IdentitySet::parse",
                &message,
                &key_error_template(&e),
                data_lines(&text),
            );
            return;
        }
    };
    assert!(!set.is_empty(), "an empty identity set\ninput: {text:?}");
    for key in set.keys().iter() {
        assert!(
            set.recipients()
                .contains(&MemberRecipient::X25519(key.public_key())),
            "a key's recipient is not listed\ninput: {text:?}"
        );
    }
    if let Ok(plain) = std::str::from_utf8(data)
        && let Ok(ids) = Identities::parse(plain)
    {
        let want: Vec<_> = ids.iter().map(SecretKey::public_key).collect();
        let got: Vec<_> = set.keys().iter().map(SecretKey::public_key).collect();
        assert_eq!(
            got, want,
            "IdentitySet and Identities disagree\ninput: {text:?}"
        );
    }
    assert!(set.unlock_failure().is_none(), "asked before any use");
    match set.open_locked() {
        Ok(added) => assert!(!added, "keys opened without a passphrase"),
        Err((source, e)) => {
            assert_eq!(source, "fuzz");
            assert_eq!(
                e,
                KeyError::NeedsPassphrase,
                "a locked identity without a passphrase\ninput: {text:?}"
            );
            assert_eq!(set.unlock_failure(), Some((source, e)));
        }
    }
}

/// The SOPS readers never panic on any text: `EncValue::parse` (a value that
/// parses prints back to exactly its input, the grammar being canonical), and
/// `sops::parse` in every store, then decrypting with a fixed data key and
/// opening the data key with no identity. Every error is one line.
pub fn sops(data: &[u8]) {
    use cachet::sops::{self, DataKey, EncValue, ImportOptions, SopsFormat};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(v) = EncValue::parse(text) {
        assert_eq!(
            v.to_string(),
            text,
            "a parsed ENC value printed differently"
        );
    }
    let key = DataKey::from_bytes([1; 32]);
    for store in [
        SopsFormat::Yaml,
        SopsFormat::Json,
        SopsFormat::Dotenv,
        SopsFormat::Ini,
        SopsFormat::Binary,
    ] {
        let file = match sops::parse(store, text) {
            Ok(file) => file,
            Err(e) => {
                assert_one_line("sops::parse", &e.to_string(), text);
                continue;
            }
        };
        if let Err(e) = sops::unwrap_data_key(&file.metadata, &[]) {
            assert_one_line("sops::unwrap_data_key", &e.to_string(), text);
        }
        let options = ImportOptions {
            ignore_mac: true,
            binary_as: None,
        };
        if let Err(e) = file.decrypt(&key, options) {
            assert_one_line("SopsFile::decrypt", &e.to_string(), text);
        }
    }
}

/// The policy of the `survey` target: one environment `prod` with the fuzzing key,
/// covering `prod/**`, sealing `extra.*` beyond the default rule.
static SURVEY_POLICY: LazyLock<Policy> = LazyLock::new(|| {
    Policy::parse(&format!(
        "version = 1\n[environments.prod]\npublic_key = \"{}\"\ncreated = \"2026-01-01T00:00:00Z\"\nfiles = [\"prod/**\"]\nseal = [\"extra.*\"]\n",
        KEY.public_key()
    ))
    .expect("the survey policy is valid")
});

/// What `cachet check` and `cachet audit` read: the first byte picks a format,
/// the rest is surveyed as a file of environment `prod` and as a file of no
/// environment. Nothing panics; every finding is one line; and "the policy seals
/// it" means exactly what `seal` seals: once the document is sealed with the
/// environment's selection, no plain value is left that the survey says must be
/// sealed.
pub fn survey(data: &[u8]) {
    use cachet::survey::findings;
    use cachet::survey::{self, KeyIndex, ValueState};
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let formats = Format::all();
    let format = formats[usize::from(pick) % formats.len()];
    let policy = &*SURVEY_POLICY;
    let keys = KeyIndex::new(policy);
    let name = format!("app.{}", format.name());
    for rel in [format!("prod/{name}"), name] {
        if let Some(s) = survey::survey_file(&rel, rest, policy) {
            assert_eq!(s.format, Some(format), "{rel}");
            for f in findings::file_findings(&s, &keys) {
                assert_one_line("finding", &f.to_string(), text);
            }
        }
    }
    let env = &policy.environments[0];
    let selection = env.selection();
    let mut sealer = Sealer::with_rng(
        &KEY.public_key(),
        CounterRng(0),
        SealedAt::from_unix(SEALED_AT).expect("representable time"),
    )
    .expect("the fixed key is a valid recipient");
    let Ok((sealed, _)) = cachet::seal_document(format, text, &selection, &mut sealer) else {
        return;
    };
    let after = survey::survey_document(format, &sealed, &selection)
        .unwrap_or_else(|e| panic!("sealed output does not parse: {e}\ninput: {text:?}"));
    for v in after {
        assert!(
            !matches!(
                v.state,
                ValueState::Plain {
                    must_seal: Some(_),
                    ..
                }
            ),
            "{}: sealed by the policy yet left plain by seal\ninput: {text:?}",
            v.path
        );
    }
}

/// `toml_scan`: on UTF-8 input, the streaming TOML scanner (`scan_into`) and the
/// `toml_edit`-based one (`scan`) agree: both accept with the same nodes, or both
/// reject with the same error; the streaming nodes come in document order.
pub fn toml_scan(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(difference) = cachet::format::fuzzing::toml_scanners_agree(text) {
        panic!("the TOML scanners disagree: {difference}\ninput: {text:?}");
    }
}

/// The places a value can take in YAML, `@` where the token goes, with its path
/// and document: block and flow, mapping values and sequence items, a later
/// document.
const YAML_PLACES: &[(&str, &str, u32)] = &[
    ("a: @\nb: 1\n", "a", 0),
    ("m:\n  k: @\n  j: 2\n", "m.k", 0),
    ("s:\n  - @\n  - 2\n", "s[0]", 0),
    ("f: {k: @, j: 1}\n", "f.k", 0),
    ("q: [1, @]\n", "q[1]", 0),
    ("---\nx: 1\n---\ny: @\n", "y", 1),
];

/// The shape of a YAML stream as libyaml reads it (serde_yaml, as PyYAML's
/// loader): every node's path and whether it is a mapping, a sequence or a
/// scalar; `None` when it does not load.
fn libyaml_shape(text: &str) -> Option<Vec<String>> {
    use serde::Deserialize;
    fn walk(v: &serde_yaml::Value, at: String, out: &mut Vec<String>) {
        match v {
            serde_yaml::Value::Mapping(m) => {
                out.push(format!("{at} map"));
                for (k, v) in m {
                    let key = match k {
                        serde_yaml::Value::String(s) => s.clone(),
                        other => format!("{other:?}"),
                    };
                    walk(v, format!("{at}.{key:?}"), out);
                }
            }
            serde_yaml::Value::Sequence(s) => {
                out.push(format!("{at} seq"));
                for (i, v) in s.iter().enumerate() {
                    walk(v, format!("{at}[{i}]"), out);
                }
            }
            serde_yaml::Value::Tagged(t) => walk(&t.value, at, out),
            _ => out.push(format!("{at} scalar")),
        }
    }
    let mut out = Vec::new();
    for (i, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let v = serde_yaml::Value::deserialize(doc).ok()?;
        walk(&v, format!("doc{i}"), &mut out);
    }
    Some(out)
}

/// Whatever text a public-key holder seals into a YAML value, at any place: if
/// cachet opens the file, libyaml (a YAML 1.1 loader) reads the opened file with
/// the same shape as with a plain `x` there (format.md 8.6, "One reading for
/// every loader"): the text stayed one scalar for both readers.
pub fn yaml_loaders(data: &[u8]) {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    for &(template, path, document) in YAML_PLACES {
        let path: ValuePath = path.parse().expect("a valid path");
        let mut sealer = Sealer::with_rng(
            &KEY.public_key(),
            CounterRng(0),
            SealedAt::from_unix(SEALED_AT).expect("representable time"),
        )
        .expect("the fixed key is a valid recipient");
        let place = cachet::Place {
            format: Format::Yaml,
            document,
            path: &path,
        };
        let Some(token) = sealer.seal(raw.as_bytes(), &place) else {
            return;
        };
        let text = template.replace('@', &token.to_string());
        let Ok(opened) = cachet::open_document(Format::Yaml, &text, &IDS) else {
            continue;
        };
        let want = libyaml_shape(&template.replace('@', "x")).expect("the template loads");
        assert_eq!(
            libyaml_shape(&opened).as_ref(),
            Some(&want),
            "cachet opened a text that libyaml reads otherwise\nraw: {raw:?}\nopened: {:?}",
            opened.as_str()
        );
    }
}

/// An attestation line or sidecar never panics a reader; one that parses prints
/// back to exactly its text; any text that attests verifies afterwards as the
/// file it was attested for, and not as another; every error is one line.
pub fn attestation(data: &[u8]) {
    use cachet::document::attestation::{self, AttestKey};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let key = SecretKey::from_bytes([0x42; 32]);
    let mut ids = Identities::new();
    ids.push(key.clone());
    let attester = AttestKey::derive(&key);
    let at = SealedAt::parse("20261207T120000Z").unwrap();
    let file = std::path::Path::new("/srv/config/app");
    for &format in Format::all() {
        let split = attestation::split(format, text);
        assert!(text.starts_with(split.body));
        match split.parse() {
            Ok(Some(a)) => assert_eq!(Some(a.to_string().as_str()), split.attestation),
            Ok(None) => {}
            Err(e) => assert_one_line("attestation", &e.to_string(), text),
        }
        if let Err(e) = attestation::verify_file(format, file, text, Some(text), &ids) {
            assert_one_line("attestation", &e.to_string(), text);
        }
        if let Ok((attested, made)) =
            attestation::attest(format, text, ("config/app", "x"), &attester, at)
        {
            let sidecar = attestation::sidecar_text(&made);
            let got = attestation::verify_file(format, file, &attested, Some(&sidecar), &ids);
            assert_eq!(got.as_ref(), Ok(&made), "{format:?}: {text:?}");
            let other = std::path::Path::new("/srv/config/other");
            assert!(
                attestation::verify_file(format, other, &attested, Some(&sidecar), &ids).is_err()
            );
        }
    }
}
